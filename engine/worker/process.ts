/**
 * `charlab worker`: a worker process of its own (the path a GPU machine uses). It polls the
 * given task queues on Temporal and reports progress to the server's `/workers` namespace,
 * reconnecting after a server restart. Stores come from the same configuration as the server
 * (the same data dir on one machine; MongoDB/S3 across machines).
 */
import { NODE_ACTIVITIES } from '../../nodes/activities';
import { ArtifactService } from '../artifacts/artifact-service';
import { providerConfigFromEnv } from '../providers/config';
import { readRuntimeInfo, resolveDataDir, workerToken } from '../runtime';
import { openStores } from '../stores';
import { ALL_QUEUES, taskQueuePrefix, type QueueName } from '../temporal/task-queues';
import { socketSink } from './progress-sink';
import { startWorkers } from './workers';

export interface WorkerProcessOptions {
  queues?: readonly QueueName[];
  /** The API server's base URL, e.g. http://127.0.0.1:8080. */
  serverUrl?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export async function runWorkerProcess(options: WorkerProcessOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = resolveDataDir(env, options.dataDir);
  const runtime = readRuntimeInfo(dataDir);
  const address = env.TEMPORAL_ADDRESS || runtime?.temporalAddress;
  if (!address) {
    throw new Error(
      `no Temporal address: set TEMPORAL_ADDRESS, or start \`charlab serve\` first with the same LAB_DATA_DIR (${dataDir})`,
    );
  }
  const serverUrl =
    options.serverUrl ??
    env.LAB_SERVER_URL ??
    runtime?.serverUrl ??
    `http://${env.HOST || '127.0.0.1'}:${env.PORT || '8080'}`;
  const { documents, blobs } = await openStores({ dataDir, env });
  const sink = socketSink({ serverUrl, token: workerToken(dataDir, env), log });
  const queues = options.queues ?? ALL_QUEUES;
  const workers = await startWorkers({
    address,
    namespace: env.TEMPORAL_NAMESPACE || runtime?.namespace || 'default',
    queues,
    taskQueuePrefix: taskQueuePrefix(env),
    implementations: NODE_ACTIVITIES,
    sink,
    documents,
    blobs,
    artifacts: new ArtifactService(blobs, documents),
    providers: providerConfigFromEnv(env),
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
