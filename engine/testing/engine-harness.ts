/**
 * Test harness: a real Engine on embedded stores in a temp data dir, connected to the shared
 * Temporal dev server started by global-setup.ts, with its own task-queue prefix so test files
 * running at once never take each other's tasks. Provider keys are cleared: local providers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeActivity } from '../worker/node-api';
import type { Engine } from '../engine-types';
import { createEngine } from '../engine';
import type { QueueName } from '../temporal/task-queues';
import type { LineLog } from '../logging';

export interface TestEngine {
  engine: Engine;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Why Temporal tests cannot run here, or undefined when they can. CI never gets here (setup fails). */
export function temporalUnavailable(): string | undefined {
  return process.env.TEMPORAL_TEST_ADDRESS
    ? undefined
    : (process.env.TEMPORAL_TEST_UNAVAILABLE ?? 'no Temporal test server');
}

/** The environment a test engine (and any worker process it spawns) runs with. */
export function testEnv(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LAB_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
    LAB_TASK_QUEUE_PREFIX: `test-${randomBytes(4).toString('hex')}-`,
    ...extra,
  };
  for (const key of [
    'OPENAI_API_KEY',
    'SD_API_URL',
    'RUNWAY_API_KEY',
    'MONGODB_URL',
    'S3_ENDPOINT',
    'QDRANT_URL',
    'LAB_REDIS_URL',
  ]) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

export interface StartTestEngineOptions {
  startWorker?: boolean;
  env?: NodeJS.ProcessEnv;
  implementations?: Record<string, NodeActivity>;
  /** Queues the in-process worker polls (all by default). */
  workerQueues?: readonly QueueName[];
  /** Engine and worker log lines (tests of what gets logged). */
  log?: LineLog;
}

export async function startTestEngine(options: StartTestEngineOptions = {}): Promise<TestEngine> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-test-'));
  const env = testEnv(dataDir, options.env);
  const engine = await createEngine({
    dataDir,
    env,
    startWorker: options.startWorker ?? true,
    ...(options.implementations ? { implementations: options.implementations } : {}),
    ...(options.workerQueues ? { workerQueues: options.workerQueues } : {}),
    ...(options.log ? { log: options.log } : {}),
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
