/**
 * Wires the Engine from configuration (engine/config.ts): stores (embedded or services),
 * Temporal (a cluster at TEMPORAL_ADDRESS or a dev server we launch), the event hub, the run
 * service and, for the embedded default, one in-process worker on every queue.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadNodeActivities } from '../nodes/activities';
import { graphSchema as buildGraphSchema } from '../nodes/definitions';
import type { NodeActivity } from './worker/node-api';
import { ArtifactService } from './artifacts/artifact-service';
import { ensureDemoCharacter } from './characters/demo-character';
import type { Engine, Health } from './engine-types';
import { LabError } from './errors';
import type { GraphSchema } from './graph/schema';
import { describeProviders, readConfig, type LabConfig } from './config';
import type { LineLog } from './logging';
import { EventHub } from './runs/event-hub';
import { createRunService } from './runs/run-service';
import { openStores } from './stores';
import { launchTemporal, temporalUnavailable, type TemporalStatus } from './temporal/launcher';
import { ALL_QUEUES, type QueueName } from './temporal/task-queues';
import { localSink } from './worker/progress-sink';
import { startWorkers, type RunningWorkers } from './worker/workers';

export interface CreateEngineOptions {
  /** The configuration (readConfig); read from `env` when omitted. */
  config?: LabConfig;
  /** For tests and benchmarks without a config: `readConfig(env)`; the process's by default. */
  env?: NodeJS.ProcessEnv;
  /** Overrides the configured data dir. */
  dataDir?: string;
  /** Run a worker in this process (the embedded default); which queues it polls. */
  startWorker?: boolean;
  workerQueues?: readonly QueueName[];
  /** The graph schema (node types); this build's unless a test adds its own types. */
  graph?: GraphSchema;
  /** Node implementations for the in-process worker; the real ones unless a test swaps them. */
  implementations?: Record<string, NodeActivity>;
  /** Engine and worker log lines; `fields` say which run and node a line is about. */
  log?: LineLog;
}

/** Information other local processes (a `charlab worker`) read to find this engine. */
export interface EngineInfo {
  temporalAddress: string;
  namespace: string;
  serverUrl?: string;
}

export async function createEngine(options: CreateEngineOptions = {}): Promise<Engine> {
  const config = options.config ?? readConfig(options.env);
  const dataDir = resolve(options.dataDir ?? config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const log = options.log ?? (() => {});

  const stores = await openStores({ config, dataDir });
  const { documents, blobs, vectors } = stores;
  const artifacts = new ArtifactService(blobs, documents);
  const events = new EventHub(documents);
  const { providers } = config;
  await ensureDemoCharacter(documents, artifacts, providers).catch((error: unknown) =>
    log(`demo character not created (${String(error)}); the shipped templates need one`),
  );

  const temporalServer = await launchTemporal({
    temporal: config.temporal,
    dbFilename: join(dataDir, 'temporal.db'),
    log,
  });
  const connection = await Connection.connect({ address: temporalServer.address });
  const client = new Client({ connection, namespace: temporalServer.namespace });
  writeEngineInfo(dataDir, {
    temporalAddress: temporalServer.address,
    namespace: temporalServer.namespace,
  });

  const prefix = config.taskQueuePrefix;
  const graph = options.graph ?? buildGraphSchema;
  const runs = createRunService({
    graph,
    documents,
    events,
    client,
    taskQueuePrefix: prefix,
    temporalStatus: () => temporalServer.status(),
    blobs,
    // Only a worker in this process on every queue is sure to resolve `auto` as we would.
    ...(options.startWorker && !options.workerQueues ? { workerServices: providers.services } : {}),
  });
  let workers: RunningWorkers | undefined;
  // Outlives the workers: close() lets it store what they reported before the stores close.
  const sink = localSink(events, (line) => log(line));
  if (options.startWorker) {
    workers = await startWorkers({
      address: temporalServer.address,
      namespace: temporalServer.namespace,
      queues: options.workerQueues ?? ALL_QUEUES,
      taskQueuePrefix: prefix,
      gpuSlots: config.gpuSlots,
      temporalLogLevel: config.temporal.logLevel,
      logFormat: config.logFormat,
      ...(config.temporal.metricsAddress ? { metricsAddress: config.temporal.metricsAddress } : {}),
      implementations: options.implementations ?? (await loadNodeActivities(graph.definitions)),
      graph,
      sink,
      documents,
      blobs,
      vectors,
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
    graph,
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
      taskQueuePrefix: prefix,
    },
    workerToken: workerToken(dataDir, config.workerToken),
    async health(): Promise<Health> {
      const check = async (kind: string, probe: () => Promise<boolean>) => {
        const started = performance.now();
        const result = await probe().then(
          (ok) => ({ ok }),
          (error: unknown) => ({ ok: false, error: healthError(error) }),
        );
        return { ...result, kind, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
      };
      const [temporal, documentsHealth, blobsHealth, vectorsHealth] = await Promise.all([
        check(temporalServer.process ? 'dev-server' : 'cluster', async () => {
          // While the supervisor restarts a dead dev server, say so instead of waiting on RPCs.
          const status = temporalServer.status();
          if (!status.up) throw temporalUnavailable(status);
          await connection.withDeadline(Date.now() + 2_000, () =>
            connection.healthService.check({}),
          );
          return true;
        }),
        check(documents.kind, () => documents.health()),
        check(blobs.kind, () => blobs.health()),
        check(vectors.kind, () => vectors.health()),
      ]);
      return {
        ok: temporal.ok && documentsHealth.ok && blobsHealth.ok && vectorsHealth.ok,
        temporal: {
          ...temporal,
          address: temporalServer.address,
          embedded: !!temporalServer.process,
          ...temporalHealthFields(temporalServer.status()),
        },
        documents: documentsHealth,
        blobs: blobsHealth,
        vectors: vectorsHealth,
        providers: describeProviders(providers),
      };
    },
    async close() {
      await workers?.stop();
      await sink.close();
      await connection.close();
      await temporalServer.stop();
      await stores.close();
    },
  };
  return engine;
}

/** Health's account of an outage: since when Temporal is down and how the dev server died. */
function temporalHealthFields(status: TemporalStatus): { since?: string; restarts?: number } {
  return {
    ...(status.up ? {} : { since: status.since }),
    ...(status.restarts > 0 ? { restarts: status.restarts } : {}),
  };
}

/** A store's own explanation (a LabError, e.g. a damaged database) is shown; others by code. */
function healthError(error: unknown): string {
  if (error instanceof LabError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `unreachable (${code})` : 'unreachable';
}

export function writeEngineInfo(dataDir: string, info: EngineInfo): void {
  writeFileSync(join(dataDir, 'engine.json'), `${JSON.stringify(info, null, 2)}\n`);
}

export function readEngineInfo(dataDir: string): EngineInfo | null {
  const path = join(dataDir, 'engine.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as EngineInfo) : null;
}

/**
 * The configured token (LAB_WORKER_TOKEN), else a random token kept in the data dir so local
 * workers can read it.
 */
export function workerToken(dataDir: string, configured?: string): string {
  if (configured) return configured;
  const path = join(dataDir, 'worker-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('hex');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}
