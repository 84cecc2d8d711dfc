/**
 * The real face-api models on the sample photos that ship inside @vladmandic/face-api
 * (demo/sample*.jpg: group photos, a different person per face). "Same person" is one face
 * cropped, mirrored, rescaled, re-lit and re-encoded; "different people" are the other faces.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../testing/fakes/media';
import {
  FACE_DESCRIPTOR_LENGTH,
  FACE_MATCH_THRESHOLD,
  detectFaces,
  embedFace,
  faceDistance,
  meanDescriptor,
  type FaceDetections,
} from './face-embedder';

const run = promisify(execFile);
const demo = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
);
const SAMPLE = join(demo, 'sample1.jpg');
const SAMPLE_WIDTH = 1920;

/** Crops a face with a margin from the full-size sample; `filters` are appended to the crop. */
async function cropFace(
  detections: FaceDetections,
  index: number,
  filters = '',
  codec = 'png',
): Promise<Buffer> {
  const { box } = detections.faces[index];
  const scale = SAMPLE_WIDTH / detections.width;
  const margin = 0.6;
  const x = Math.max(0, Math.round((box.x - box.width * margin) * scale));
  const y = Math.max(0, Math.round((box.y - box.height * margin) * scale));
  const w = Math.round(box.width * (1 + 2 * margin) * scale);
  const h = Math.round(box.height * (1 + 2 * margin) * scale);
  const filter = [`crop=${w}:${h}:${x}:${y}`, filters].filter(Boolean).join(',');
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', SAMPLE, '-vf', filter, '-f', 'image2pipe', '-c:v', codec, 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

describe('face embedder (face-api, wasm, weights from the npm package)', () => {
  let detections: FaceDetections;

  beforeAll(async () => {
    detections = await detectFaces(await readFile(SAMPLE));
  });

  it('finds every face in a group photo with a 128-d descriptor, largest first', () => {
    expect(detections.width).toBe(1024);
    expect(detections.faces.length).toBe(3);
    for (const face of detections.faces) {
      expect(face.descriptor).toHaveLength(FACE_DESCRIPTOR_LENGTH);
      expect(face.score).toBeGreaterThan(0.9);
    }
    const areas = detections.faces.map((f) => f.box.width * f.box.height);
    expect([...areas].sort((a, b) => b - a)).toEqual(areas);
  });

  it('puts the same person closer than different people', async () => {
    const [original, variant, other1, other2] = await Promise.all([
      cropFace(detections, 0),
      cropFace(detections, 0, 'hflip,scale=iw*0.7:-2,eq=brightness=0.06:contrast=1.1', 'mjpeg'),
      cropFace(detections, 1),
      cropFace(detections, 2),
    ]);
    const a = await embedFace(original);
    const aVariant = await embedFace(variant);
    const b = await embedFace(other1);
    const c = await embedFace(other2);
    if (!a || !aVariant || !b || !c) throw new Error('a cropped face was not detected');

    const same = faceDistance(a, aVariant);
    expect(same).toBeLessThan(0.45);
    expect(faceDistance(a, b)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
    expect(faceDistance(a, c)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
    expect(faceDistance(b, c)).toBeGreaterThan(same);
    // The crop and the face found in the whole photo are one person too.
    expect(faceDistance(a, detections.faces[0].descriptor)).toBeLessThan(0.3);
    expect(faceDistance(a, detections.faces[1].descriptor)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
  });

  it('returns null for an image without a face', async () => {
    expect(await embedFace(await makePng(320, 180))).toBeNull();
  });

  it('is deterministic for the same bytes', async () => {
    const crop = await cropFace(detections, 1);
    const first = await embedFace(crop);
    const second = await embedFace(crop);
    expect(first).not.toBeNull();
    expect(faceDistance(first!, second!)).toBe(0);
  });

  it('rejects bytes that are not an image with a clear error', async () => {
    await expect(embedFace(Buffer.from('not an image'))).rejects.toMatchObject({
      code: 'image_undecodable',
    });
  });
});

describe('faceDistance and meanDescriptor', () => {
  it('is the Euclidean distance and averages element-wise', () => {
    const a = Float32Array.from([0, 0, 0]);
    const b = Float32Array.from([3, 4, 0]);
    expect(faceDistance(a, b)).toBe(5);
    expect(faceDistance(b, a)).toBe(5);
    expect(Array.from(meanDescriptor([a, b]))).toEqual([1.5, 2, 0]);
    expect(() => faceDistance(a, Float32Array.from([1]))).toThrow(/face_descriptor_mismatch/);
  });
});
