/**
 * Issue "engine backbone", must-show: the character-short template runs from POST /api/runs
 * to a real MP4 with live progress over Socket.IO, replays what a late client missed, is
 * served from the cache on a second run, and a changed merge param re-executes only the merge.
 * Real Temporal dev server, real worker, real ffmpeg, local providers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunEvent, RunSnapshot } from '../runs/events';
import type { ArtifactRef, Storyboard } from '../graph/values';
import { graphSchema } from '../../nodes/definitions';
import { temporalUnavailable } from '../testing/engine-harness';
import {
  FAST_CHARACTER_SHORT,
  ffprobeVideo,
  loadTemplate,
  RunWatcher,
  startTestServer,
  type TestServer,
} from '../testing/server-harness';

/** The template's nodes that run as activities and do work (the loader only reads the store). */
async function activityNodes(): Promise<string[]> {
  const graph = await loadTemplate('character-short');
  return graph.nodes
    .filter((node) => graphSchema.definition(node.type)?.runsOn !== 'inline')
    .map((node) => node.id)
    .filter((id) => id !== 'character');
}

// Each test runs the template with real local media: on a shared, loaded machine that takes
// minutes, never a timing assertion.
vi.setConfig({ testTimeout: 600_000 });

describe.skipIf(temporalUnavailable())('character-short over HTTP and Socket.IO', () => {
  let lab: TestServer;
  let scratch: string;

  beforeAll(async () => {
    lab = await startTestServer();
    scratch = await mkdtemp(join(tmpdir(), 'charlab-acceptance-'));
  });
  afterAll(async () => {
    await lab?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function runAndWatch(body: unknown): Promise<{ runId: string; watcher: RunWatcher }> {
    const response = await lab.request<{ runId: string }>('POST', '/api/runs', body);
    expect(response.status).toBe(202);
    const watcher = await RunWatcher.watch(lab.url, response.body.runId, 0);
    await watcher.untilEnd();
    return { runId: response.body.runId, watcher };
  }

  it('runs to an H.264 MP4 of the requested size and length, streaming every step', async () => {
    const graph = await loadTemplate('character-short', FAST_CHARACTER_SHORT);
    const response = await lab.request<{ runId: string }>('POST', '/api/runs', { graph });
    expect(response.status).toBe(202);
    const { runId } = response.body;

    const early = await RunWatcher.watch(lab.url, runId, 0);
    // A second client joins halfway: after the first frame, claiming it saw everything up to then.
    const firstFrame = await early.until(
      (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
    );
    const late = await RunWatcher.watch(lab.url, runId, firstFrame.seq);
    await early.untilEnd();
    await late.untilEnd();
    early.close();
    late.close();

    const seqs = early.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)).toBe(seqs.length); // no gaps
    expect(early.events[0].type).toBe('run.started');
    expect(early.events.at(-1)!.type).toBe('run.completed');
    // The late client got exactly what it missed: everything after its sinceSeq, once.
    expect(late.events.map((e) => e.seq)).toEqual(seqs.filter((s) => s > firstFrame.seq));

    const of = (nodeId: string, index?: number) =>
      early.events.filter((e) => e.nodeId === nodeId && e.index === index).map((e) => e.type);
    for (const nodeId of await activityNodes())
      expect(of(nodeId, undefined)).toContain('node.completed');
    for (const nodeId of ['story', 'merge']) {
      expect(of(nodeId)).toContain('node.started');
      expect(of(nodeId)).toContain('node.progress');
    }
    for (const nodeId of ['frames', 'clips']) {
      for (let index = 0; index < 3; index++) {
        const item = of(nodeId, index);
        expect(item, `${nodeId}[${index}]`).toEqual(
          expect.arrayContaining(['node.started', 'node.progress', 'node.completed']),
        );
        expect(item.indexOf('node.started')).toBeLessThan(item.indexOf('node.completed'));
      }
    }

    const snapshot = (await lab.request<RunSnapshot>('GET', `/api/runs/${runId}`)).body;
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.nodes.frames).toMatchObject({ status: 'succeeded', done: 3, total: 3 });
    const video = snapshot.outputs.merge.video as ArtifactRef;
    // Run lists carry the final outputs, so a history can show the video without more reads.
    const listed = (await lab.request<{ id: string; outputs?: unknown }[]>('GET', '/api/runs'))
      .body;
    expect(listed.find((run) => run.id === runId)?.outputs).toEqual(snapshot.outputs);
    const download = await fetch(`${lab.url}/api/artifacts/${video.id}`);
    expect(download.headers.get('content-type')).toContain('video/mp4');
    const file = join(scratch, 'character-short.mp4');
    await writeFile(file, Buffer.from(await download.arrayBuffer()));
    const probed = await ffprobeVideo(file);
    const storyboard = snapshot.nodes.story.outputs!.storyboard as Storyboard;
    const expectedSec = storyboard.shots.reduce((sum, shot) => sum + shot.durationSec, 0);
    expect(probed).toMatchObject({ codec: 'h264', width: 384, height: 216 });
    expect(Math.abs(probed.durationSec - expectedSec) / expectedSec).toBeLessThan(0.1);
  });

  it('serves an identical second run from the cache, doing no work', async () => {
    // The speed-up itself is measured by `npm run bench` (bench/RESULTS.md), never asserted on
    // a shared machine's clock: here the proof is that nothing ran.
    const graph = await loadTemplate('character-short', {
      'script.text': 'Mira climbs the tower. She lights the old lamp. The harbour glows below.',
    });
    const first = await runAndWatch({ graph });
    const second = await runAndWatch({ graph });
    const snapshot = (await lab.request<RunSnapshot>('GET', `/api/runs/${second.runId}`)).body;
    expect(snapshot.status).toBe('succeeded');
    for (const nodeId of await activityNodes())
      expect(snapshot.nodes[nodeId].status, nodeId).toBe('cached');
    // Work = an activity starting or reporting progress (a fan-out node's own
    // `node.started { total }` is scheduling, not work). The character loader is no exception:
    // once the first run has computed the demo character's face identity, the server reads the
    // character itself, and the whole run is answered before any workflow.
    const work = (events: RunEvent[]) =>
      events.filter(
        (e) => e.type === 'node.progress' || (e.type === 'node.started' && e.total === undefined),
      );
    expect(work(second.watcher.events)).toEqual([]);
    const firstRun = (await lab.request<RunSnapshot>('GET', `/api/runs/${first.runId}`)).body;
    expect(snapshot.nodes.character).toMatchObject({
      status: 'succeeded',
      outputs: firstRun.nodes.character.outputs,
    });
    first.watcher.close();
    second.watcher.close();

    // Changing one merge param re-executes only the merge.
    const rerun = await lab.request<{ runId: string }>('POST', `/api/runs/${second.runId}/rerun`, {
      params: { merge: { crf: 28 } },
    });
    expect(rerun.status).toBe(202);
    const watcher = await RunWatcher.watch(lab.url, rerun.body.runId, 0);
    await watcher.untilEnd();
    watcher.close();
    const changed = (await lab.request<RunSnapshot>('GET', `/api/runs/${rerun.body.runId}`)).body;
    expect(changed.status).toBe('succeeded');
    expect(changed.nodes.merge.status).toBe('succeeded');
    for (const nodeId of ['story', 'frames', 'clips'])
      expect(changed.nodes[nodeId].status, nodeId).toBe('cached');
    expect(new Set(work(watcher.events).map((e) => e.nodeId))).toEqual(new Set(['merge']));
  });
});
