/**
 * Task queue names, in one place (STYLE: queues live in one shared module). Workers and runs
 * put `config.taskQueuePrefix` (LAB_TASK_QUEUE_PREFIX) before each, so several studios (or test
 * suites) share one Temporal namespace.
 */
export const TASK_QUEUES = {
  workflows: 'lab-workflows',
  cpu: 'lab-cpu',
  gpu: 'lab-gpu',
  io: 'lab-io',
} as const;

export type QueueName = keyof typeof TASK_QUEUES;

export const ALL_QUEUES: readonly QueueName[] = ['workflows', 'cpu', 'gpu', 'io'];

/** Parses `--queues lab-cpu,lab-gpu` (or `cpu,gpu`) into queue names, rejecting unknown ones. */
export function parseQueues(value: string): QueueName[] {
  const byName = new Map<string, QueueName>();
  for (const [name, queue] of Object.entries(TASK_QUEUES)) {
    byName.set(name, name as QueueName);
    byName.set(queue, name as QueueName);
  }
  const queues = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const unknown = queues.filter((q) => !byName.has(q));
  if (unknown.length > 0 || queues.length === 0) {
    throw new Error(
      `unknown task queue ${unknown.join(', ') || '(none given)'}: use any of ${Object.values(TASK_QUEUES).join(', ')}`,
    );
  }
  return [...new Set(queues.map((q) => byName.get(q)!))];
}
