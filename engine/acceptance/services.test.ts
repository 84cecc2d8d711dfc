/**
 * Issue "production services", must-show: the character-short template runs end to end with
 * every store on its service — documents in MongoDB (FerretDB speaks its wire protocol),
 * artifacts in S3 (SeaweedFS), vectors in Qdrant (the fake; no server can be installed here) —
 * and nothing lands in the data dir but the blob download cache. The services are real
 * processes on 127.0.0.1 that this file starts; under CI=true a missing one fails the run.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../graph/values';
import { probe } from '../media/ffmpeg';
import { buildServer } from '../server/app';
import type { RunSnapshot } from '../runs/events';
import { temporalUnavailable } from '../testing/engine-harness';
import {
  FAST_CHARACTER_SHORT,
  ffprobeVideo,
  loadTemplate,
  RunWatcher,
  startTestServer,
  type TestServer,
} from '../testing/server-harness';
import {
  ferretDbSkipReason,
  startFerretDb,
  type FerretDbServer,
} from '../testing/services/ferretdb';
import {
  seaweedFsUnavailable,
  startSeaweedFs,
  type SeaweedFs,
} from '../testing/services/seaweedfs';
import { FakeQdrant } from '../stores/vectors/testing/fake-qdrant';

const missing =
  temporalUnavailable() ??
  ferretDbSkipReason() ??
  (process.env.CI === 'true' ? undefined : seaweedFsUnavailable());

describe.skipIf(missing)('the template on MongoDB, S3 and Qdrant', () => {
  let mongo: FerretDbServer;
  let s3: SeaweedFs;
  let qdrant: FakeQdrant;
  let lab: TestServer;

  beforeAll(async () => {
    [mongo, s3, qdrant] = await Promise.all([
      startFerretDb(),
      startSeaweedFs(),
      FakeQdrant.start(),
    ]);
    lab = await startTestServer({
      env: {
        MONGODB_URL: `${mongo.url}/charlab_acceptance`,
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_BUCKET: 'charlab-acceptance',
        QDRANT_URL: qdrant.url,
      },
    });
  }, 180_000);

  afterAll(async () => {
    await lab?.close();
    await Promise.all([mongo?.stop(), s3?.stop(), qdrant?.close()]);
  });

  it('runs to an H.264 MP4 with its narration, every document and artifact on the services', async () => {
    const health = (
      await lab.request<Record<string, { kind?: string; ok?: boolean }>>('GET', '/api/health')
    ).body;
    expect(health.documents).toMatchObject({ ok: true, kind: 'mongodb' });
    expect(health.blobs).toMatchObject({ ok: true, kind: 's3' });
    expect(health.vectors).toMatchObject({ ok: true, kind: 'qdrant' });

    const graph = await loadTemplate('character-short', FAST_CHARACTER_SHORT);
    const started = await lab.request<{ runId: string }>('POST', '/api/runs', { graph });
    expect(started.status).toBe(202);
    const watcher = await RunWatcher.watch(lab.url, started.body.runId, 0);
    const end = await watcher.untilEnd(240_000);
    watcher.close();
    expect(end.type, JSON.stringify(watcher.events.filter((e) => e.error))).toBe('run.completed');
    const seqs = watcher.events.map((e) => e.seq);
    const stored = (await lab.engine.events.since(started.body.runId, 0)).map((e) => e.seq);
    expect(stored, 'stored').toEqual(stored.map((_, i) => i + 1)); // stored without gaps
    expect(seqs, `delivered ${JSON.stringify(seqs)}`).toEqual(stored); // every event, once, in order

    const snapshot = (await lab.request<RunSnapshot>('GET', `/api/runs/${started.body.runId}`))
      .body;
    const video = Object.values(snapshot.outputs)
      .flatMap((outputs) => Object.values(outputs))
      .find((value): value is ArtifactRef => (value as ArtifactRef)?.mime === 'video/mp4');
    expect(video).toBeDefined();
    const download = await fetch(`${lab.url}/api/artifacts/${video!.id}`);
    expect(download.status).toBe(200);
    const mp4 = await lab.engine.artifacts.toLocalFile(video!);
    expect((await ffprobeVideo(mp4)).codec).toBe('h264');
    expect(await probe(mp4)).toMatchObject({ hasAudio: true, audioCodec: 'aac' });

    // With LAB_ARTIFACT_REDIRECT=presigned the API hands the download to S3.
    const redirecting = buildServer(lab.engine, {
      rateLimit: false,
      artifactRedirect: 'presigned',
    });
    try {
      const redirect = await redirecting.app.inject({
        method: 'GET',
        url: `/api/artifacts/${video!.id}`,
      });
      expect(redirect.statusCode).toBe(302);
      const location = String(redirect.headers.location);
      expect(location.startsWith(s3.endpoint)).toBe(true);
      const direct = await fetch(location, { headers: { range: 'bytes=0-99' } });
      expect(direct.status).toBe(206);
      expect((await direct.arrayBuffer()).byteLength).toBe(100);
    } finally {
      await redirecting.close();
    }

    // Nothing of the run lives in the data dir's embedded stores.
    const files = await readdir(lab.dataDir);
    expect(files).not.toContain('lab.db');
    expect(files).not.toContain('blobs');
  });
});
