/**
 * The artifact route never serves bytes that no longer match the artifact's recorded size and
 * sha256: a blob damaged on disk answers 500 `artifact_corrupt` (full, ranged and HEAD), and
 * storing the bytes again makes it servable again.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../../graph/values';
import { makePng } from '../../testing/fakes/media';
import {
  startTestEngine,
  temporalUnavailable,
  type TestEngine,
} from '../../testing/engine-harness';
import { buildServer, type LabServer } from '../app';

describe.skipIf(temporalUnavailable())('artifact route integrity', () => {
  let lab: TestEngine;
  let server: LabServer;
  let png: Buffer;
  let ref: ArtifactRef;
  const inject = (options: InjectOptions) => server.app.inject(options);
  const blobPath = () => join(lab.dataDir, 'blobs', ref.id.slice(0, 2), ref.id);

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: false });
    server = buildServer(lab.engine, { editorDir: join(lab.dataDir, 'no-editor') });
    png = await makePng(40, 20);
    const data = new FormData();
    data.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'plate.png');
    const response = await inject({ method: 'POST', url: '/api/artifacts', payload: data });
    expect(response.statusCode, response.body).toBe(201);
    ref = response.json<ArtifactRef>();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await lab?.close();
  });

  it('serves intact bytes, then refuses them once the blob is overwritten', async () => {
    const good = await inject({ method: 'GET', url: `/api/artifacts/${ref.id}` });
    expect(good.statusCode).toBe(200);
    expect(good.rawPayload.equals(png)).toBe(true);

    // Same size, different bytes: only the sha256 can tell, and the verdict of the request
    // above must not be reused for the new file.
    const damaged = Buffer.from(png);
    damaged[damaged.length - 5] ^= 0xff;
    await writeFile(blobPath(), damaged);
    for (const request of [
      { method: 'GET' as const },
      { method: 'GET' as const, headers: { range: 'bytes=0-9' } },
      { method: 'HEAD' as const },
    ]) {
      const response = await inject({ url: `/api/artifacts/${ref.id}`, ...request });
      expect(response.statusCode, JSON.stringify(request)).toBe(500);
      if (request.method === 'GET') {
        expect(response.json()).toMatchObject({ error: { code: 'artifact_corrupt' } });
        expect(response.json<{ error: { message: string } }>().error.message).toContain(ref.id);
      }
    }

    await writeFile(blobPath(), Buffer.alloc(18));
    const short = await inject({ method: 'GET', url: `/api/artifacts/${ref.id}` });
    expect(short.json()).toMatchObject({ error: { code: 'artifact_corrupt' } });

    await lab.engine.artifacts.putBytes(png, 'image/png');
    const repaired = await inject({ method: 'GET', url: `/api/artifacts/${ref.id}` });
    expect(repaired.statusCode).toBe(200);
    expect(repaired.rawPayload.equals(png)).toBe(true);
  });
});
