/**
 * Run events and the run snapshot they fold into. The same fold runs in the server (stored
 * snapshot), the CLI and the browser (live view), so all three agree. Pure; no imports.
 */

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const NODE_STATUSES = [
  'pending',
  'queued',
  'running',
  'cached',
  'skipped',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const RUN_EVENT_TYPES = [
  'run.started',
  'node.started',
  'node.progress',
  'node.cached',
  'node.completed',
  'node.failed',
  'node.skipped',
  'node.cancelled',
  'run.completed',
  'run.failed',
  'run.cancelled',
] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

/** An event before the server numbers it. `key` makes delivery idempotent (retries, reconnects). */
export interface RunEventInput {
  key: string;
  runId: string;
  type: RunEventType;
  nodeId?: string;
  /** Fan-out item; absent for node-level events. */
  index?: number;
  /** Fan-out size, on node-level events of fan-out nodes. */
  total?: number;
  /** 0..1 */
  progress?: number;
  stage?: string;
  status?: NodeStatus | RunStatus;
  outputs?: Record<string, unknown>;
  error?: string;
  at: string;
}

/** A stored event: `seq` is strictly increasing per run, from 1. */
export interface RunEvent extends Omit<RunEventInput, 'key'> {
  seq: number;
}

export interface NodeSnapshot {
  status: NodeStatus;
  progress: number;
  done?: number;
  total?: number;
  stage?: string;
  outputs?: Record<string, unknown>;
  error?: string;
  startedAt?: string;
  endedAt?: string;
  /** Per fan-out item: status and progress, so the canvas can show 3/8 frames. */
  items?: Record<number, { status: NodeStatus; progress: number }>;
}

export interface RunSnapshot {
  runId: string;
  status: RunStatus;
  seq: number;
  nodes: Record<string, NodeSnapshot>;
  outputs: Record<string, Record<string, unknown>>;
  error?: string;
  /** Something a user should know about how the run ended, e.g. {@link CANCEL_CAME_LATE}. */
  note?: string;
  startedAt?: string;
  endedAt?: string;
}

/**
 * The note of a run whose cancel arrived after its last node had finished: nothing was
 * stopped, so the run reports succeeded (the interpreter's end-of-run block), not cancelled.
 */
export const CANCEL_CAME_LATE =
  'the cancel arrived after every node had finished, so nothing was stopped and the outputs stand';

export function emptySnapshot(runId: string, nodeIds: readonly string[]): RunSnapshot {
  return {
    runId,
    status: 'queued',
    seq: 0,
    nodes: Object.fromEntries(nodeIds.map((id) => [id, { status: 'pending', progress: 0 }])),
    outputs: {},
  };
}

const TERMINAL_NODE: ReadonlySet<NodeStatus> = new Set([
  'cached',
  'skipped',
  'succeeded',
  'failed',
  'cancelled',
]);

export function isTerminalRunStatus(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/** Folds one event into a snapshot (returns a new snapshot; the input is not changed). */
export function applyEvent(snapshot: RunSnapshot, event: RunEvent): RunSnapshot {
  if (event.seq <= snapshot.seq) return snapshot;
  const next: RunSnapshot = { ...snapshot, seq: event.seq, nodes: { ...snapshot.nodes } };
  switch (event.type) {
    case 'run.started':
      next.status = 'running';
      next.startedAt ??= event.at;
      return next;
    case 'run.completed':
    case 'run.failed':
    case 'run.cancelled':
      next.status =
        event.type === 'run.completed'
          ? 'succeeded'
          : event.type === 'run.failed'
            ? 'failed'
            : 'cancelled';
      next.endedAt = event.at;
      if (event.error) next.error = event.error;
      if (event.stage) next.note = event.stage;
      if (event.outputs) next.outputs = event.outputs as RunSnapshot['outputs'];
      // A run that was stopped (or ended outside the interpreter) leaves nothing running: what
      // had not finished was cancelled with it.
      if (event.type !== 'run.completed') {
        for (const [id, node] of Object.entries(next.nodes)) {
          if (!TERMINAL_NODE.has(node.status) || hasUnfinishedItems(node)) {
            next.nodes[id] = stopped(node, event.at);
          }
        }
      }
      return next;
  }
  if (!event.nodeId) return next;
  const node: NodeSnapshot = {
    ...(next.nodes[event.nodeId] ?? { status: 'pending', progress: 0 }),
  };
  next.nodes[event.nodeId] = node;
  if (event.total !== undefined) node.total = event.total;
  if (event.index !== undefined) {
    applyItemEvent(node, event);
    return next;
  }
  switch (event.type) {
    case 'node.started':
      // A worker's live report can arrive after the workflow ended the node (cancelled it,
      // say): an ended node never runs again in the same run.
      if (!TERMINAL_NODE.has(node.status)) node.status = 'running';
      node.startedAt ??= event.at;
      break;
    case 'node.progress':
      if (!TERMINAL_NODE.has(node.status)) {
        node.status = 'running';
        node.progress = clamp01(event.progress ?? node.progress);
        if (event.stage !== undefined) node.stage = event.stage;
      }
      break;
    case 'node.cached':
    case 'node.completed':
      node.status = event.type === 'node.cached' ? 'cached' : 'succeeded';
      node.progress = 1;
      node.outputs = event.outputs;
      node.endedAt = event.at;
      delete node.stage;
      break;
    case 'node.failed':
    case 'node.skipped':
    case 'node.cancelled':
      node.status =
        event.type === 'node.failed'
          ? 'failed'
          : event.type === 'node.skipped'
            ? 'skipped'
            : 'cancelled';
      node.endedAt = event.at;
      if (event.error) node.error = event.error;
      // Items still in flight (or never started) ended with their node.
      if (hasUnfinishedItems(node)) node.items = stopped(node, event.at).items;
      break;
  }
  return next;
}

function hasUnfinishedItems(node: NodeSnapshot): boolean {
  return Object.values(node.items ?? {}).some((item) => !TERMINAL_NODE.has(item.status));
}

/** The node with itself (unless already ended) and every unfinished item marked cancelled. */
function stopped(node: NodeSnapshot, at: string): NodeSnapshot {
  const ended = TERMINAL_NODE.has(node.status);
  return {
    ...node,
    ...(ended ? {} : { status: 'cancelled' as NodeStatus, endedAt: at }),
    ...(node.items
      ? {
          items: Object.fromEntries(
            Object.entries(node.items).map(([index, item]) => [
              index,
              TERMINAL_NODE.has(item.status)
                ? item
                : { ...item, status: 'cancelled' as NodeStatus },
            ]),
          ),
        }
      : {}),
  };
}

function applyItemEvent(node: NodeSnapshot, event: RunEvent): void {
  const index = event.index!;
  const items = { ...(node.items ?? {}) };
  const item = { ...(items[index] ?? { status: 'pending' as NodeStatus, progress: 0 }) };
  const nodeEnded = TERMINAL_NODE.has(node.status);
  switch (event.type) {
    case 'node.started':
      // Late live reports of an item whose node already ended do not bring it back to life:
      // it ended (was cancelled) with its node.
      if (nodeEnded && !TERMINAL_NODE.has(item.status)) item.status = 'cancelled';
      else if (!TERMINAL_NODE.has(item.status)) item.status = 'running';
      break;
    case 'node.progress':
      if (nodeEnded && !TERMINAL_NODE.has(item.status)) item.status = 'cancelled';
      else if (!TERMINAL_NODE.has(item.status)) {
        item.status = 'running';
        item.progress = clamp01(event.progress ?? item.progress);
      }
      break;
    case 'node.cached':
    case 'node.completed':
      item.status = event.type === 'node.cached' ? 'cached' : 'succeeded';
      item.progress = 1;
      break;
    case 'node.failed':
    case 'node.cancelled':
    case 'node.skipped':
      item.status =
        event.type === 'node.failed'
          ? 'failed'
          : event.type === 'node.skipped'
            ? 'skipped'
            : 'cancelled';
      break;
  }
  items[index] = item;
  node.items = items;
  if (!TERMINAL_NODE.has(node.status)) {
    node.status = 'running';
    node.startedAt ??= event.at;
    const values = Object.values(items);
    node.done = values.filter((i) => TERMINAL_NODE.has(i.status)).length;
    const total = node.total ?? values.length;
    node.progress = total === 0 ? 0 : values.reduce((sum, i) => sum + i.progress, 0) / total;
  }
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** Folds a list of events, in seq order, onto a snapshot. */
export function foldEvents(snapshot: RunSnapshot, events: readonly RunEvent[]): RunSnapshot {
  return events.reduce(applyEvent, snapshot);
}
