/**
 * Issue "engine backbone", must-show: a worker process killed (SIGKILL) mid-frames loses
 * nothing and redoes nothing that finished; cancelling mid-frames stops in-flight activities
 * and ends the run `cancelled`; a failing node fails readably, skips its descendants, and an
 * independent branch still finishes. Activities run in real `charlab worker` processes that
 * report progress to the server's /workers namespace, as a GPU machine would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunSnapshot } from '../runs/events';
import { temporalUnavailable } from '../testing/engine-harness';
import { edge, graph, node } from '../testing/graph-builder';
import {
  loadTemplate,
  RunWatcher,
  startTestServer,
  type TestServer,
} from '../testing/server-harness';
import { DEMO_CHARACTER_ID } from '../characters/demo-character';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

describe.skipIf(temporalUnavailable())('durability: worker crash, cancel, failure', () => {
  let lab: TestServer;
  const workers: ChildProcess[] = [];

  /** A `charlab worker` process for the activity queues, reporting to the test server. */
  async function startWorker(): Promise<ChildProcess> {
    const child = spawn(
      process.execPath,
      [BIN, 'worker', '--queues', 'lab-cpu,lab-gpu,lab-io', '--server', lab.url],
      {
        env: lab.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    workers.push(child);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('worker polling')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) =>
        reject(new Error(`worker exited (${code}) before polling:\n${output}`)),
      );
      setTimeout(() => reject(new Error(`worker did not start in time:\n${output}`)), 60_000);
    });
    return child;
  }

  async function stopWorkers(): Promise<void> {
    for (const child of workers.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
  }

  beforeAll(async () => {
    // The server process runs only the interpreter workflow; activities live in worker processes.
    lab = await startTestServer({ workerQueues: ['workflows'] });
  });
  afterEach(stopWorkers);
  afterAll(async () => {
    await stopWorkers();
    await lab?.close();
  });

  const start = async (body: unknown) => {
    const response = await lab.request<{ runId: string }>('POST', '/api/runs', body);
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    return response.body.runId;
  };
  const snapshotOf = async (runId: string) =>
    (await lab.request<RunSnapshot>('GET', `/api/runs/${runId}`)).body;

  it('survives a SIGKILLed worker mid-frames without redoing finished work', async () => {
    const graphDoc = await loadTemplate('character-short', {
      'script.text': 'One. Two. Three. Four. Five. Six.',
      'story.shots': 6,
      'story.shotDurationSec': 1,
      'frames.width': 640,
      'frames.height': 360,
      'merge.width': 384,
      'merge.height': 216,
    });
    const first = await startWorker();
    const runId = await start({ graph: graphDoc });
    const watcher = await RunWatcher.watch(lab.url, runId, 0);
    await watcher.until(
      (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
    );
    first.kill('SIGKILL');
    const killedAt = watcher.events.at(-1)!.seq;
    await new Promise((resolve) => first.once('exit', resolve));

    await startWorker();
    const end = await watcher.untilEnd(180_000);
    watcher.close();
    expect(end.type).toBe('run.completed');
    const snapshot = await snapshotOf(runId);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.nodes.frames).toMatchObject({ status: 'succeeded', done: 6 });

    // Work finished before the kill ran exactly once: one activity start per completed item/node.
    const before = watcher.events.filter((e) => e.seq <= killedAt);
    const finished = before.filter((e) => e.type === 'node.completed' && e.nodeId !== 'script');
    expect(finished.length).toBeGreaterThan(0);
    for (const done of finished) {
      const starts = watcher.events.filter(
        (e: RunEvent) =>
          e.type === 'node.started' &&
          e.nodeId === done.nodeId &&
          e.index === done.index &&
          e.total === undefined,
      );
      expect(starts.length, `${done.nodeId}[${done.index ?? '-'}] started`).toBe(1);
    }
  });

  it('cancels a run mid-frames: in-flight activities stop within seconds, the run ends cancelled', async () => {
    await startWorker();
    const graphDoc = await loadTemplate('character-short', {
      'script.text': 'Cancel me. Please. Now. Really. Soon. Later.',
      'story.shots': 6,
      'frames.width': 1024,
      'frames.height': 576,
    });
    const runId = await start({ graph: graphDoc });
    const watcher = await RunWatcher.watch(lab.url, runId, 0);
    await watcher.until(
      (e) => e.nodeId === 'frames' && e.type === 'node.started' && e.index !== undefined,
    );
    const cancelledAt = Date.now();
    expect((await lab.request('POST', `/api/runs/${runId}/cancel`)).status).toBeLessThan(300);
    const end = await watcher.untilEnd(60_000);
    watcher.close();
    expect(end.type).toBe('run.cancelled');
    expect(Date.now() - cancelledAt).toBeLessThan(8_000);
    const snapshot = await snapshotOf(runId);
    expect(snapshot.status).toBe('cancelled');
    expect(snapshot.nodes.frames.status).toBe('cancelled');
    expect(snapshot.nodes.merge.status).not.toBe('succeeded');
  });

  it('fails a node with a readable error, skips its descendants, finishes the other branch', async () => {
    await startWorker();
    // A character whose reference image is not an image at all.
    const broken = await lab.engine.artifacts.putBytes(
      Buffer.from('this is not a PNG'),
      'image/png',
    );
    const now = new Date().toISOString();
    await lab.engine.documents.characters.put({
      id: 'broken-char',
      name: 'Broken',
      description: 'a character with a corrupt reference image',
      referenceImages: [broken],
      ownerId: 'local',
      createdAt: now,
      updatedAt: now,
      revision: 1,
    });
    const branch = (name: string, characterId: string) => [
      node(`script-${name}`, 'script-input', {
        text: `Branch ${name} begins. Branch ${name} ends.`,
      }),
      node(`char-${name}`, 'character-loader', { characterId }),
      node(`story-${name}`, 'gpt-storyboard', { provider: 'local', shots: 2, shotDurationSec: 1 }),
      node(`frames-${name}`, 'sd-lora-frame', { provider: 'local', width: 384, height: 216 }),
      node(`clips-${name}`, 'runway-clip', { provider: 'local' }),
      node(`merge-${name}`, 'ffmpeg-merge', { width: 384, height: 216, subtitles: false }),
    ];
    const wires = (name: string) => [
      edge(`script-${name}.text`, `story-${name}.script`),
      edge(`story-${name}.storyboard`, `frames-${name}.storyboard`),
      edge(`char-${name}.character`, `frames-${name}.character`),
      edge(`frames-${name}.frames`, `clips-${name}.frames`),
      edge(`story-${name}.storyboard`, `clips-${name}.storyboard`),
      edge(`clips-${name}.clips`, `merge-${name}.clips`),
    ];
    const doc = graph(
      [...branch('a', 'broken-char'), ...branch('b', DEMO_CHARACTER_ID)],
      [...wires('a'), ...wires('b')],
    );
    const runId = await start({ graph: doc });
    const watcher = await RunWatcher.watch(lab.url, runId, 0);
    const end = await watcher.untilEnd(120_000);
    watcher.close();
    expect(end.type).toBe('run.failed');
    const snapshot = await snapshotOf(runId);
    expect(snapshot.nodes['frames-a'].status).toBe('failed');
    expect(snapshot.nodes['frames-a'].error).toMatch(/reference image/i);
    expect(snapshot.nodes['clips-a'].status).toBe('skipped');
    expect(snapshot.nodes['merge-a'].status).toBe('skipped');
    expect(snapshot.nodes['merge-b'].status).toBe('succeeded');
    expect(snapshot.error).toContain('frames-a');
    // Non-retryable: each item that ran was tried once (a failed item cancels its siblings,
    // so a sibling may never have started).
    const starts = watcher.events.filter(
      (e) => e.type === 'node.started' && e.nodeId === 'frames-a' && e.index !== undefined,
    );
    expect(starts.length).toBeGreaterThan(0);
    expect(new Set(starts.map((e) => e.index)).size).toBe(starts.length);
  });
});
