/**
 * `GET /metrics`: the API's Prometheus metrics (prom-client), one Registry per server so
 * several servers in one process (tests) never share series.
 *
 * Where each series comes from:
 * - `charlab_runs{status}` — counted at scrape time from the document store over the newest
 *   RUN_WINDOW runs (the same bounded query `reconcileActive` uses), so every replica reports
 *   the store's truth, restarts lose nothing, and queued/running are exact as long as fewer
 *   than RUN_WINDOW runs started since the oldest active one. Aggregate replicas with max().
 * - `charlab_node_duration_seconds{node_type,provider,status}`, `charlab_node_cache_hits_total`
 *   and `charlab_nodes_running` — from run events (EventHub.tap). Starts are remembered from
 *   every event this replica sees (also those other replicas relay), but a duration or a cache
 *   hit is counted only by the replica that stored its event, so summing replicas counts each
 *   once even when a node's start and end reach different replicas. A duration is node.started →
 *   node.completed/failed of one activity execution (a node, or one fan-out item; the
 *   fan-out node's own start/end pair is left out so items are not counted twice), first start
 *   to end, retries included. node_type and provider come from the run's plan; `auto` is
 *   resolved against this server's provider configuration (DESIGN §7: the keys live here too).
 * - `charlab_run_watchers` — sockets in run rooms (each run:watch joins one) on this replica.
 * - `charlab_task_queue_backlog{queue,type}` — Temporal's DescribeTaskQueue approximate
 *   backlog, asked at scrape time.
 * - prom-client's default process metrics.
 */
import type { FastifyInstance } from 'fastify';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type LabelValues,
} from 'prom-client';
import type { Server as SocketServer } from 'socket.io';
import type { Engine } from '../engine-types';
import { chooseProvider } from '../providers/choice';
import { RUN_STATUSES, type RunEvent } from '../runs/events';
import { ALL_QUEUES, TASK_QUEUES } from '../temporal/task-queues';
import type { ServerLog } from './context';
import { roomOf } from './sockets';

/** How many of the newest runs `charlab_runs` counts at each scrape. */
export const RUN_WINDOW = 500;
/** Runs whose in-flight node starts are remembered; older ones are forgotten first. */
const MAX_TRACKED_RUNS = 1_000;
/** How long one DescribeTaskQueue may take before a scrape goes on without it. */
const BACKLOG_DEADLINE_MS = 2_000;

/** Seconds: local nodes take milliseconds, real providers minutes. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Temporal's TaskQueueType: TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY. */
const QUEUE_TYPES = { workflow: 1, activity: 2 } as const;

export interface ServerMetrics {
  registry: Registry;
  /** Stops observing the engine's events. */
  close(): void;
}

export interface ServerMetricsOptions {
  io: SocketServer;
  log: ServerLog;
}

interface NodeInfo {
  type: string;
  provider: string;
}

type NodeLabels = LabelValues<'node_type' | 'provider'>;

/** Builds the registry and starts observing `engine`'s events. */
export function createServerMetrics(engine: Engine, options: ServerMetricsOptions): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const nodes = new NodeTracker(engine);
  let backlogWarned = false;

  new Gauge({
    name: 'charlab_runs',
    help: `Runs by status, among the newest ${RUN_WINDOW} in the document store`,
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const runs = await engine.documents.runs.list({
          orderByDesc: 'createdAt',
          limit: RUN_WINDOW,
        });
        for (const status of RUN_STATUSES) {
          this.set({ status }, runs.filter((run) => run.snapshot.status === status).length);
        }
      } catch (error) {
        options.log('warn', `metrics: could not count runs: ${String(error)}`);
      }
    },
  });

  const durations = new Histogram({
    name: 'charlab_node_duration_seconds',
    help: 'Node activity executions (a node, or one fan-out item), from node.started to its end',
    labelNames: ['node_type', 'provider', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const cacheHits = new Counter({
    name: 'charlab_node_cache_hits_total',
    help: 'Node executions (a node, or one fan-out item) answered from the cache',
    labelNames: ['node_type'],
    registers: [registry],
  });
  nodes.onEnded = (info, seconds, status) =>
    durations.observe({ node_type: info.type, provider: info.provider, status }, seconds);
  nodes.onCached = (info) => cacheHits.inc({ node_type: info.type });

  new Gauge({
    name: 'charlab_nodes_running',
    help: 'Node executions started and not yet ended, seen by this replica',
    labelNames: ['node_type', 'provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, count } of nodes.running()) this.set(labels, count);
    },
  });

  new Gauge({
    name: 'charlab_run_watchers',
    help: 'Active run:watch subscriptions on this replica',
    registers: [registry],
    collect() {
      const prefix = roomOf('');
      let watchers = 0;
      for (const [room, sockets] of options.io.of('/').adapter.rooms) {
        if (room.startsWith(prefix)) watchers += sockets.size;
      }
      this.set(watchers);
    },
  });

  new Gauge({
    name: 'charlab_task_queue_backlog',
    help: "Tasks waiting on each task queue (Temporal's approximate backlog count)",
    labelNames: ['queue', 'type'],
    registers: [registry],
    async collect() {
      this.reset();
      const { client, namespace, taskQueuePrefix = '' } = engine.temporal;
      const deadline = Date.now() + BACKLOG_DEADLINE_MS;
      const results = await Promise.allSettled(
        ALL_QUEUES.map(async (queue) => {
          const type = queue === 'workflows' ? 'workflow' : 'activity';
          const response = await client.connection.withDeadline(deadline, () =>
            client.workflowService.describeTaskQueue({
              namespace,
              taskQueue: { name: `${taskQueuePrefix}${TASK_QUEUES[queue]}` },
              taskQueueType: QUEUE_TYPES[type],
              reportStats: true,
            }),
          );
          const count = Number(String(response.stats?.approximateBacklogCount ?? 0));
          this.set({ queue: TASK_QUEUES[queue], type }, Number.isFinite(count) ? count : 0);
        }),
      );
      const failed = results.find((result) => result.status === 'rejected');
      if (failed && !backlogWarned) {
        backlogWarned = true;
        options.log(
          'warn',
          `metrics: Temporal gave no task queue backlog (${String(failed.reason)}); charlab_task_queue_backlog stays empty while it fails`,
        );
      }
    },
  });

  const untap = engine.events.tap((event, stored) => nodes.observe(event, stored));
  return { registry, close: untap };
}

/** Registers `GET /metrics` (outside /api/, so not rate limited). */
export function metricsRoute(app: FastifyInstance, metrics: ServerMetrics): void {
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}

/**
 * Pairs node starts with their ends per run and looks up what each node is (type, provider)
 * from the run's plan, once per run.
 */
class NodeTracker {
  onEnded: (info: NodeInfo, seconds: number, status: 'succeeded' | 'failed') => void = () => {};
  onCached: (info: NodeInfo) => void = () => {};
  /** runId → execution key (node, item) → start in ms; Map order is age. */
  private readonly starts = new Map<string, Map<string, { nodeId: string; at: number }>>();
  /** runId → its nodes, read from the run's plan on the run's first node event. */
  private readonly plans = new Map<string, Promise<Map<string, NodeInfo> | null>>();
  private readonly resolved = new Map<string, Map<string, NodeInfo>>();

  constructor(private readonly engine: Pick<Engine, 'documents' | 'graph' | 'providers'>) {}

  /** `stored`: this process stored the event, so it counts it. */
  observe(event: RunEvent, stored: boolean): void {
    try {
      this.handle(event, stored);
    } catch {
      // Metrics never get in the way of storing events.
    }
  }

  /** In-flight executions by labels (node type unknown until the plan is read). */
  running(): { labels: NodeLabels; count: number }[] {
    const counts = new Map<string, { labels: NodeLabels; count: number }>();
    for (const [runId, executions] of this.starts) {
      for (const { nodeId } of executions.values()) {
        const info = this.resolved.get(runId)?.get(nodeId);
        const labels = {
          node_type: info?.type ?? 'unknown',
          provider: info?.provider ?? 'unknown',
        };
        const key = `${labels.node_type}\0${labels.provider}`;
        const entry = counts.get(key) ?? { labels, count: 0 };
        entry.count += 1;
        counts.set(key, entry);
      }
    }
    return [...counts.values()];
  }

  private handle(event: RunEvent, stored: boolean): void {
    if (event.type.startsWith('run.') && event.type !== 'run.started') {
      this.forget(event.runId);
      return;
    }
    if (!event.nodeId || !isExecution(event)) return;
    const nodeId = event.nodeId;
    const key = event.index === undefined ? nodeId : `${nodeId}#${event.index}`;
    switch (event.type) {
      case 'node.started': {
        let executions = this.starts.get(event.runId);
        if (!executions) {
          this.starts.set(event.runId, (executions = new Map()));
          this.forgetOldRuns();
        }
        // A retried attempt starts again: the duration runs from the first start.
        if (!executions.has(key)) executions.set(key, { nodeId, at: timeOf(event) });
        void this.nodeInfo(event.runId, nodeId);
        return;
      }
      case 'node.completed':
      case 'node.failed': {
        const start = this.starts.get(event.runId)?.get(key);
        if (!start) return;
        this.starts.get(event.runId)?.delete(key);
        if (!stored) return;
        const seconds = Math.max(0, (timeOf(event) - start.at) / 1000);
        const status = event.type === 'node.completed' ? 'succeeded' : 'failed';
        void this.nodeInfo(event.runId, nodeId).then((info) => this.onEnded(info, seconds, status));
        return;
      }
      case 'node.cancelled':
        this.starts.get(event.runId)?.delete(key);
        return;
      case 'node.cached':
        if (!stored) return;
        void this.nodeInfo(event.runId, nodeId).then((info) => this.onCached(info));
        return;
    }
  }

  private async nodeInfo(runId: string, nodeId: string): Promise<NodeInfo> {
    let plan = this.plans.get(runId);
    if (!plan) {
      plan = this.readPlan(runId);
      this.plans.set(runId, plan);
      this.forgetOldRuns();
    }
    const nodes = await plan.catch(() => null);
    return nodes?.get(nodeId) ?? { type: 'unknown', provider: 'unknown' };
  }

  private async readPlan(runId: string): Promise<Map<string, NodeInfo> | null> {
    const run = await this.engine.documents.runs.get(runId);
    if (!run) return null;
    const nodes = new Map<string, NodeInfo>();
    for (const node of Object.values(run.plan.nodes)) {
      nodes.set(node.id, { type: node.type, provider: this.providerOf(node.type, node.params) });
    }
    // Only while the run is still tracked (its end may have come while we read).
    if (this.plans.has(runId)) this.resolved.set(runId, nodes);
    return nodes;
  }

  /** The provider the node runs with: `auto` resolved here; `none` for nodes without one. */
  private providerOf(type: string, params: Record<string, unknown>): string {
    const requested = params.provider;
    const definition = this.engine.graph.definition(type);
    if (requested === undefined && !definition?.providers?.length) return 'none';
    if (!definition) return String(requested);
    try {
      return chooseProvider(definition, requested, this.engine.providers.services).name;
    } catch {
      return String(requested);
    }
  }

  /** A run whose end this replica never sees (stored elsewhere, not relayed) is dropped here. */
  private forgetOldRuns(): void {
    for (const tracked of [this.starts, this.plans]) {
      for (const runId of tracked.keys()) {
        if (tracked.size <= MAX_TRACKED_RUNS) break;
        this.forget(runId);
      }
    }
  }

  private forget(runId: string): void {
    this.starts.delete(runId);
    this.plans.delete(runId);
    this.resolved.delete(runId);
  }
}

/**
 * One activity execution's event: a fan-out item's, or a node-level one of a node without
 * fan-out. A fan-out node's own events carry `total` and are left out.
 */
function isExecution(event: RunEvent): boolean {
  return event.index !== undefined || event.total === undefined;
}

function timeOf(event: RunEvent): number {
  const at = Date.parse(event.at);
  return Number.isFinite(at) ? at : Date.now();
}
