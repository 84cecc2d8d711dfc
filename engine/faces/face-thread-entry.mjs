// The face-detection thread (see face-thread.ts). Plain JavaScript because a worker thread
// starts without the parent's TypeScript loader: it registers tsx itself, as bin.mjs does.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { detectFaces } = await import('./face-embedder.ts');

parentPort.on('message', async ({ id, image, options }) => {
  try {
    const result = await detectFaces(Buffer.from(image), options);
    parentPort.postMessage({ id, result });
  } catch (error) {
    const { name, message, code, status } =
      error instanceof Error ? error : new Error(String(error));
    parentPort.postMessage({ id, error: { name, message, code, status } });
  }
});
parentPort.postMessage({ ready: true });
