/**
 * The one interpreter workflow: runs any compiled graph (ExecutionPlan) durably. Each node is
 * a memoised promise awaiting its parents, so independent branches run in parallel without a
 * scheduler loop. Fan-out nodes run one activity per item with a concurrency limit. A failed
 * or cancelled node skips its descendants; other branches finish.
 *
 * Temporal sandbox rules: no Node built-ins, no module-level mutable state, every promise
 * handled. Imports are types only, plus @temporalio/workflow.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  defineQuery,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  type ActivityOptions,
} from '@temporalio/workflow';
import { fanOutList } from '../graph/fan-out';
import { cachedNodeReports, collectItems, leafOutputs, wireInputs } from './plan-values';
import {
  CANCEL_CAME_LATE,
  type NodeStatus,
  type RunEventInput,
  type RunEventType,
} from '../runs/events';
import { lifecycleEventKey } from '../runs/event-keys';
import type {
  ActivityStep,
  ExecutionPlan,
  NodeActivityInput,
  NodeActivityResult,
  PlanNode,
} from '../graph/plan';
import { TASK_QUEUES } from '../temporal/task-queues';
import type { ReportActivities } from '../worker/report-activities';

export interface RunGraphInput {
  runId: string;
  plan: ExecutionPlan;
  /** Prepended to every task queue, so several studios can share one Temporal namespace. */
  taskQueuePrefix?: string;
}

export interface NodeState {
  status: NodeStatus;
  done?: number;
  total?: number;
  outputs?: Record<string, unknown>;
  error?: string;
}

export interface RunGraphResult {
  status: 'succeeded' | 'failed';
  nodes: Record<string, NodeState>;
  /** Outputs of the nodes nothing else consumes: the run's results. */
  outputs: Record<string, Record<string, unknown>>;
}

export const runStateQuery = defineQuery<Record<string, NodeState>>('runState');
export const cancelNodeSignal = defineSignal<[nodeId: string]>('cancelNode');

/** Thrown inside a node to mark it skipped because a parent did not succeed. */
class SkippedError extends Error {}

type NodeActivity = (input: NodeActivityInput) => Promise<NodeActivityResult>;
/** One activity type per node type; per-node options are set on each call. */
const nodeActivities = proxyActivities<Record<string, NodeActivity>>({
  startToCloseTimeout: '10 minutes',
});

export async function runGraph({
  runId,
  plan,
  taskQueuePrefix = '',
}: RunGraphInput): Promise<RunGraphResult> {
  const state: Record<string, NodeState> = Object.fromEntries(
    plan.order.map((id) => [id, { status: 'pending' as NodeStatus }]),
  );
  const nodeScopes = new Map<string, CancellationScope>();
  const cancelledNodes = new Set<string>();
  // Runs since this patch report in-flight fan-out items as cancelled, and a cancel that came
  // after every node had finished as the success it was (see the end of this function).
  const truthfulCancel = patched('truthful-cancel');
  const started = new Map<string, Promise<Record<string, unknown>>>();
  // Runs started before this patch report every event through a regular activity on lab-cpu,
  // under counter keys; newer runs use a local activity and shared lifecycle keys, let workers
  // report lifecycle events live, and store a node's parents' completion before it starts.
  const liveEvents = patched('live-lifecycle-events');
  const { reportEvents } = liveEvents
    ? proxyLocalActivities<ReportActivities>({
        // A local activity runs in the workflow worker and costs no task-queue round trip. Its
        // timeout is short and its retries frequent, so a run reporting into a restarting
        // server moves again within a second or two of the server being back; events of a
        // timed-out attempt stay queued in the worker's sink, so nothing is lost. No attempt
        // limit: events must not be lost while the server is down.
        startToCloseTimeout: '5 seconds',
        retry: { initialInterval: '250 milliseconds', maximumInterval: '2 seconds' },
      })
    : proxyActivities<ReportActivities>({
        taskQueue: `${taskQueuePrefix}${TASK_QUEUES.cpu}`,
        // Short: a report stuck on a dead worker is retried elsewhere instead of holding the
        // run for the old 30 s.
        startToCloseTimeout: '10 seconds',
        retry: { initialInterval: '1 second', maximumInterval: '2 seconds' },
      });
  const events = createEventReporter(runId, reportEvents, liveEvents);

  setHandler(runStateQuery, () => state);
  setHandler(cancelNodeSignal, (nodeId) => {
    if (!(nodeId in state)) return;
    cancelledNodes.add(nodeId);
    nodeScopes.get(nodeId)?.cancel();
  });

  const run = (id: string): Promise<Record<string, unknown>> => {
    let promise = started.get(id);
    if (!promise) {
      promise = execNode(plan.nodes[id]);
      started.set(id, promise);
    }
    return promise;
  };

  async function execNode(node: PlanNode): Promise<Record<string, unknown>> {
    const st = state[node.id];
    const parentResults = await Promise.allSettled(node.parents.map(run));
    const blocked = node.parents.filter((_, i) => parentResults[i].status === 'rejected');
    if (blocked.length > 0) {
      st.status = 'skipped';
      st.error = `skipped: ${blocked.join(', ')} did not succeed`;
      events.emit('node.skipped', { nodeId: node.id, status: 'skipped', error: st.error });
      throw new SkippedError(st.error);
    }
    if (cancelledNodes.has(node.id)) return markCancelled(node.id);
    const parentOutputs = new Map(
      node.parents.map((p, i) => [
        p,
        (parentResults[i] as PromiseFulfilledResult<Record<string, unknown>>).value,
      ]),
    );
    const inputs = wireInputs(node, parentOutputs);

    if (node.step.kind === 'constant' && node.step.cached) {
      // Answered from the cache by the server before the run started: reported as a hit.
      const { items } = node.step.cached;
      st.status = 'cached';
      st.outputs = node.step.outputs;
      if (items) st.total = st.done = items.length;
      for (const { type, fields } of cachedNodeReports(node.id, st.outputs, items)) {
        events.emit(type, fields);
      }
      return st.outputs;
    }
    if (node.step.kind === 'constant') {
      st.status = 'succeeded';
      st.outputs = node.step.outputs;
      events.emit('node.completed', { nodeId: node.id, status: 'succeeded', outputs: st.outputs });
      return st.outputs;
    }

    const step = node.step;
    // The worker reports this node's start itself: its parents' completion (reported by the
    // workflow) must be stored first, so watchers never see a child start before its parent
    // ended. A fan-out node flushes before its items anyway (runActivityNode).
    if (liveEvents && !step.fanOut && node.parents.length > 0) {
      await events.flush();
      if (cancelledNodes.has(node.id)) return markCancelled(node.id); // cancelled meanwhile
    }
    const scope = new CancellationScope();
    nodeScopes.set(node.id, scope);
    st.status = 'running';
    try {
      const { outputs, cached } = await scope.run(() => runActivityNode(node, step, inputs));
      st.status = cached ? 'cached' : 'succeeded';
      st.outputs = outputs;
      events.emit(cached ? 'node.cached' : 'node.completed', {
        nodeId: node.id,
        status: st.status,
        outputs,
        ...(st.total !== undefined ? { total: st.total } : {}),
      });
      return outputs;
    } catch (error) {
      if (isCancellation(error) || cancelledNodes.has(node.id)) {
        if (!CancellationScope.current().consideredCancelled && cancelledNodes.has(node.id)) {
          return markCancelled(node.id);
        }
        st.status = 'cancelled';
        events.emit('node.cancelled', { nodeId: node.id, status: 'cancelled' });
        throw error;
      }
      st.status = 'failed';
      st.error = describeError(error);
      events.emit('node.failed', { nodeId: node.id, status: 'failed', error: st.error });
      throw error;
    } finally {
      nodeScopes.delete(node.id);
    }
  }

  function markCancelled(nodeId: string): never {
    state[nodeId].status = 'cancelled';
    state[nodeId].error = 'cancelled by the user';
    events.emit('node.cancelled', { nodeId, status: 'cancelled', error: state[nodeId].error });
    throw ApplicationFailure.nonRetryable(`node ${nodeId} was cancelled`, 'NodeCancelled');
  }

  async function runActivityNode(
    node: PlanNode,
    step: ActivityStep,
    inputs: Record<string, unknown>,
  ): Promise<NodeActivityResult> {
    const useCache = step.cacheable && !plan.forceRun.includes(node.id);
    const base: Omit<NodeActivityInput, 'index' | 'total'> = {
      runId,
      nodeId: node.id,
      type: node.type,
      typeVersion: node.typeVersion,
      params: node.params,
      inputs,
      useCache,
      ...(liveEvents ? { liveEvents: true } : {}),
    };
    if (!step.fanOut) return callActivity(node, step, base);

    const items = fanOutList(inputs[step.fanOut.input], step.fanOut.path);
    if (!items) {
      throw ApplicationFailure.nonRetryable(
        `fan-out input "${step.fanOut.input}" of ${node.id} is not a list`,
        'BadFanOutInput',
      );
    }
    const st = state[node.id];
    st.total = items.length;
    st.done = 0;
    events.emit('node.started', { nodeId: node.id, status: 'running', total: items.length });
    await events.flush(); // watchers learn the item count before the first item reports
    let allCached = true;
    // One failed item cancels its in-flight siblings: the node has failed either way.
    const fanOutScope = new CancellationScope();
    const results = await fanOutScope.run(() =>
      mapWithLimit(items.length, step.maxParallel, async (index) => {
        try {
          const reroll = plan.rerolls?.[node.id]?.[String(index)] ?? 0;
          const result = await callActivity(node, step, {
            ...base,
            index,
            total: items.length,
            ...(reroll > 0 ? { reroll } : {}),
          });
          st.done = (st.done ?? 0) + 1;
          allCached &&= result.cached;
          events.emit(result.cached ? 'node.cached' : 'node.completed', {
            nodeId: node.id,
            index,
            status: result.cached ? 'cached' : 'succeeded',
            outputs: result.outputs,
          });
          return result.outputs;
        } catch (error) {
          if (isCancellation(error) && truthfulCancel) {
            // The item was stopped in flight: say so, or watchers would see it running forever.
            events.emit('node.cancelled', { nodeId: node.id, index, status: 'cancelled' });
          } else if (!isCancellation(error)) {
            events.emit('node.failed', {
              nodeId: node.id,
              index,
              status: 'failed',
              error: describeError(error),
            });
            fanOutScope.cancel();
          }
          throw error;
        }
      }),
    );
    return { outputs: collectItems(step, results), cached: allCached };
  }

  function callActivity(
    node: PlanNode,
    step: ActivityStep,
    input: NodeActivityInput,
  ): Promise<NodeActivityResult> {
    const options: ActivityOptions = {
      taskQueue: `${taskQueuePrefix}${step.taskQueue}`,
      startToCloseTimeout: `${step.startToCloseSec} seconds`,
      heartbeatTimeout: `${step.heartbeatSec} seconds`,
      // A cancelled node ends only once its activity has really stopped (killed ffmpeg, etc.).
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: {
        maximumAttempts: step.retry.maximumAttempts,
        initialInterval: `${step.retry.initialIntervalSec} seconds`,
        backoffCoefficient: step.retry.backoffCoefficient,
        nonRetryableErrorTypes: ['NonRetryableNodeError', 'BadInput'],
      },
      activityId: input.index === undefined ? node.id : `${node.id}[${input.index}]`,
      summary: `${node.type} ${node.id}${input.index === undefined ? '' : ` #${input.index + 1}`}`,
    };
    return nodeActivities[step.activityType].executeWithOptions(options, [input]);
  }

  events.emit('run.started', { status: 'running' });
  // Stored before any node reports, so every watcher sees run.started first.
  await events.flush();
  const runScope = new CancellationScope();
  await runScope.run(() => Promise.allSettled(plan.order.map(run)));

  const outputs = leafOutputs(plan, state);
  // A cancel that arrives once every node has finished (say, while the merge was returning its
  // video) stopped nothing: the outputs exist and are complete. Reporting the run cancelled
  // next to five succeeded nodes and a stored video would be a lie, so the run ends as what it
  // was — succeeded (or failed) — with a note that the cancel came too late.
  const stoppedSomething = plan.order.some((id) =>
    ['pending', 'running', 'cancelled'].includes(state[id].status),
  );
  const cancelCameLate =
    truthfulCancel && CancellationScope.current().consideredCancelled && !stoppedSomething;
  if (CancellationScope.current().consideredCancelled && !cancelCameLate) {
    for (const id of plan.order) {
      const st = state[id];
      if (st.status === 'pending' || st.status === 'running') {
        st.status = 'cancelled';
        events.emit('node.cancelled', { nodeId: id, status: 'cancelled' });
      }
    }
    events.emit('run.cancelled', { status: 'cancelled' });
    await CancellationScope.nonCancellable(() => events.flush());
    throw new CancelledFailure('run cancelled');
  }
  const failed = plan.order.filter((id) => ['failed', 'cancelled'].includes(state[id].status));
  if (failed.length > 0) {
    const error = failed.map((id) => `${id}: ${state[id].error ?? state[id].status}`).join('; ');
    events.emit('run.failed', { status: 'failed', error, outputs });
    await events.flush();
    return { status: 'failed', nodes: state, outputs };
  }
  events.emit('run.completed', {
    status: 'succeeded',
    outputs,
    ...(cancelCameLate ? { stage: CANCEL_CAME_LATE } : {}),
  });
  await events.flush();
  return { status: 'succeeded', nodes: state, outputs };
}

/** Runs `count` tasks with at most `limit` in flight; deterministic under replay. */
async function mapWithLimit<T>(
  count: number,
  limit: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < count && failure === undefined) {
      const index = next++;
      try {
        results[index] = await task(index);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, count)) }, lane));
  if (failure !== undefined) throw failure;
  return results;
}

function describeError(error: unknown): string {
  let current = error;
  // Activity failures wrap the real error (ApplicationFailure) as `cause`.
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  if (current instanceof Error) return current.message;
  return String(current);
}

/**
 * Reports workflow-side events (node lifecycle, run status) through an activity, in order:
 * batches are sent one after another, so the server sees them in emit order. Events emitted
 * while a batch is on its way go out together in the next one: one activity per batch.
 *
 * With `sharedKeys` (runs since the `live-lifecycle-events` patch) a node's or item's
 * completion carries the key the worker's live copy carries (engine/runs/event-keys.ts), so
 * the store keeps one of the two. Other events keep counter keys: deterministic under replay,
 * unique within the run.
 */
function createEventReporter(
  runId: string,
  reportEvents: ReportActivities['reportEvents'],
  sharedKeys: boolean,
) {
  let pending: RunEventInput[] = [];
  let chain: Promise<void> = Promise.resolve();
  let counter = 0;
  let flushScheduled = false;
  let failure: unknown;

  const send = async (): Promise<void> => {
    flushScheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      await CancellationScope.nonCancellable(() => reportEvents(batch));
    } catch (error) {
      // Kept for flush(): an unhandled rejection would fail the workflow task forever.
      failure ??= error;
    }
  };

  return {
    emit(type: RunEventType, fields: Partial<RunEventInput>): void {
      counter += 1;
      const shared =
        sharedKeys && fields.nodeId !== undefined && SHARED_TYPES.includes(type)
          ? lifecycleEventKey(type, fields.nodeId, fields.index)
          : undefined;
      pending.push({
        key: shared ?? `wf:${counter}:${type}:${fields.nodeId ?? ''}:${fields.index ?? ''}`,
        runId,
        type,
        at: new Date().toISOString(),
        ...fields,
      });
      if (!flushScheduled) {
        flushScheduled = true;
        chain = chain.then(send);
      }
    },
    async flush(): Promise<void> {
      chain = chain.then(send);
      await chain;
      if (failure !== undefined) throw failure;
    },
  };
}

/** What a worker reports live as well (engine/worker/node-activities.ts reportCompletion). */
const SHARED_TYPES: readonly RunEventType[] = ['node.completed', 'node.cached'];
