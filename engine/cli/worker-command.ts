/**
 * `charlab worker [--queues lab-cpu,lab-gpu,lab-io] [--server URL]`: a worker process of its own.
 * It presents LAB_WORKER_TOKEN to the server: the cluster's shared token, or (accounts on) a
 * per-worker token `clab_wrk_…` an admin made on the Tokens page, which reports only for runs
 * Temporal dispatched to this worker and stops the worker when it is revoked.
 */
import type { LabConfig } from '../config';
import { parseQueues } from '../temporal/task-queues';
import { createLogger, lineLogOf } from '../logging';
import { runWorkerProcess } from '../worker/process';
import { parseCommand, parseServerUrl, UsageError } from './args';
import type { CliIO } from './io';

export async function workerCommand(args: string[], io: CliIO, config: LabConfig): Promise<number> {
  const { values: flags } = parseCommand(
    'worker',
    args,
    { queues: { type: 'string' }, server: { type: 'string' } },
    { min: 0, max: 0, names: '' },
  );
  let queues;
  try {
    queues = flags.queues === undefined ? undefined : parseQueues(flags.queues);
  } catch (error) {
    throw new UsageError(`--queues: ${error instanceof Error ? error.message : String(error)}`);
  }
  await runWorkerProcess({
    config,
    ...(queues ? { queues } : {}),
    ...(flags.server === undefined ? {} : { serverUrl: parseServerUrl(flags.server) }),
    log: lineLogOf(
      createLogger({ format: config.logFormat, write: (line) => io.out(line), plainText: true }),
    ),
  });
  return 0;
}
