/**
 * The engine against its floor, on one Temporal dev server: plain SDK workflows (bench/
 * raw-temporal: empty; N sequential activities; N sequential local activities) vs our
 * interpreter running graphs of the same shapes (one inline node, no activity; a chain of N
 * `bench-relay` nodes). Every timing is start → result as the caller sees it. Fresh runs
 * only here (each round gets new tags, so nothing comes from the cache); bench/cache.ts
 * measures cached runs.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Engine } from '../engine/engine-types';
import type { GraphDocument } from '../engine/graph/document';
import * as activities from './raw-temporal/activities';
import { inlineOnly, relayChain } from './bench-nodes';
import { linearFit, median, timed } from './stats';

const RAW_WORKFLOWS = fileURLToPath(new URL('./raw-temporal/workflows.ts', import.meta.url));

export interface FloorOptions {
  /** Chain lengths; the per-step cost is the slope through them, the fixed cost its intercept. */
  lengths: readonly number[];
  rounds: number;
}

/** Median milliseconds per shape; `chain[i]` is for `lengths[i]`. */
export interface RawFloor {
  empty: number;
  activities: number[];
  localActivities: number[];
  perActivity: number;
  perLocalActivity: number;
}

export interface EngineFloor {
  /** One inline node: the run record, the workflow, the events, no activity. */
  inlineOnly: number;
  chain: number[];
  perNode: number;
  /** The chain's intercept: what a run costs before its first node. */
  fixed: number;
}

/** Raw SDK workflows on the engine's Temporal server, with a worker of their own. */
export async function measureRawTemporal(engine: Engine, options: FloorOptions): Promise<RawFloor> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: RAW_WORKFLOWS,
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: (message: string) => console.warn(message),
      error: (message: string) => console.error(message),
    },
  });
  const connection = await NativeConnection.connect({ address: engine.temporal.address });
  const taskQueue = `bench-raw-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection,
    namespace: engine.temporal.namespace,
    taskQueue,
    workflowBundle: { code },
    activities,
  });
  const client = engine.temporal.client;
  const execute = async (workflow: string, args: unknown[]) =>
    (
      await timed(() =>
        client.workflow.execute(workflow, {
          taskQueue,
          workflowId: `bench-raw-${randomBytes(6).toString('hex')}`,
          args,
        }),
      )
    ).ms;
  try {
    return await worker.runUntil(async () => {
      // One warm-up of each: the first workflow task of a worker pays for its sandbox.
      await execute('emptyWorkflow', []);
      await execute('sequentialActivities', [1]);
      await execute('sequentialLocalActivities', [1]);
      const empty: number[] = [];
      const acts = options.lengths.map(() => [] as number[]);
      const locals = options.lengths.map(() => [] as number[]);
      for (let round = 0; round < options.rounds; round++) {
        empty.push(await execute('emptyWorkflow', []));
        for (const [i, n] of options.lengths.entries()) {
          acts[i].push(await execute('sequentialActivities', [n]));
          locals[i].push(await execute('sequentialLocalActivities', [n]));
        }
      }
      const activityMedians = acts.map(median);
      const localMedians = locals.map(median);
      return {
        empty: median(empty),
        activities: activityMedians,
        localActivities: localMedians,
        perActivity: fit(options.lengths, activityMedians).perItem,
        perLocalActivity: fit(options.lengths, localMedians).perItem,
      };
    });
  } finally {
    await connection.close();
  }
}

/** Our interpreter on the same server, graphs of the same shapes, every node fresh. */
export async function measureInterpreter(
  engine: Engine,
  options: FloorOptions,
): Promise<EngineFloor> {
  const tag = () => randomBytes(6).toString('hex');
  await runToEnd(engine, relayChain(1, tag())); // warm-up: the first run pays for the sandbox
  const inline: number[] = [];
  const chains = options.lengths.map(() => [] as number[]);
  for (let round = 0; round < options.rounds; round++) {
    inline.push(await runToEnd(engine, inlineOnly(tag())));
    for (const [i, n] of options.lengths.entries())
      chains[i].push(await runToEnd(engine, relayChain(n, tag())));
  }
  const chain = chains.map(median);
  const line = fit(options.lengths, chain);
  return { inlineOnly: median(inline), chain, perNode: line.perItem, fixed: line.fixed };
}

/** Starts a run and waits for its end; milliseconds from the start call to the end. */
export async function runToEnd(
  engine: Engine,
  graph: GraphDocument,
  values?: Record<string, unknown>,
): Promise<number> {
  const { ms } = await timed(async () => {
    const run = await engine.runs.start({ graph, ...(values ? { values } : {}) });
    return assertSucceeded(engine, run.id);
  });
  return ms;
}

export async function assertSucceeded(engine: Engine, runId: string): Promise<void> {
  const snapshot = await engine.runs.waitForEnd(runId, 10 * 60_000);
  if (snapshot.status !== 'succeeded')
    throw new Error(`bench run ${runId} ended ${snapshot.status}: ${snapshot.error ?? ''}`);
}

function fit(lengths: readonly number[], values: readonly number[]) {
  return linearFit(lengths.map((x, i) => ({ x, y: values[i] })));
}
