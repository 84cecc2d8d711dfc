/**
 * The engine every engine-side benchmark drives: embedded defaults (SQLite, files, one
 * in-process worker on every queue), local providers, the bench node types added, in a data
 * dir of its own. Temporal is a dev server launched here unless `TEMPORAL_ADDRESS` is passed
 * (the reduced bench in the test suite passes the suite's server and its own queue prefix).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../engine/engine';
import { testEnv } from '../engine/testing/engine-harness';
import type { Engine } from '../engine/engine-types';
import { benchImplementations, benchSchema } from './bench-nodes';

export interface BenchEngine {
  engine: Engine;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/**
 * The environment of a bench engine: a test engine's (local providers, embedded stores, its own
 * task queues), on the Temporal server `extra` names or a dev server it launches.
 */
export function benchEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = testEnv(dataDir, {
    TEMPORAL_ADDRESS: undefined,
    LAB_TASK_QUEUE_PREFIX: `bench-${randomBytes(4).toString('hex')}-`,
    ...extra,
  });
  if (!env.TEMPORAL_ADDRESS) delete env.TEMPORAL_ADDRESS;
  return env;
}

export async function startBenchEngine(
  options: { env?: NodeJS.ProcessEnv; startWorker?: boolean } = {},
): Promise<BenchEngine> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-bench-'));
  const env = benchEnv(dataDir, options.env);
  const engine = await createEngine({
    dataDir,
    env,
    startWorker: options.startWorker ?? true,
    graph: benchSchema,
    implementations: await benchImplementations(),
  });
  return {
    engine,
    dataDir,
    env,
    async close() {
      await engine.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
