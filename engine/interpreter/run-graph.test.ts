/**
 * The interpreter against a real Temporal dev server. Node implementations are swapped for
 * small controllable ones (the interpreter is under test here, not the media), but everything
 * else is real: the worker, heartbeats, retries, cancellation, the event store and the cache.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../runs/events';
import type { ArtifactRef, Storyboard } from '../graph/values';
import { NonRetryableNodeError, type NodeActivity } from '../worker/node-api';
import { edge, graph, node } from '../testing/graph-builder';
import { workflowBundlePath } from '../worker/workflow-bundle';
import { runStateQuery } from './run-graph';

const HISTORIES = fileURLToPath(new URL('./histories', import.meta.url));
const { History } = temporal.api.history.v1;

/** Histories are kept as JSON (longs as strings, bytes as base64) so they stay readable. */
function historyToText(history: temporal.api.history.v1.IHistory): string {
  const object = History.toObject(History.fromObject(history), {
    longs: String,
    bytes: String,
    enums: String,
  });
  return `${JSON.stringify(object, null, 1)}\n`;
}

function historyFromText(text: string): temporal.api.history.v1.History {
  return History.fromObject(JSON.parse(text) as Record<string, unknown>);
}
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';

interface Behaviour {
  /** ms each frame takes */
  frameMs: number;
  /** frames of these storyboards' titles fail for good */
  failTitles: Set<string>;
  /** frames fail once with a retryable error first */
  flakyOnce: boolean;
  /** frames of these storyboards' titles wait until aborted */
  hangTitles: Set<string>;
}

const behaviour: Behaviour = {
  frameMs: 50,
  failTitles: new Set(),
  flakyOnce: false,
  hangTitles: new Set(),
};
const calls: Record<string, number> = {};
const aborted: string[] = [];
let inFlightFrames = 0;
let maxInFlightFrames = 0;
const attemptsSeen: number[] = [];

const count = (type: string) => (calls[type] = (calls[type] ?? 0) + 1);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });

const implementations: Record<string, NodeActivity> = {
  'gpt-storyboard': async ({ params, inputs }) => {
    count('gpt-storyboard');
    const script = String(inputs.script);
    const shots = Number(params.shots);
    const storyboard: Storyboard = {
      title: script,
      shots: Array.from({ length: shots }, (_, index) => ({
        index,
        description: `${script} #${index}`,
        prompt: `${script} #${index}`,
        negativePrompt: '',
        camera: 'static',
        durationSec: 1,
      })),
    };
    return { storyboard };
  },
  'sd-lora-frame': async ({ inputs, ctx }) => {
    count('sd-lora-frame');
    attemptsSeen.push(ctx.attempt);
    const storyboard = inputs.storyboard as Storyboard;
    inFlightFrames += 1;
    maxInFlightFrames = Math.max(maxInFlightFrames, inFlightFrames);
    try {
      if (behaviour.hangTitles.has(storyboard.title)) {
        try {
          await sleep(120_000, ctx.signal);
        } catch (error) {
          aborted.push(`${ctx.nodeId}#${ctx.index}`);
          throw error;
        }
      }
      if (behaviour.failTitles.has(storyboard.title)) {
        throw new NonRetryableNodeError(
          `reference image of ${storyboard.title} is corrupt`,
          'bad_reference',
        );
      }
      if (behaviour.flakyOnce && ctx.attempt === 1)
        throw new Error('GPU out of memory (transient)');
      ctx.progress(0.5, 'sampling');
      await sleep(behaviour.frameMs, ctx.signal);
      const shot = storyboard.shots[ctx.index!];
      const frame: ArtifactRef = await ctx.artifacts.putBytes(
        Buffer.from(`frame ${shot.prompt}`),
        'image/png',
      );
      return { frames: frame };
    } finally {
      inFlightFrames -= 1;
    }
  },
  'ffmpeg-merge': async ({ inputs, ctx }) => {
    count('ffmpeg-merge');
    const clips = inputs.clips as ArtifactRef[];
    const video = await ctx.artifacts.putBytes(
      Buffer.from(`video of ${clips.map((c) => c.id).join(',')}`),
      'video/mp4',
    );
    return { video };
  },
  'runway-clip': async ({ inputs, ctx }) => {
    count('runway-clip');
    const frame = (inputs.frames as ArtifactRef[])[ctx.index!];
    const clip = await ctx.artifacts.putBytes(Buffer.from(`clip of ${frame.id}`), 'video/mp4');
    return { clips: clip };
  },
};

/**
 * Two branches (a, b): script → storyboard → frames → clips, both merged. `tag` goes into the
 * scripts, so each test gets its own cache keys (storyboard titles are `<tag> a`, `<tag> b`).
 */
function twoBranchGraph(shots: number, tag: string) {
  const branch = (name: string) => [
    node(`script-${name}`, 'script-input', { text: `${tag} ${name}` }),
    node(`story-${name}`, 'gpt-storyboard', { provider: 'local', shots }),
    node(`frames-${name}`, 'sd-lora-frame', { provider: 'local' }),
    node(`clips-${name}`, 'runway-clip', { provider: 'local' }),
  ];
  const wires = (name: string) => [
    edge(`script-${name}.text`, `story-${name}.script`),
    edge(`story-${name}.storyboard`, `frames-${name}.storyboard`),
    edge(`frames-${name}.frames`, `clips-${name}.frames`),
    edge(`story-${name}.storyboard`, `clips-${name}.storyboard`),
    edge(`clips-${name}.clips`, 'merge.clips'),
  ];
  return graph(
    [...branch('a'), ...branch('b'), node('merge', 'ffmpeg-merge', { subtitles: false })],
    [...wires('a'), ...wires('b')],
  );
}

const unavailable = temporalUnavailable();

describe.skipIf(unavailable)('runGraph interpreter on a real Temporal server', () => {
  let lab: TestEngine;

  beforeAll(async () => {
    lab = await startTestEngine({ implementations });
  });
  afterAll(async () => {
    await lab?.close();
  });

  const events = (runId: string): Promise<RunEvent[]> => lab.engine.events.since(runId, 0);

  it('runs parallel branches and fan-out items, reporting every step in seq order', async () => {
    const run = await lab.engine.runs.start({ graph: twoBranchGraph(3, 'parallel') });
    const snapshot = await lab.engine.runs.waitForEnd(run.id, 60_000);
    expect(snapshot.status).toBe('succeeded');
    const log = await events(run.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log[0].type).toBe('run.started');
    expect(log.at(-1)!.type).toBe('run.completed');
    for (const name of ['a', 'b']) {
      for (let index = 0; index < 3; index++) {
        const item = log
          .filter((e) => e.nodeId === `frames-${name}` && e.index === index)
          .map((e) => e.type);
        expect(item).toContain('node.started');
        expect(item).toContain('node.completed');
      }
      expect(snapshot.nodes[`frames-${name}`]).toMatchObject({
        status: 'succeeded',
        done: 3,
        total: 3,
      });
    }
    expect(maxInFlightFrames).toBeLessThanOrEqual(4); // 2 per node (maxParallel) × 2 branches
    const merged = snapshot.nodes.merge.outputs?.video as ArtifactRef;
    expect(merged.mime).toBe('video/mp4');
    expect(snapshot.outputs.merge).toEqual({ video: merged });
  });

  it("stores a node's start after its parents ended, and each lifecycle event once", async () => {
    // Workers report starts and item completions live, the workflow reports completions as
    // the backup under the same keys: the store must hold one copy, in causal order.
    const document = twoBranchGraph(3, 'causal');
    const run = await lab.engine.runs.start({ graph: document });
    expect((await lab.engine.runs.waitForEnd(run.id, 60_000)).status).toBe('succeeded');
    const log = await events(run.id);
    const ended = new Map(
      log
        .filter((e) => e.index === undefined && ['node.completed', 'node.cached'].includes(e.type))
        .map((e) => [e.nodeId!, e.seq]),
    );
    const late = log.flatMap((e) =>
      e.type === 'node.started' || e.type === 'node.progress'
        ? document.edges
            .filter((wire) => wire.target === e.nodeId)
            .filter((wire) => !(ended.get(wire.source)! < e.seq))
            .map(
              (wire) =>
                `${e.type} ${e.nodeId}#${e.index ?? ''} (seq ${e.seq}) before ${wire.source} ended`,
            )
        : [],
    );
    expect(late).toEqual([]);
    const lifecycle = log
      .filter((e) => e.type !== 'node.progress')
      .map((e) => `${e.type} ${e.nodeId ?? ''}#${e.index ?? ''} ${e.stage ?? ''}`);
    expect(lifecycle.filter((id, i) => lifecycle.indexOf(id) !== i)).toEqual([]);
    for (const name of ['a', 'b'])
      for (let index = 0; index < 3; index++)
        expect(lifecycle).toContain(`node.completed frames-${name}#${index} `);
  });

  it('replays its own history and every recorded one deterministically', async () => {
    const run = await lab.engine.runs.start({ graph: twoBranchGraph(2, 'replay') });
    await lab.engine.runs.waitForEnd(run.id, 60_000);
    const history = await lab.engine.temporal.client.workflow
      .getHandle(run.temporalWorkflowId)
      .fetchHistory();
    const options = { workflowBundle: { codePath: await workflowBundlePath() } };
    await Worker.runReplayHistory(options, history, run.temporalWorkflowId);
    if (process.env.UPDATE_HISTORIES === '1') {
      await writeFile(join(HISTORIES, 'two-branches.json'), historyToText(history));
    }
    // Histories recorded by earlier interpreter versions: a change that would break runs in
    // flight fails here (put it behind patched()).
    const recorded = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));
    expect(recorded.length).toBeGreaterThan(0);
    for (const file of recorded) {
      const saved = historyFromText(readFileSync(join(HISTORIES, file), 'utf8'));
      await Worker.runReplayHistory(options, saved, file);
    }
  });

  it('serves a second identical run from the cache without doing any work', async () => {
    const graphDoc = twoBranchGraph(2, 'cache');
    const first = await lab.engine.runs.start({ graph: graphDoc });
    await lab.engine.runs.waitForEnd(first.id, 60_000);
    const before = { ...calls };
    const second = await lab.engine.runs.start({ graph: graphDoc });
    const snapshot = await lab.engine.runs.waitForEnd(second.id, 60_000);
    expect(snapshot.status).toBe('succeeded');
    expect(calls).toEqual(before);
    for (const id of ['story-a', 'frames-a', 'clips-a', 'merge'])
      expect(snapshot.nodes[id].status).toBe('cached');
    expect(
      (await events(second.id)).filter((e) => e.type === 'node.cached').length,
    ).toBeGreaterThan(4);

    // A rerun from one node re-executes that node and what is downstream only.
    const rerun = await lab.engine.runs.rerun(second.id, { fromNodeId: 'clips-b' });
    const rerunSnapshot = await lab.engine.runs.waitForEnd(rerun.id, 60_000);
    expect(rerunSnapshot.nodes['clips-a'].status).toBe('cached');
    expect(rerunSnapshot.nodes['clips-b'].status).toBe('succeeded');
    expect(rerunSnapshot.nodes.merge.status).toBe('succeeded');
    expect(calls['runway-clip']).toBe(before['runway-clip'] + 2);
  });

  it('retries a transient failure on the next attempt', async () => {
    behaviour.flakyOnce = true;
    attemptsSeen.length = 0;
    try {
      const run = await lab.engine.runs.start({ graph: twoBranchGraph(1, 'retry') });
      const snapshot = await lab.engine.runs.waitForEnd(run.id, 60_000);
      expect(snapshot.status).toBe('succeeded');
      expect(attemptsSeen).toContain(2);
    } finally {
      behaviour.flakyOnce = false;
    }
  });

  it('fails a node for good, skips its descendants and still finishes the other branch', async () => {
    behaviour.failTitles.add('failure a');
    try {
      const run = await lab.engine.runs.start({ graph: twoBranchGraph(2, 'failure') });
      const snapshot = await lab.engine.runs.waitForEnd(run.id, 60_000);
      expect(snapshot.status).toBe('failed');
      expect(snapshot.nodes['frames-a'].status).toBe('failed');
      expect(snapshot.nodes['frames-a'].error).toContain('reference image of failure a is corrupt');
      expect(snapshot.nodes['clips-a'].status).toBe('skipped');
      expect(snapshot.nodes.merge.status).toBe('skipped');
      expect(snapshot.nodes['clips-b'].status).toMatch(/succeeded|cached/);
      expect(snapshot.error).toContain('frames-a');
    } finally {
      behaviour.failTitles.clear();
    }
  });

  it('cancels a run: in-flight activities are aborted and the run ends cancelled', async () => {
    behaviour.hangTitles = new Set(['cancel a', 'cancel b']);
    aborted.length = 0;
    try {
      const run = await lab.engine.runs.start({ graph: twoBranchGraph(2, 'cancel') });
      await waitFor(async () => inFlightFrames >= 1);
      const cancelledAt = Date.now();
      await lab.engine.runs.cancel(run.id);
      const snapshot = await lab.engine.runs.waitForEnd(run.id, 30_000);
      expect(snapshot.status).toBe('cancelled');
      expect(Date.now() - cancelledAt).toBeLessThan(10_000);
      expect(aborted.length).toBeGreaterThanOrEqual(1); // one GPU slot: one frame in flight
      expect(snapshot.nodes['frames-a'].status).toBe('cancelled');
    } finally {
      behaviour.hangTitles = new Set();
    }
  });

  it('cancels one node: its branch stops, the other branch finishes', async () => {
    behaviour.hangTitles = new Set(['node-cancel a']);
    try {
      const run = await lab.engine.runs.start({ graph: twoBranchGraph(2, 'node-cancel') });
      await waitFor(async () => inFlightFrames >= 1);
      // The runState query answers from the workflow itself, mid-run.
      const handle = lab.engine.temporal.client.workflow.getHandle(run.temporalWorkflowId);
      await waitFor(
        async () => (await handle.query(runStateQuery))['frames-a'].status === 'running',
      );
      const state = await handle.query(runStateQuery);
      expect(state['script-a']).toMatchObject({
        status: 'succeeded',
        outputs: { text: 'node-cancel a' },
      });
      expect(state['frames-a'].total).toBe(2);
      await lab.engine.runs.cancelNode(run.id, 'frames-a');
      const snapshot = await lab.engine.runs.waitForEnd(run.id, 60_000);
      expect(snapshot.nodes['frames-a'].status).toBe('cancelled');
      expect(snapshot.nodes['clips-a'].status).toBe('skipped');
      expect(snapshot.status).toBe('failed');
    } finally {
      behaviour.hangTitles = new Set();
    }
  });
});

describe.skipIf(unavailable)('runs whose workflow ended behind our back', () => {
  let lab: TestEngine;
  beforeAll(async () => {
    lab = await startTestEngine({ implementations });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('closes a run whose workflow was terminated outside the studio', async () => {
    behaviour.hangTitles = new Set(['terminated a', 'terminated b']);
    try {
      const run = await lab.engine.runs.start({ graph: twoBranchGraph(1, 'terminated') });
      await waitFor(async () => inFlightFrames >= 1);
      await lab.engine.temporal.client.workflow.getHandle(run.temporalWorkflowId).terminate('ops');
      expect(await lab.engine.runs.reconcileActive()).toBe(1);
      const snapshot = await lab.engine.runs.snapshot(run.id);
      expect(snapshot).toMatchObject({ status: 'failed' });
      expect(snapshot!.error).toContain('terminated');
    } finally {
      behaviour.hangTitles = new Set();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
