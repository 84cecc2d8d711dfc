/**
 * Face descriptors for character consistency, from `@vladmandic/face-api` on TensorFlow.js
 * with the WebAssembly backend: detect (SSD MobileNet v1) → 68 landmarks → align → 128-d
 * ResNet-34 descriptor. The weights ship inside the npm package and are read from disk, so
 * nothing is downloaded at run time. Images are decoded by ffmpeg (no tfjs-node, whose install
 * script downloads libtensorflow). Worker-only.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as FaceApi from '@vladmandic/face-api';
import type * as Tf from '@tensorflow/tfjs';
import { LabError } from '../errors';
import { decodeToRgb } from '../media/decode-image';

/** Euclidean distance under which two descriptors count as the same person (dlib's 0.6). */
export const FACE_MATCH_THRESHOLD = 0.6;
/** Names the descriptor space, so stored embeddings from another model are never compared. */
export const FACE_EMBEDDING_MODEL = 'face-api-resnet34-128';
export const FACE_DESCRIPTOR_LENGTH = 128;

export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DetectedFace {
  /** In the analysed image's pixels (see FaceDetections.width/height). */
  box: FaceBox;
  /** Detector confidence 0..1. */
  score: number;
  descriptor: Float32Array;
}

export interface FaceDetections {
  /** Size of the image the boxes refer to (the input, downscaled to at most 1024 px a side). */
  width: number;
  height: number;
  /** Largest face first. */
  faces: DetectedFace[];
}

export interface EmbedOptions {
  ffmpegPath?: string;
  /** Detector confidence a face needs; default 0.5. */
  minConfidence?: number;
}

/** What the consistency check needs; tests can pass a deterministic stand-in. */
export interface FaceEmbedder {
  readonly model: string;
  embed(image: Buffer): Promise<Float32Array | null>;
  distance(a: Float32Array, b: Float32Array): number;
}

interface FaceModels {
  faceapi: typeof FaceApi;
  tf: typeof Tf;
}

// CommonJS on purpose: face-api's node build require()s @tensorflow/tfjs, and an ESM import
// here would load a second tfjs-core instance with its own (empty) backend registry.
const requireCjs = createRequire(import.meta.url);
let faceModels: Promise<FaceModels> | undefined;

function loadFaceModels(): Promise<FaceModels> {
  faceModels ??= (async () => {
    const tf = requireCjs('@tensorflow/tfjs') as typeof Tf;
    requireCjs('@tensorflow/tfjs-backend-wasm');
    const faceapi = requireCjs('@vladmandic/face-api/dist/face-api.node-wasm.js') as typeof FaceApi;
    if (!(await tf.setBackend('wasm')))
      throw new Error('the TensorFlow.js wasm backend did not initialise');
    await tf.ready();
    const models = join(dirname(requireCjs.resolve('@vladmandic/face-api/package.json')), 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
    return { faceapi, tf };
  })().catch((error: unknown) => {
    faceModels = undefined;
    throw new LabError(
      'face_model_unavailable',
      `face_model_unavailable: could not load the face models from @vladmandic/face-api (${String(error)}); ` +
        'reinstall dependencies with npm ci',
      500,
    );
  });
  return faceModels;
}

/** Every face in the image with its descriptor, largest first. */
export async function detectFaces(
  image: Buffer,
  options: EmbedOptions = {},
): Promise<FaceDetections> {
  const [{ faceapi, tf }, rgb] = await Promise.all([
    loadFaceModels(),
    decodeToRgb(image, options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
  ]);
  const tensor = tf.tensor3d(rgb.pixels, [rgb.height, rgb.width, 3], 'int32');
  try {
    const results = await faceapi
      .detectAllFaces(
        tensor as unknown as FaceApi.TNetInput,
        new faceapi.SsdMobilenetv1Options({ minConfidence: options.minConfidence ?? 0.5 }),
      )
      .withFaceLandmarks()
      .withFaceDescriptors();
    const faces = results
      .map((result) => {
        const { x, y, width, height } = result.detection.box;
        return {
          box: { x, y, width, height },
          score: result.detection.score,
          descriptor: Float32Array.from(result.descriptor),
        };
      })
      .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    return { width: rgb.width, height: rgb.height, faces };
  } finally {
    tensor.dispose();
  }
}

/** The descriptor of the most prominent (largest) face, or null when there is no face. */
export async function embedFace(
  image: Buffer,
  options: EmbedOptions = {},
): Promise<Float32Array | null> {
  const { faces } = await detectFaces(image, options);
  return faces[0]?.descriptor ?? null;
}

/** Euclidean distance between descriptors: 0 is identical, under ~0.6 the same person. */
export function faceDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) {
    throw new LabError(
      'face_descriptor_mismatch',
      `face_descriptor_mismatch: cannot compare descriptors of length ${a.length} and ${b.length}; ` +
        're-embed the character with the current model',
    );
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** The element-wise mean of descriptors: a character's identity from several references. */
export function meanDescriptor(descriptors: readonly Float32Array[]): Float32Array {
  if (descriptors.length === 0) throw new Error('meanDescriptor needs at least one descriptor');
  const mean = new Float32Array(descriptors[0].length);
  for (const descriptor of descriptors) {
    for (let i = 0; i < mean.length; i++) mean[i] += descriptor[i] / descriptors.length;
  }
  return mean;
}
