/**
 * Wires the Engine from configuration: stores (embedded or services), Temporal (a cluster at
 * TEMPORAL_ADDRESS or a dev server we launch), the event hub, the run service and, for the
 * embedded default, one in-process worker on every queue.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NODE_ACTIVITIES } from '../nodes/activities';
import type { NodeActivity } from '../nodes/activity-types';
import { ArtifactService } from './artifacts/artifact-service';
import { ensureDemoCharacter } from './characters/demo-character';
import type { Engine, Health } from './engine-types';
import { describeProviders, providerConfigFromEnv } from './providers/config';
import { EventHub } from './runs/event-hub';
import { createRunService } from './runs/run-service';
import { openStores } from './stores';
import { launchTemporal } from './temporal/launcher';
import { ALL_QUEUES, taskQueuePrefix, type QueueName } from './temporal/task-queues';
import { localSink } from './worker/progress-sink';
import { startWorkers, type RunningWorkers } from './worker/workers';

export interface CreateEngineOptions {
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Run a worker in this process (the embedded default); which queues it polls. */
  startWorker?: boolean;
  workerQueues?: readonly QueueName[];
  /** Node implementations for the in-process worker; the real ones unless a test swaps them. */
  implementations?: Record<string, NodeActivity>;
  log?: (line: string) => void;
}

/** Information other local processes (a `charlab worker`) read to find this engine. */
export interface RuntimeInfo {
  temporalAddress: string;
  namespace: string;
  serverUrl?: string;
}

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, dataDir?: string): string {
  return resolve(dataDir ?? env.LAB_DATA_DIR ?? '.lab');
}

export async function createEngine(options: CreateEngineOptions = {}): Promise<Engine> {
  const env = options.env ?? process.env;
  const dataDir = resolveDataDir(env, options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const log = options.log ?? (() => {});

  const stores = await openStores({ dataDir, env });
  const { documents, blobs, vectors } = stores;
  const artifacts = new ArtifactService(blobs, documents);
  const events = new EventHub(documents);
  const providers = providerConfigFromEnv(env);
  await ensureDemoCharacter(documents, artifacts, providers).catch((error: unknown) =>
    log(`demo character not created (${String(error)}); the shipped templates need one`),
  );

  const temporalServer = await launchTemporal({
    dbFilename: join(dataDir, 'temporal.db'),
    env,
    log,
  });
  const connection = await Connection.connect({ address: temporalServer.address });
  const client = new Client({ connection, namespace: temporalServer.namespace });
  writeRuntimeInfo(dataDir, {
    temporalAddress: temporalServer.address,
    namespace: temporalServer.namespace,
  });

  const prefix = taskQueuePrefix(env);
  const runs = createRunService({ documents, events, client, taskQueuePrefix: prefix });
  let workers: RunningWorkers | undefined;
  if (options.startWorker) {
    workers = await startWorkers({
      address: temporalServer.address,
      namespace: temporalServer.namespace,
      queues: options.workerQueues ?? ALL_QUEUES,
      taskQueuePrefix: prefix,
      implementations: options.implementations ?? NODE_ACTIVITIES,
      sink: localSink(events),
      documents,
      blobs,
      artifacts,
      providers,
      log,
    });
  }

  // Runs whose workflow ended while nobody listened (terminated, say) are closed in the
  // background, so they neither look running forever nor count against the run cap.
  void runs
    .reconcileActive()
    .then((closed) => closed > 0 && log(`closed ${closed} run(s) whose workflow had already ended`))
    .catch((error: unknown) => log(`could not check unfinished runs: ${String(error)}`));

  const engine: Engine = {
    dataDir,
    documents,
    blobs,
    vectors,
    artifacts,
    events,
    runs,
    providers,
    temporal: {
      address: temporalServer.address,
      namespace: temporalServer.namespace,
      client,
      embedded: !!temporalServer.process,
    },
    workerToken: workerToken(dataDir, env),
    async health(): Promise<Health> {
      const check = async (probe: () => Promise<boolean>) => probe().catch(() => false);
      const [temporalOk, documentsOk, blobsOk, vectorsOk] = await Promise.all([
        check(async () => {
          await connection.healthService.check({});
          return true;
        }),
        check(() => documents.health()),
        check(() => blobs.health()),
        check(() => vectors.health()),
      ]);
      return {
        ok: temporalOk && documentsOk && blobsOk && vectorsOk,
        temporal: {
          ok: temporalOk,
          address: temporalServer.address,
          embedded: !!temporalServer.process,
        },
        documents: { ok: documentsOk, kind: documents.kind },
        blobs: { ok: blobsOk, kind: blobs.kind },
        vectors: { ok: vectorsOk, kind: vectors.kind },
        providers: describeProviders(providers),
      };
    },
    async close() {
      await workers?.stop();
      await connection.close();
      await temporalServer.stop();
      await stores.close();
    },
  };
  return engine;
}

export function writeRuntimeInfo(dataDir: string, info: RuntimeInfo): void {
  writeFileSync(join(dataDir, 'runtime.json'), `${JSON.stringify(info, null, 2)}\n`);
}

export function readRuntimeInfo(dataDir: string): RuntimeInfo | null {
  const path = join(dataDir, 'runtime.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RuntimeInfo) : null;
}

/** LAB_WORKER_TOKEN, else a random token kept in the data dir so local workers can read it. */
export function workerToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAB_WORKER_TOKEN) return env.LAB_WORKER_TOKEN;
  const path = join(dataDir, 'worker-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
