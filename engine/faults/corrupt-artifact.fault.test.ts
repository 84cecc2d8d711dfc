/**
 * Issue 11, item 8: a corrupt cached artifact is never served or reused. character-short runs
 * to the end; one of its clips is then overwritten on disk with 18 bytes. The artifact route
 * must refuse the damaged bytes, a re-run must recompute that clip (and only that clip) instead
 * of "succeeding" from the cache, and another graph sharing the shot (same clips, different
 * merge) must finish with a real video instead of failing in merge. Real Temporal dev server,
 * real worker, local providers and ffmpeg; what was redone is counted from the stored events.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../graph/values';
import type { RunEvent, RunSnapshot } from '../runs/events';
import { temporalUnavailable } from '../testing/engine-harness';
import {
  FAST_CHARACTER_SHORT,
  loadTemplate,
  RunWatcher,
  startTestServer,
  type TestServer,
} from '../testing/server-harness';
import { recordFault } from './fault-record';

const SHOTS = 3;
const DAMAGED = 0;

describe.skipIf(temporalUnavailable())('a cached clip overwritten on disk', () => {
  let lab: TestServer;

  beforeAll(async () => {
    lab = await startTestServer();
  }, 180_000);

  afterAll(async () => {
    await lab?.close();
  });

  async function run(graph: unknown): Promise<{ snapshot: RunSnapshot; events: RunEvent[] }> {
    const response = await lab.request<{ runId: string }>('POST', '/api/runs', { graph });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    const watcher = await RunWatcher.watch(lab.url, response.body.runId, 0);
    await watcher.untilEnd(240_000);
    watcher.close();
    const snapshot = (await lab.request<RunSnapshot>('GET', `/api/runs/${response.body.runId}`))
      .body;
    return { snapshot, events: await lab.engine.documents.events.list(response.body.runId) };
  }

  const clipsOf = (snapshot: RunSnapshot) =>
    (snapshot.nodes.clips.outputs as { clips: ArtifactRef[] }).clips;
  const blobPath = (id: string) => join(lab.dataDir, 'blobs', id.slice(0, 2), id);
  /** Clip items that ran (not answered from the cache), from the stored events. */
  const clipsComputed = (events: RunEvent[]) =>
    events
      .filter((e) => e.nodeId === 'clips' && e.index !== undefined && e.type === 'node.completed')
      .map((e) => e.index);
  const download = (id: string) =>
    fetch(`${lab.url}/api/artifacts/${id}`).then(async (r) => ({
      status: r.status,
      bytes: Buffer.from(await r.arrayBuffer()),
    }));
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it(
    'refuses the bad bytes, recomputes the clip, and a graph sharing the shot still merges',
    { timeout: 900_000 },
    async () => {
      const overrides = { ...FAST_CHARACTER_SHORT, 'story.shots': SHOTS };
      const graph = await loadTemplate('character-short', overrides);
      const first = await run(graph);
      expect(first.snapshot.status).toBe('succeeded');
      const clip = clipsOf(first.snapshot)[DAMAGED];

      await writeFile(blobPath(clip.id), Buffer.from('eighteen bad bytes'));
      const refused = await download(clip.id);
      expect(refused.status).toBe(500);
      expect(JSON.parse(refused.bytes.toString('utf8'))).toMatchObject({
        error: { code: 'artifact_corrupt' },
      });

      // The same graph again: everything is cached except the damaged clip (and what uses it).
      const fault = Date.now();
      const rerun = await run(graph);
      const recoverMs = Date.now() - fault;
      expect(rerun.snapshot.status, rerun.snapshot.error).toBe('succeeded');
      expect(clipsComputed(rerun.events)).toEqual([DAMAGED]);
      const again = clipsOf(rerun.snapshot)[DAMAGED];
      const served = await download(again.id);
      expect(served.status).toBe(200);
      expect(sha(served.bytes)).toBe(again.id);
      expect(served.bytes.length).toBe(again.bytes);

      // Another graph sharing the shots (a different merge) meets the damage in its cache hit.
      await writeFile(blobPath(again.id), Buffer.from('eighteen bad bytes'));
      const other = await run(
        await loadTemplate('character-short', { ...overrides, 'merge.crf': 28 }),
      );
      expect(other.snapshot.status, other.snapshot.error).toBe('succeeded');
      expect(clipsComputed(other.events)).toEqual([DAMAGED]);
      const video = (other.snapshot.outputs.merge as { video: ArtifactRef }).video;
      const merged = await download(video.id);
      expect(merged.status).toBe(200);
      expect(sha(merged.bytes)).toBe(video.id);

      const runs = [rerun, other];
      recordFault({
        fault: 'a cached clip overwritten with 18 bytes, then re-run and shared by another graph',
        survived: runs.filter((r) => r.snapshot.status === 'succeeded').length,
        total: runs.length,
        eventsLost: runs.reduce((sum, r) => sum + (r.events.at(-1)?.seq ?? 0) - r.events.length, 0),
        // Only the damaged clip ran again in each run; anything more would be redone work.
        itemsRedone: runs.reduce((sum, r) => sum + clipsComputed(r.events).length - 1, 0),
        recoverMs,
        test: 'engine/faults/corrupt-artifact.fault.test.ts',
      });
    },
  );
});
