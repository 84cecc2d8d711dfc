/**
 * `charlab worker`: a worker process of its own (the path a GPU machine uses). It polls the
 * given task queues on Temporal and reports progress to the server's `/workers` namespace,
 * reconnecting after a server restart. Stores come from the same configuration as the server
 * (the same data dir on one machine; MongoDB/S3 across machines).
 */
import { loadNodeActivities } from '../../nodes/activities';
import { graphSchema } from '../../nodes/definitions';
import { ArtifactService } from '../artifacts/artifact-service';
import { DEFAULT_TEMPORAL_NAMESPACE, type LabConfig } from '../config';
import { readEngineInfo, workerToken } from '../engine';
import type { LineLog } from '../logging';
import { openStores } from '../stores';
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
  // A worker on the server's machine finds Temporal and the server in the data dir.
  const engineInfo = readEngineInfo(dataDir);
  const address = config.temporal.address ?? engineInfo?.temporalAddress;
  if (!address) {
    throw new Error(
      `no Temporal address: set TEMPORAL_ADDRESS, or start \`charlab serve\` first with the same LAB_DATA_DIR (${dataDir})`,
    );
  }
  const serverUrl =
    options.serverUrl ??
    config.serverUrl ??
    engineInfo?.serverUrl ??
    `http://${config.host}:${config.port}`;
  const { documents, blobs, vectors } = await openStores({ config });
  const sink = socketSink({ serverUrl, token: workerToken(dataDir, config.workerToken), log });
  const queues = options.queues ?? ALL_QUEUES;
  const workers = await startWorkers({
    address,
    namespace: config.temporal.namespace ?? engineInfo?.namespace ?? DEFAULT_TEMPORAL_NAMESPACE,
    queues,
    taskQueuePrefix: config.taskQueuePrefix,
    gpuSlots: config.gpuSlots,
    temporalLogLevel: config.temporal.logLevel,
    logFormat: config.logFormat,
    ...(config.temporal.metricsAddress ? { metricsAddress: config.temporal.metricsAddress } : {}),
    implementations: await loadNodeActivities(graphSchema.definitions),
    graph: graphSchema,
    sink,
    documents,
    blobs,
    vectors,
    artifacts: new ArtifactService(blobs, documents),
    providers: config.providers,
    log,
  });
  log(`worker polling ${queues.join(', ')} on ${address}, reporting to ${serverUrl}`);
  const stop = () => {
    log('worker stopping: in-flight activities are cancelled and retried elsewhere');
    void workers.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await workers.done;
  await sink.close();
  await documents.close();
}
