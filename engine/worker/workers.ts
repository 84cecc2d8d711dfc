/**
 * Starts Temporal workers for the given task queues in this process: the interpreter
 * workflow on `lab-workflows`, node activities on `lab-cpu` / `lab-gpu` / `lab-io`.
 */
import { NativeConnection, Worker, type ActivityInterfaceFor } from '@temporalio/worker';
import { TASK_QUEUES, type QueueName } from '../temporal/task-queues';
import { createNodeActivities, type NodeActivityDeps } from './node-activities';
import { createReportActivities } from './report-activities';
import { workflowBundlePath } from './workflow-bundle';

export interface StartWorkersOptions extends NodeActivityDeps {
  address: string;
  namespace: string;
  queues: readonly QueueName[];
  /** Activity slots on the GPU queue: one per GPU. */
  gpuSlots?: number;
}

export interface RunningWorkers {
  /** Graceful stop: in-flight activities are cancelled and retried elsewhere. */
  stop(): Promise<void>;
  done: Promise<void>;
}

export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  const connection = await NativeConnection.connect({ address: options.address });
  const activities = {
    ...createNodeActivities(options),
    ...createReportActivities(options.sink),
  } as ActivityInterfaceFor<object>;
  const workers: Worker[] = [];
  for (const queue of options.queues) {
    const common = {
      connection,
      namespace: options.namespace,
      taskQueue: TASK_QUEUES[queue],
      // Heartbeats carry cancellation: keep their round trip short so cancel is prompt.
      defaultHeartbeatThrottleInterval: '500 milliseconds',
      maxHeartbeatThrottleInterval: '1 second',
      shutdownGraceTime: '2 seconds',
    } as const;
    if (queue === 'workflows') {
      workers.push(await Worker.create({ ...common, workflowBundle: { codePath: await workflowBundlePath() } }));
    } else {
      workers.push(
        await Worker.create({
          ...common,
          activities,
          maxConcurrentActivityTaskExecutions: queue === 'gpu' ? (options.gpuSlots ?? 1) : queue === 'io' ? 20 : 4,
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
