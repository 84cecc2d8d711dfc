/**
 * Issue 11 items 4–6 (and issue 9 item 2): run events across server outages, with real
 * processes — `charlab serve` and `charlab worker` children, the shared Temporal dev server
 * (started by global-setup, outside the studio, so it survives the studio's crash), and a fake
 * AUTOMATIC1111 server in this process whose request log says how often each shot was rendered.
 *
 * 1. The studio server is killed for 15 s while a remote worker (which also runs the workflow)
 *    renders frames: no event lost or stored twice, no shot rendered twice.
 * 2. The studio (with its in-process worker) is killed -9 mid-clips and started again: the
 *    time from its coming back to the run's next stored event is recorded.
 * Both check causal order over the stored events: a node starts only after its parents ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { GraphDocument } from '../graph/document';
import type { RunEvent } from '../runs/events';
import { freePort } from '../temporal/launcher';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { makePng } from '../testing/fakes/media';
import { loadTemplate, RunWatcher } from '../testing/server-harness';
import { FakeA1111 } from '../../nodes/sd-lora-frame/testing/fake-a1111';
import { recordFault } from './fault-record';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));
const TEST = 'engine/faults/event-delivery.fault.test.ts';
const SHOTS = ['alpha', 'bravo', 'charlie', 'delta'];

interface Lab {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  url: string;
  port: number;
  sd: FakeA1111;
  children: ChildProcess[];
  logs: string[];
}

let lab: Lab | undefined;

afterEach(async () => {
  for (const child of lab?.children ?? []) if (child.exitCode === null) child.kill('SIGKILL');
  await lab?.sd.close();
  if (lab) await rm(lab.dataDir, { recursive: true, force: true });
  lab = undefined;
});

async function startLab(renderMs: number): Promise<Lab> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-fault-events-'));
  // The template's demo character names its LoRA; A1111 refuses a prompt whose LoRA is missing.
  const sd = await FakeA1111.start({
    png: await makePng(384, 216),
    renderMs,
    loras: [{ name: 'mira_v1' }],
  });
  const port = await freePort();
  const env = testEnv(dataDir, {
    SD_API_URL: sd.url,
    SD_API_KIND: 'a1111',
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  return { dataDir, env, url: `http://127.0.0.1:${port}`, port, sd, children: [], logs: [] };
}

function spawnCharlab(lab: Lab, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: lab.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => lab.logs.push(`[${args[0]}] ${String(chunk)}`));
  lab.children.push(child);
  return child;
}

/** Starts `charlab serve` and resolves once it answers /api/health. */
async function startServer(lab: Lab, args: string[] = []): Promise<ChildProcess> {
  const child = spawnCharlab(lab, ['serve', ...args]);
  for (let i = 0; i < 1_200; i += 1) {
    if (child.exitCode !== null)
      throw new Error(`charlab serve exited ${child.exitCode}:\n${lab.logs.join('')}`);
    const ok = await fetch(`${lab.url}/api/health`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`charlab serve did not come up:\n${lab.logs.join('')}`);
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The character-short template, small, on the fake A1111 (one render per shot: no gate). */
function template(extra: Record<string, unknown> = {}): Promise<GraphDocument> {
  return loadTemplate('character-short', {
    'script.text': SHOTS.map((word) => `Mira looks at the ${word} tower.`).join(' '),
    'story.shots': SHOTS.length,
    'story.shotDurationSec': 1,
    'frames.width': 384,
    'frames.height': 216,
    'frames.gate': false,
    'merge.width': 384,
    'merge.height': 216,
    ...extra,
  });
}

async function startRun(lab: Lab, graph: GraphDocument): Promise<string> {
  const response = await fetch(`${lab.url}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return ((await response.json()) as { runId: string }).runId;
}

/** Every stored event of the run once it ended, read back from seq 0. */
async function storedEvents(lab: Lab, runId: string): Promise<RunEvent[]> {
  const watcher = await RunWatcher.watch(lab.url, runId, 0);
  try {
    await watcher.untilEnd(300_000);
    return watcher.events;
  } finally {
    watcher.close();
  }
}

interface Audit {
  /** Lifecycle events the run must have stored and did not. */
  lost: string[];
  /** Lifecycle events stored more than once. */
  duplicated: string[];
  /** Starts stored before one of the node's parents ended. */
  outOfOrder: string[];
  /** Gaps or repeats in the seq numbers. */
  seqGaps: number;
}

/**
 * Counts from the stored events alone what was lost, stored twice or out of causal order. A
 * lifecycle event is identified by type, node, item and stage (a retry's start says
 * "attempt 2", so it is a different event from the first attempt's start).
 */
function audit(events: RunEvent[], graph: GraphDocument): Audit {
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'node.progress') continue;
    const id = `${e.type} ${e.nodeId ?? ''}${e.index !== undefined ? `#${e.index}` : ''}${e.stage ? ` (${e.stage})` : ''}`;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);

  const expected = ['run.started ', 'run.completed '];
  for (const node of graph.nodes) {
    expected.push(`node.completed ${node.id}`);
    const fanOut = events.find((e) => e.nodeId === node.id && e.total !== undefined);
    if (!fanOut) {
      if (node.type !== 'script-input') expected.push(`node.started ${node.id}`);
      continue;
    }
    expected.push(`node.started ${node.id}`);
    for (let i = 0; i < fanOut.total!; i += 1) {
      expected.push(`node.started ${node.id}#${i}`, `node.completed ${node.id}#${i}`);
    }
  }
  // A node or item answered from the cache reports node.cached instead of completed.
  const lost = expected.filter(
    (id) =>
      !(
        [...seen.keys()].some((s) => s === id || s.startsWith(`${id} (`)) ||
        (id.startsWith('node.completed') && seen.has(id.replace('completed', 'cached')))
      ),
  );

  const endSeq = new Map<string, number>();
  for (const e of events) {
    if ((e.type === 'node.completed' || e.type === 'node.cached') && e.index === undefined)
      endSeq.set(e.nodeId!, e.seq);
  }
  const outOfOrder: string[] = [];
  for (const e of events) {
    if (e.type !== 'node.started' && e.type !== 'node.progress') continue;
    for (const edge of graph.edges.filter((edge) => edge.target === e.nodeId)) {
      const parentEnd = endSeq.get(edge.source);
      if (parentEnd === undefined || parentEnd > e.seq)
        outOfOrder.push(`${e.type} ${e.nodeId} at seq ${e.seq} before ${edge.source} ended`);
    }
  }
  const seqGaps = events.filter((e, i) => e.seq !== i + 1).length;
  return { lost, duplicated, outOfOrder, seqGaps };
}

/** txt2img renders beyond the first, summed over shots (each shot should render once). */
function shotsRedone(sd: FakeA1111): { redone: number; perShot: Record<string, number> } {
  const perShot: Record<string, number> = Object.fromEntries(SHOTS.map((word) => [word, 0]));
  for (const request of sd.requests) {
    if (request.method !== 'POST' || request.path !== '/sdapi/v1/txt2img') continue;
    const prompt = String((request.json as { prompt?: unknown } | undefined)?.prompt ?? '');
    const shot = SHOTS.find((word) => prompt.includes(word));
    if (shot) perShot[shot] += 1;
  }
  const redone = Object.values(perShot).reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  return { redone, perShot };
}

describe.skipIf(temporalUnavailable())('run events across server outages', () => {
  it(
    'loses and repeats nothing when the server is down 15 s while a remote worker renders frames',
    { timeout: 900_000 },
    async () => {
      lab = await startLab(4_000);
      let server = await startServer(lab, ['--no-worker']);
      // The remote worker runs the workflow too, so the run goes on while the server is away:
      // its activities must keep heartbeating and its events must wait for the server.
      spawnCharlab(lab, [
        'worker',
        '--queues',
        'lab-workflows,lab-cpu,lab-gpu,lab-io',
        '--server',
        lab.url,
      ]);
      const graph = await template();
      const runId = await startRun(lab, graph);
      const watcher = await RunWatcher.watch(lab.url, runId, 0);
      await watcher.until(
        (e) => e.nodeId === 'frames' && e.type === 'node.started' && e.index !== undefined,
        300_000,
      );
      watcher.close();

      await kill9(server);
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      server = await startServer(lab, ['--no-worker']);

      const events = await storedEvents(lab, runId);
      const result = audit(events, graph);
      const { redone, perShot } = shotsRedone(lab.sd);
      const completed = events.at(-1)?.type === 'run.completed';
      recordFault({
        fault: 'server down 15 s mid-frames (remote worker, external Temporal)',
        survived: completed ? 1 : 0,
        total: 1,
        eventsLost: result.lost.length + result.duplicated.length,
        itemsRedone: redone,
        test: TEST,
      });
      expect(events.at(-1)?.type, lab.logs.join('')).toBe('run.completed');
      expect(result).toEqual({ lost: [], duplicated: [], outOfOrder: [], seqGaps: 0 });
      expect(perShot).toEqual(Object.fromEntries(SHOTS.map((word) => [word, 1])));
    },
  );

  it(
    'moves again soon after the server and its worker come back from kill -9 mid-clips',
    { timeout: 900_000 },
    async () => {
      lab = await startLab(200);
      const server = await startServer(lab);
      // Longer shots make clips take a while, so the kill lands while they render.
      const graph = await template({ 'story.shotDurationSec': 4 });
      const runId = await startRun(lab, graph);
      const watcher = await RunWatcher.watch(lab.url, runId, 0);
      await watcher.until(
        (e) => e.nodeId === 'clips' && e.type === 'node.progress' && e.index !== undefined,
        300_000,
      );
      watcher.close();

      await kill9(server);
      await startServer(lab);
      const back = Date.now();
      const seqAtRestart = (
        (await (await fetch(`${lab.url}/api/runs/${runId}`)).json()) as { seq: number }
      ).seq;
      const resumed = await RunWatcher.watch(lab.url, runId, seqAtRestart);
      await resumed.until(() => true, 300_000);
      const recoverMs = Date.now() - back;
      resumed.close();

      const events = await storedEvents(lab, runId);
      const result = audit(events, graph);
      const { redone } = shotsRedone(lab.sd);
      const completed = events.at(-1)?.type === 'run.completed';
      recordFault({
        fault: 'kill -9 of the server and its worker mid-clips, restarted at once',
        survived: completed ? 1 : 0,
        total: 1,
        eventsLost: result.lost.length + result.duplicated.length,
        itemsRedone: redone,
        recoverMs,
        test: TEST,
      });
      expect(events.at(-1)?.type, lab.logs.join('')).toBe('run.completed');
      expect(result).toEqual({ lost: [], duplicated: [], outOfOrder: [], seqGaps: 0 });
      expect(redone).toBe(0); // every frame was rendered before the kill
      // The issue's target is 10 s from the server being back; a clips item on the dead worker
      // is retried once its 10 s heartbeat timeout (counted from the kill) expires. 20 s leaves
      // a 2x margin for a loaded 2-core machine; before the fix it took 14–37 s (the clips
      // heartbeat timeout alone was 30 s).
      expect(recoverMs).toBeLessThan(20_000);
    },
  );
});
