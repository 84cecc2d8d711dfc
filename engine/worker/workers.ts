/**
 * Starts Temporal workers for the given task queues in this process: the interpreter
 * workflow on `lab-workflows`, node activities on `lab-cpu` / `lab-gpu` / `lab-io`.
 */
import { inspect } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { TemporalLogLevel } from '../config';
import { formatLogLine, type LogFormat, type LogLevel } from '../logging';
import { registerSecrets, scrubOptionsOf, scrubRegistered } from '../providers/scrub';
import { TASK_QUEUES, type QueueName } from '../temporal/task-queues';
import { createNodeActivities, type NodeActivityDeps } from './node-activities';
import { createReportActivities } from './report-activities';
import { workflowBundlePath } from './workflow-bundle';

export interface StartWorkersOptions extends NodeActivityDeps {
  address: string;
  namespace: string;
  queues: readonly QueueName[];
  /** `config.taskQueuePrefix` (LAB_TASK_QUEUE_PREFIX). */
  taskQueuePrefix: string;
  /** Activity slots on the GPU queue, one per GPU: `config.gpuSlots` (LAB_GPU_SLOTS). */
  gpuSlots: number;
  /**
   * What the SDK's runtime logs: `config.temporal.logLevel` (LAB_TEMPORAL_LOG_LEVEL). The
   * runtime is one per process, so the first workers started in a process set it.
   */
  temporalLogLevel: TemporalLogLevel;
  /** `config.logFormat` (LAB_LOG_FORMAT): how the SDK's log lines are written. */
  logFormat?: LogFormat;
  /**
   * `config.temporal.metricsAddress` (LAB_WORKER_METRICS_ADDRESS): the runtime serves its
   * Prometheus metrics (task slots, poll and schedule latencies, …) on `host:port`/metrics.
   */
  metricsAddress?: string;
  /**
   * The identity these workers give Temporal (default `pid@hostname`). A worker with a
   * per-worker token uses the one the server named, which is how the server tells the runs
   * Temporal dispatched to it (engine/server/worker-auth.ts).
   */
  identity?: string;
}

export interface RunningWorkers {
  /** Graceful stop: in-flight activities are cancelled and retried elsewhere. */
  stop(): Promise<void>;
  done: Promise<void>;
}

let temporalRuntimeInstalled = false;

/**
 * The SDK logs every worker state change at INFO; keep its output to warnings unless asked.
 * The runtime is one per process, and so is its metrics endpoint.
 */
function installTemporalRuntime(
  level: TemporalLogLevel,
  format: LogFormat,
  metricsAddress: string | undefined,
): void {
  if (temporalRuntimeInstalled) return;
  temporalRuntimeInstalled = true;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        // One worker per queue is deliberate: a queue with only workflows or only activities
        // is not worth a warning.
        if (/^No (activities|workflows|Nexus services) registered/.test(entry.message)) return;
        const at = new Date(Number(entry.timestampNanos / 1_000_000n));
        if (format === 'json') {
          const sdkLevel = entry.level.toLowerCase();
          const jsonLevel: LogLevel =
            sdkLevel === 'warn' || sdkLevel === 'error' || sdkLevel === 'info' ? sdkLevel : 'debug';
          // The SDK's meta names Temporal's ids (workflowId, its runId): kept apart from ours.
          // Its "Activity failed" lines carry the error: scrubbed like every other line.
          console.error(
            scrubRegistered(
              formatLogLine(
                'json',
                jsonLevel,
                entry.message,
                { source: 'temporal', temporal: entry.meta },
                at,
              ),
            ),
          );
          return;
        }
        const meta = entry.meta
          ? ` ${inspect(entry.meta, { depth: 6, breakLength: Infinity })}`
          : '';
        console.error(
          scrubRegistered(`${at.toISOString()} [${entry.level}] ${entry.message}${meta}`),
        );
      }),
      ...(metricsAddress
        ? {
            telemetryOptions: {
              metrics: {
                prometheus: { bindAddress: metricsAddress, useSecondsForDurations: true },
              },
            },
          }
        : {}),
    });
  } catch {
    // Already installed by the host process (e.g. a test): keep its logger.
  }
}

export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  // The runtime logger is per process: it scrubs with every worker's provider secrets.
  registerSecrets(scrubOptionsOf(options.providers));
  installTemporalRuntime(
    options.temporalLogLevel,
    options.logFormat ?? 'text',
    options.metricsAddress,
  );
  const connection = await NativeConnection.connect({ address: options.address });
  const reportActivities = createReportActivities(options.sink);
  const activities = { ...createNodeActivities(options), ...reportActivities };
  const workers: Worker[] = [];
  for (const queue of options.queues) {
    const common = {
      connection,
      namespace: options.namespace,
      taskQueue: `${options.taskQueuePrefix}${TASK_QUEUES[queue]}`,
      // Heartbeats carry cancellation: keep their round trip short so cancel is prompt.
      defaultHeartbeatThrottleInterval: '500 milliseconds',
      maxHeartbeatThrottleInterval: '1 second',
      shutdownGraceTime: '2 seconds',
      ...(options.identity ? { identity: options.identity } : {}),
    } as const;
    if (queue === 'workflows') {
      workers.push(
        await Worker.create({
          ...common,
          workflowBundle: { codePath: await workflowBundlePath() },
          // A workflow's next task first goes to the worker that ran its last one (sticky
          // queue) and moves to any worker only after this timeout. When that worker died with
          // its server, the default 10 s is 10 s of a run standing still after the restart;
          // replaying a history elsewhere costs far less.
          stickyQueueScheduleToStartTimeout: '2 seconds',
          // Local activities run on the worker that runs the workflow: the interpreter reports
          // its events this way (engine/interpreter/run-graph.ts).
          activities: reportActivities,
        }),
      );
    } else {
      workers.push(
        await Worker.create({
          ...common,
          activities,
          maxConcurrentActivityTaskExecutions:
            queue === 'gpu' ? options.gpuSlots : queue === 'io' ? 20 : 4,
        }),
      );
    }
  }
  const done = Promise.all(workers.map((worker) => worker.run())).then(() => undefined);
  return {
    done,
    async stop() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => {});
      await connection.close();
    },
  };
}
