/**
 * Face detection on a worker thread. tfjs-wasm inference takes 1–3 s of CPU per image; on the
 * calling thread it would stall everything else the process does meanwhile — the API's sockets
 * and live run events, and an in-process Temporal worker's heartbeats. One thread per process,
 * started on first use; requests queue in its port. The thread keeps the process alive only
 * while a detection is pending, and a thread that dies fails its pending detections and is
 * replaced on the next call. Worker-only (Node).
 */
import { Worker } from 'node:worker_threads';
import { LabError } from '../errors';
import {
  FACE_EMBEDDING_MODEL,
  faceDistance,
  type EmbedOptions,
  type FaceDetections,
  type FaceEmbedder,
} from './face-embedder';

interface Pending {
  resolve(result: FaceDetections): void;
  reject(error: Error): void;
}

interface ThreadError {
  name?: string;
  message?: string;
  code?: unknown;
  status?: unknown;
}

interface FaceThread {
  worker: Worker;
  pending: Map<number, Pending>;
  nextId: number;
}

let thread: FaceThread | undefined;

/** detectFaces (face-embedder.ts), computed on the face thread. */
export function detectFacesOffThread(
  image: Buffer,
  options: EmbedOptions = {},
): Promise<FaceDetections> {
  const current = (thread ??= startThread());
  const id = current.nextId++;
  return new Promise<FaceDetections>((resolve, reject) => {
    current.pending.set(id, { resolve, reject });
    current.worker.ref();
    current.worker.postMessage({ id, image, options });
  });
}

/** The face-api embedder as a FaceEmbedder, detecting on the face thread: its largest face. */
export function faceApiEmbedder(options: EmbedOptions = {}): FaceEmbedder {
  return {
    model: FACE_EMBEDDING_MODEL,
    embed: async (image) =>
      (await detectFacesOffThread(image, options)).faces[0]?.descriptor ?? null,
    distance: faceDistance,
  };
}

/** Ends the thread (tests, shutdown); the next detection starts a new one. */
export async function stopFaceThread(): Promise<void> {
  const current = thread;
  thread = undefined;
  await current?.worker.terminate();
}

function startThread(): FaceThread {
  const worker = new Worker(new URL('./face-thread-entry.mjs', import.meta.url));
  const state: FaceThread = { worker, pending: new Map(), nextId: 1 };
  worker.unref();
  worker.on('message', (message: { id?: number; result?: FaceDetections; error?: ThreadError }) => {
    if (message.id === undefined) return;
    const request = state.pending.get(message.id);
    if (!request) return;
    state.pending.delete(message.id);
    if (state.pending.size === 0) worker.unref();
    if (message.error) request.reject(fromThread(message.error));
    else request.resolve(message.result!);
  });
  const fail = (error: Error) => {
    if (thread === state) thread = undefined;
    for (const request of state.pending.values()) request.reject(error);
    state.pending.clear();
  };
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(`the face-detection thread exited (code ${code})`)));
  return state;
}

/** LabErrors (e.g. image_undecodable) keep their code and status across the thread boundary. */
function fromThread(error: ThreadError): Error {
  const message = error.message ?? 'face detection failed';
  if (error.name === 'LabError' && typeof error.code === 'string') {
    return new LabError(error.code, message, typeof error.status === 'number' ? error.status : 400);
  }
  return new Error(message);
}
