/**
 * Starting, watching, cancelling and re-running graph runs. A run is stored first (graph,
 * compiled plan, empty snapshot), then started as the `runGraph` workflow with the plan as its
 * input, so editing the graph later never disturbs it.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { emptySnapshot, isTerminalRunStatus, type RunSnapshot } from './events';
import type { GraphSchema } from '../graph/schema';
import type { RegenerateRequest, RerunRequest, RunService, StartRunRequest } from '../engine-types';
import { LabError, notFound } from '../errors';
import type { BlobStore, DocumentStore, RunRecord } from '../stores/ports';
import type { ProviderServices } from '../config';
import type { ExecutionPlan } from '../graph/plan';
import { cachedNodeReports, leafOutputs, type NodeReport } from '../interpreter/plan-values';
import { resolveCacheHits } from './cache-plan';
import { artifactRefsIn } from '../artifacts/cached-outputs';
import { ownerReads, requireReadableResources } from './resource-check';
import { ArtifactService } from '../artifacts/artifact-service';
import { temporalUnavailable, type TemporalStatus } from '../temporal/launcher';
import { TASK_QUEUES } from '../temporal/task-queues';
import { cancelNodeSignal, type runGraph } from '../interpreter/run-graph';
import type { EventHub } from './event-hub';

export interface RunServiceDeps {
  /** Every run's graph goes through its `prepare`: load, values, validate, compile. */
  graph: GraphSchema;
  documents: DocumentStore;
  events: EventHub;
  client: Client;
  taskQueuePrefix: string;
  /** Where cached outputs' artifacts live: a cache hit counts only while they are intact. */
  blobs: BlobStore;
  /**
   * The provider services the workers resolve `auto` with, when the server knows them (its
   * embedded worker shares its configuration); absent, such nodes' cache is left to the worker.
   */
  workerServices?: ProviderServices;
  /** The launcher's view of Temporal: while it is down, start and cancel answer 503 at once. */
  temporalStatus?: () => TemporalStatus;
}

/**
 * The longest a start or cancel waits on Temporal. The SDK retries an unreachable server for
 * ~18 s; a client is better served by a prompt 503 with Retry-After.
 */
const TEMPORAL_CALL_DEADLINE_MS = 5_000;

/** Time-sortable, unguessable run ids: `run_<base36 ms><16 hex>`. */
export function newRunId(): string {
  return `run_${Date.now().toString(36)}${randomBytes(8).toString('hex')}`;
}

export function createRunService(deps: RunServiceDeps): RunService {
  const { documents, events, client } = deps;
  const handle = (run: RunRecord) => client.workflow.getHandle(run.temporalWorkflowId);
  const artifacts = new ArtifactService(deps.blobs, documents);

  /** Throws 503 temporal_unavailable at once while the launcher knows Temporal is down. */
  function requireTemporalUp(): void {
    const status = deps.temporalStatus?.();
    if (status && !status.up) throw temporalUnavailable(status);
  }

  /** A Temporal call bounded by a deadline; unreachable (or too slow) becomes a clear 503. */
  async function onTemporal<T>(call: () => Promise<T>): Promise<T> {
    requireTemporalUp();
    try {
      return await client.connection.withDeadline(Date.now() + TEMPORAL_CALL_DEADLINE_MS, call);
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      throw temporalUnavailable(
        deps.temporalStatus?.() ?? { up: false, since: new Date().toISOString(), restarts: 0 },
      );
    }
  }

  async function requireRun(runId: string): Promise<RunRecord> {
    const run = await documents.runs.get(runId);
    if (!run) throw notFound('run', runId);
    return run;
  }

  async function requireActive(runId: string): Promise<RunRecord> {
    const run = await requireRun(runId);
    const status = (await events.snapshot(runId))?.status ?? run.snapshot.status;
    if (isTerminalRunStatus(status)) {
      throw new LabError('run_not_active', `run ${runId} already ended (${status})`, 409);
    }
    return run;
  }

  /**
   * If Temporal says the workflow is closed but the stored snapshot never heard (the workflow
   * was terminated, or failed outside the interpreter's own handling), record the ending.
   */
  async function reconcile(run: RunRecord): Promise<void> {
    if (isTerminalRunStatus(run.snapshot.status)) return;
    let status: string;
    try {
      status = (await handle(run).describe()).status.name;
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      status = 'NOT_FOUND';
    }
    if (status === 'RUNNING' || status === 'COMPLETED') return; // completed: its events are on their way
    const type = status === 'CANCELED' ? 'run.cancelled' : 'run.failed';
    await events.append({
      key: `reconcile:${run.id}:${status}`,
      runId: run.id,
      type,
      status: type === 'run.cancelled' ? 'cancelled' : 'failed',
      error: `the workflow ended as ${status.toLowerCase()} outside the interpreter`,
      at: new Date().toISOString(),
    });
  }

  /**
   * A run answered entirely from the cache: no workflow, the same events the interpreter
   * would report (run.started, each node cached or completed, run.completed with the results),
   * stored through the hub so they get their seq and the snapshot follows, as for any run.
   */
  async function reportCachedRun(runId: string, plan: ExecutionPlan): Promise<void> {
    const reports: NodeReport[] = [{ type: 'run.started', fields: { status: 'running' } }];
    const state: Record<string, { outputs: Record<string, unknown> }> = {};
    for (const id of plan.order) {
      const step = plan.nodes[id].step;
      if (step.kind !== 'constant') throw new Error(`cached run ${runId}: ${id} is not resolved`);
      state[id] = { outputs: step.outputs };
      if (step.cached) reports.push(...cachedNodeReports(id, step.outputs, step.cached.items));
      else {
        reports.push({
          type: 'node.completed',
          fields: { nodeId: id, status: 'succeeded', outputs: step.outputs },
        });
      }
    }
    const outputs = leafOutputs(plan, state);
    reports.push({ type: 'run.completed', fields: { status: 'succeeded', outputs } });
    let counter = 0;
    for (const { type, fields } of reports) {
      counter += 1;
      await events.append({
        // Unique per event, as the workflow's keys are; `cache:` never collides with them.
        key: `cache:${counter}:${type}:${fields.nodeId ?? ''}:${fields.index ?? ''}`,
        runId,
        type,
        at: new Date().toISOString(),
        ...fields,
      });
    }
  }

  const service: RunService = {
    async start(request: StartRunRequest) {
      const ownerId = request.ownerId ?? 'local';
      const prepared = deps.graph.prepare(request.graph, {
        ...(request.values ? { values: request.values } : {}),
        forceRun: request.forceRun ?? [],
      });
      const { graph } = prepared;
      // Workers read what the graph names with the server's rights: only what the owner may
      // read gets that far (a rerun with new params and a template's values included).
      await requireReadableResources(deps.graph, graph, ownerReads(documents, artifacts, ownerId));
      // Rerolls live in the plan only: the graph document stays exactly what the user drew.
      const plan =
        request.rerolls && Object.keys(request.rerolls).length > 0
          ? { ...prepared.plan, rerolls: request.rerolls }
          : prepared.plan;
      // Unchanged nodes are answered from the cache here, in DB reads, instead of by one
      // activity round trip each; the run record keeps the plan as compiled (regenerate and
      // rerun read it), the workflow gets the one with cached steps.
      const resolved = await resolveCacheHits(plan, {
        graph: deps.graph,
        cache: documents.cache,
        blobs: deps.blobs,
        ...(deps.workerServices ? { workerServices: deps.workerServices } : {}),
        // Character loaders are read here for the run's owner, so what is below them can hit.
        characters: documents.characters,
        ownerId,
      });
      // Before anything is stored: a refused start leaves no trace. A run the cache answers
      // whole needs no Temporal at all.
      if (!resolved.complete) requireTemporalUp();
      const runId = newRunId();
      const now = new Date().toISOString();
      const run: RunRecord = {
        id: runId,
        ownerId,
        createdAt: now,
        updatedAt: now,
        graph,
        plan,
        snapshot: emptySnapshot(runId, plan.order),
        temporalWorkflowId: `run-${runId}`,
        ...(request.workflowId ? { workflowId: request.workflowId } : {}),
        ...(request.parentRunId ? { parentRunId: request.parentRunId } : {}),
      };
      await documents.runs.put(run);
      // Defence in depth: keys are per owner, so a hit's artifacts are normally the owner's
      // already; a grant keeps every output of the run readable by its owner regardless.
      await artifacts.grant(
        resolved.cached.flatMap((id) => artifactRefsIn(resolved.plan.nodes[id].step)),
        ownerId,
      );
      if (resolved.complete) {
        await reportCachedRun(runId, resolved.plan);
        return run;
      }
      try {
        await onTemporal(() =>
          client.workflow.start<typeof runGraph>('runGraph', {
            taskQueue: `${deps.taskQueuePrefix}${TASK_QUEUES.workflows}`,
            workflowId: run.temporalWorkflowId,
            args: [{ runId, plan: resolved.plan, taskQueuePrefix: deps.taskQueuePrefix }],
          }),
        );
      } catch (error) {
        await documents.runs.delete(runId);
        if (error instanceof LabError) throw error;
        throw new LabError(
          'temporal_unavailable',
          `could not start the run on Temporal: ${String(error)}`,
          503,
        );
      }
      return run;
    },

    get: (runId) => documents.runs.get(runId),

    snapshot: (runId) => events.snapshot(runId),

    list: (filter = {}) =>
      documents.runs.list({
        where: {
          ...(filter.workflowId ? { workflowId: filter.workflowId } : {}),
          ...(filter.ownerId ? { ownerId: filter.ownerId } : {}),
        },
        orderByDesc: 'createdAt',
        limit: filter.limit ?? 100,
      }),

    async cancel(runId) {
      const run = await requireActive(runId);
      // Refused (503, Retry-After) while Temporal is down rather than queued: the client knows
      // the cancel did not happen and retries it; a queued cancel could land after the run ended.
      await onTemporal(() => handle(run).cancel());
    },

    async cancelNode(runId, nodeId) {
      const run = await requireActive(runId);
      if (!run.plan.nodes[nodeId]) throw notFound('node', nodeId);
      await onTemporal(() => handle(run).signal(cancelNodeSignal, nodeId));
    },

    async rerun(runId, request: RerunRequest) {
      const run = await requireRun(runId);
      if (request.fromNodeId && !run.plan.nodes[request.fromNodeId])
        throw notFound('node', request.fromNodeId);
      const values: Record<string, unknown> = {};
      for (const [nodeId, params] of Object.entries(request.params ?? {})) {
        for (const [param, value] of Object.entries(params)) values[`${nodeId}.${param}`] = value;
      }
      return service.start({
        graph: run.graph,
        values,
        ownerId: run.ownerId,
        parentRunId: run.id,
        forceRun: request.fromNodeId ? [request.fromNodeId] : [],
        ...(run.workflowId ? { workflowId: run.workflowId } : {}),
      });
    },

    async regenerate(runId, request: RegenerateRequest) {
      const run = await requireRun(runId);
      const node = run.plan.nodes[request.nodeId];
      if (!node) {
        throw new LabError(
          'unknown_node',
          `run ${runId} has no node "${request.nodeId}"; pick a node of the run's graph`,
          404,
        );
      }
      if (node.step.kind !== 'activity' || !node.step.fanOut) {
        throw new LabError(
          'not_fan_out',
          `node "${request.nodeId}" (${node.type}) makes one result, not one per shot; regenerate a frames or clips node, or rerun the run`,
          400,
        );
      }
      const snapshot = (await events.snapshot(runId)) ?? run.snapshot;
      if (!isTerminalRunStatus(snapshot.status)) {
        throw new LabError(
          'run_not_finished',
          `run ${runId} is still ${snapshot.status}; wait for it to finish, then regenerate a shot`,
          409,
        );
      }
      const total = itemCount(snapshot.nodes[request.nodeId], node.step.listOutputs);
      if (total === undefined) {
        throw new LabError(
          'run_not_finished',
          `node "${request.nodeId}" of run ${runId} did not finish (${snapshot.nodes[request.nodeId]?.status ?? 'pending'}); rerun the run instead`,
          409,
        );
      }
      if (request.index >= total) {
        throw new LabError(
          'index_out_of_range',
          `node "${request.nodeId}" made ${total} item(s); index ${request.index} is out of range (0-${total - 1})`,
          400,
          { total },
        );
      }
      const rerolls = structuredClone(run.plan.rerolls ?? {});
      const forNode = (rerolls[request.nodeId] ??= {});
      forNode[String(request.index)] = (forNode[String(request.index)] ?? 0) + 1;
      return service.start({
        graph: run.graph,
        ownerId: run.ownerId,
        parentRunId: run.id,
        rerolls,
        ...(run.workflowId ? { workflowId: run.workflowId } : {}),
      });
    },

    async reconcileActive() {
      const recent = await documents.runs.list({ orderByDesc: 'createdAt', limit: 500 });
      let closed = 0;
      for (const run of recent.filter((r) => !isTerminalRunStatus(r.snapshot.status))) {
        await reconcile(run);
        const after = await documents.runs.get(run.id);
        if (after && isTerminalRunStatus(after.snapshot.status)) closed += 1;
      }
      return closed;
    },

    async waitForEnd(runId, timeoutMs = 30 * 60_000) {
      const deadline = Date.now() + timeoutMs;
      let wake: () => void = () => {};
      const unsubscribe = events.subscribe(runId, () => wake());
      try {
        let lastCheck = Date.now();
        for (;;) {
          const run = await requireRun(runId);
          if (isTerminalRunStatus(run.snapshot.status)) return run.snapshot;
          if (Date.now() > deadline)
            throw new LabError('timeout', `run ${runId} did not end within ${timeoutMs} ms`, 504);
          if (Date.now() - lastCheck > 5_000) {
            lastCheck = Date.now();
            await reconcile(run);
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 1_000);
          });
        }
      } finally {
        unsubscribe();
      }
    },
  };

  return service;
}

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4), possibly wrapped in the SDK's ServiceError. */
function isUnreachable(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 14 || code === 4) return true;
  }
  return false;
}

/** How many items a finished fan-out node made, from its collected list output. */
function itemCount(
  node: RunSnapshot['nodes'][string] | undefined,
  listOutputs: readonly string[],
): number | undefined {
  if (!node || (node.status !== 'succeeded' && node.status !== 'cached')) return undefined;
  const list = listOutputs.map((port) => node.outputs?.[port]).find(Array.isArray);
  return list ? list.length : node.total;
}

export type { RunSnapshot };
