/**
 * `charlab worker`: a worker process of its own (the path a GPU machine uses). It polls the
 * given task queues on Temporal and reports progress to the server's `/workers` namespace,
 * reconnecting after a server restart, and follows the server's Temporal when it moves. Stores
 * come from the same configuration as the server (the same data dir on one machine;
 * MongoDB/S3 across machines).
 */
import { loadNodeActivities } from '../../nodes/activities';
import { graphSchema } from '../../nodes/definitions';
import { ArtifactService } from '../artifacts/artifact-service';
import { DEFAULT_TEMPORAL_NAMESPACE, type LabConfig } from '../config';
import { readEngineInfo, workerToken } from '../engine';
import type { LineLog } from '../logging';
import { openStores } from '../stores';
import type { TemporalEndpoint } from '../temporal/launcher';
import { ALL_QUEUES, type QueueName } from '../temporal/task-queues';
import { socketSink } from './progress-sink';
import { startWorkers } from './workers';

export interface WorkerProcessOptions {
  /** The configuration (readConfig). */
  config: LabConfig;
  queues?: readonly QueueName[];
  /** The API server's base URL, e.g. http://127.0.0.1:8080 (`--server`); beats LAB_SERVER_URL. */
  serverUrl?: string;
  log?: LineLog;
}

export async function runWorkerProcess(options: WorkerProcessOptions): Promise<void> {
  const { config } = options;
  const log: LineLog = options.log ?? ((line: string) => console.log(line));
  const { dataDir } = config;
  // A worker on the server's machine finds Temporal and the server in the data dir; the server
  // also says where its Temporal is on every connect, and that wins unless TEMPORAL_ADDRESS
  // pins one: an embedded dev server can move to a new port when the server restarts.
  const engineInfo = readEngineInfo(dataDir);
  const pinned = config.temporal.address;
  const serverUrl =
    options.serverUrl ??
    config.serverUrl ??
    engineInfo?.serverUrl ??
    `http://${config.host}:${config.port}`;
  const { documents, blobs, vectors } = await openStores({ config });
  const queues = options.queues ?? ALL_QUEUES;
  const implementations = await loadNodeActivities(graphSchema.definitions);

  let endpoint: TemporalEndpoint | undefined =
    (pinned ?? engineInfo?.temporalAddress)
      ? {
          address: (pinned ?? engineInfo?.temporalAddress)!,
          namespace:
            config.temporal.namespace ?? engineInfo?.namespace ?? DEFAULT_TEMPORAL_NAMESPACE,
        }
      : undefined;
  let announced: (endpoint: TemporalEndpoint) => void = () => {};
  const token = workerToken(dataDir, config.workerToken);
  // A per-worker token (made by an admin on the Tokens page) reports only for runs Temporal
  // dispatched to it: its Temporal workers poll with the identity the server names, so they
  // cannot start before the server has accepted the token.
  const perWorkerToken = token.startsWith('clab_wrk_');
  let identity: string | undefined;
  let identified: (identity: string) => void = () => {};
  let refusedReason: string | undefined;
  let refused: (reason: string) => void = (reason) => (refusedReason ??= reason);
  const sink = socketSink({
    serverUrl,
    token,
    log,
    onTemporal: (hello) => {
      if (hello.identity && !identity) {
        identity = hello.identity;
        identified(hello.identity);
      }
      announced({ address: hello.address, namespace: hello.namespace });
    },
    ...(perWorkerToken ? { onUnauthorized: (reason: string) => refused(reason) } : {}),
  });
  const tokenRefused = () =>
    new Error(
      `the server at ${serverUrl} refused this worker token (${refusedReason}): it is unknown or was revoked; make a new one on the Tokens page and set LAB_WORKER_TOKEN`,
    );
  if (perWorkerToken && !identity) {
    log(`waiting for the server at ${serverUrl} to accept this worker token`);
    const accepted = await new Promise<boolean>((resolve) => {
      identified = () => resolve(true);
      refused = (reason) => {
        refusedReason ??= reason;
        resolve(false);
      };
    });
    if (!accepted) {
      await sink.close(0);
      await documents.close();
      throw tokenRefused();
    }
  }
  if (!endpoint) {
    log(`no Temporal address yet: waiting for the server at ${serverUrl} to say where it is`);
    endpoint = await new Promise<TemporalEndpoint>((resolve) => (announced = resolve));
  }

  const start = (at: TemporalEndpoint) =>
    startWorkers({
      address: at.address,
      namespace: at.namespace,
      queues,
      taskQueuePrefix: config.taskQueuePrefix,
      gpuSlots: config.gpuSlots,
      temporalLogLevel: config.temporal.logLevel,
      logFormat: config.logFormat,
      ...(config.temporal.metricsAddress ? { metricsAddress: config.temporal.metricsAddress } : {}),
      implementations,
      graph: graphSchema,
      sink,
      documents,
      blobs,
      vectors,
      artifacts: new ArtifactService(blobs, documents),
      providers: config.providers,
      log,
      ...(identity ? { identity } : {}),
    });
  let current = { endpoint, workers: await start(endpoint) };
  log(`worker polling ${queues.join(', ')} on ${endpoint.address}, reporting to ${serverUrl}`);

  let stopping = false;
  // Moves are applied one at a time, in the order the server announced them.
  let moving: Promise<void> = Promise.resolve();
  announced = (told) => {
    moving = moving.then(async () => {
      if (stopping || sameEndpoint(told, current.endpoint)) return;
      if (pinned) {
        log(
          `the server's Temporal is at ${told.address}, but TEMPORAL_ADDRESS pins ${pinned}: staying there`,
        );
        return;
      }
      log(
        `the server's Temporal moved from ${current.endpoint.address} to ${told.address}: restarting this worker's Temporal workers there`,
      );
      const old = current;
      // The old address is usually dead: its workers may not finish a graceful stop, and
      // waiting on them must not keep the new ones from starting.
      await Promise.race([old.workers.stop(), sleep(OLD_WORKERS_STOP_MS)]);
      current = { endpoint: told, workers: await start(told) };
      log(`worker polling ${queues.join(', ')} on ${told.address}`);
    });
    moving = moving.catch((error: unknown) => {
      log(`could not move this worker to ${told.address}: ${String(error)}`);
    });
  };

  const stop = () => {
    stopping = true;
    log('worker stopping: in-flight activities are cancelled and retried elsewhere');
    void moving.then(() => current.workers.stop());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A revoked token will not heal: tasks this worker took now could report nothing.
  refused = (reason) => {
    if (refusedReason !== undefined) return;
    refusedReason = reason;
    log(`the server refused this worker token (${reason}): stopping`);
    stop();
  };
  // The workers finish when stopped, or when replaced after a move: then wait on the new ones.
  for (;;) {
    const running = current;
    await running.workers.done.catch((error: unknown) => {
      if (running === current) throw error;
    });
    await moving;
    if (running === current || stopping) break;
  }
  await current.workers.done.catch(() => {});
  await sink.close(refusedReason === undefined ? undefined : 0);
  await documents.close();
  if (refusedReason !== undefined) throw tokenRefused();
}

/** How long a move waits for the workers on the old address to stop before starting anew. */
const OLD_WORKERS_STOP_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function sameEndpoint(a: TemporalEndpoint, b: TemporalEndpoint): boolean {
  return a.address === b.address && a.namespace === b.namespace;
}
