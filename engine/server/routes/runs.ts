/**
 * Runs: start (from a graph or a saved workflow), list, snapshot, cancel (whole run or one
 * node) and rerun. Starting is gated per user: at most `maxActiveRunsPerUser` runs in flight.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isTerminalRunStatus } from '../../runs/events';
import { LabError, notFound } from '../../errors';
import type { Engine } from '../../engine-types';
import type { RunRecord } from '../../stores/ports';
import {
  ownerOf,
  requireId,
  viewerOf,
  visibleTo,
  writableBy,
  type ServerContext,
} from '../context';
import type { Viewer } from '../../auth/viewer';

const valuesSchema = z.record(z.string(), z.unknown());

const startBodySchema = z.union([
  z.strictObject({ graph: z.unknown(), values: valuesSchema.optional() }),
  z.strictObject({ workflowId: z.string().min(1).max(100), values: valuesSchema.optional() }),
  z.strictObject({
    templateId: z.string().min(1).max(100),
    version: z.number().int().min(1).optional(),
    values: valuesSchema.optional(),
  }),
]);

const listQuerySchema = z.strictObject({
  workflowId: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const rerunBodySchema = z.strictObject({
  fromNodeId: z.string().min(1).max(100).optional(),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

const regenerateBodySchema = z.strictObject({
  nodeId: z.string().min(1).max(100),
  index: z.number().int().min(0).max(10_000),
});

/** A run in lists: no graph, no plan, no per-node detail; the final outputs (refs) once done. */
export interface RunSummary {
  id: string;
  workflowId?: string;
  parentRunId?: string;
  name: string;
  status: RunRecord['snapshot']['status'];
  error?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  outputs?: RunRecord['snapshot']['outputs'];
}

function summarizeRun(run: RunRecord): RunSummary {
  return {
    id: run.id,
    ...(run.workflowId ? { workflowId: run.workflowId } : {}),
    ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
    name: run.graph.name,
    status: run.snapshot.status,
    ...(run.snapshot.error ? { error: run.snapshot.error } : {}),
    createdAt: run.createdAt,
    ...(run.snapshot.startedAt ? { startedAt: run.snapshot.startedAt } : {}),
    ...(run.snapshot.endedAt ? { endedAt: run.snapshot.endedAt } : {}),
    ...(Object.keys(run.snapshot.outputs).length > 0 ? { outputs: run.snapshot.outputs } : {}),
  };
}

/**
 * Admits run starts one at a time per user, so two simultaneous requests cannot both slip
 * under the cap. The count comes from the store: it holds across restarts.
 */
/** What a refused run start suggests as Retry-After: a slot frees whenever a run ends. */
const RUN_SLOT_RETRY_SEC = 10;

export class RunGate {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly engine: Engine,
    private readonly maxActive: number,
  ) {}

  async admit<T>(ownerId: string, start: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(ownerId) ?? Promise.resolve();
    const next = previous.then(async () => {
      await this.check(ownerId);
      return start();
    });
    const settled = next.catch(() => {});
    this.queues.set(ownerId, settled);
    try {
      return await next;
    } finally {
      if (this.queues.get(ownerId) === settled) this.queues.delete(ownerId);
    }
  }

  private async check(ownerId: string): Promise<void> {
    const recent = await this.engine.runs.list({ ownerId, limit: 200 });
    const active = recent.filter((run) => !isTerminalRunStatus(run.snapshot.status)).length;
    if (active >= this.maxActive) {
      throw new LabError(
        'too_many_runs',
        `you already have ${active} runs in flight (the limit is ${this.maxActive}): wait for one to finish or cancel one`,
        429,
        // A hint for clients that poll: a run slot frees when any run ends.
        { active, limit: this.maxActive, retryAfterSec: RUN_SLOT_RETRY_SEC },
      );
    }
  }
}

export function runRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;
  const gate = new RunGate(engine, ctx.options.maxActiveRunsPerUser);

  const requireRun = async (
    id: string,
    viewer: Viewer,
    access: 'read' | 'write' = 'read',
  ): Promise<RunRecord> => {
    const stored = await engine.runs.get(id);
    const run = access === 'read' ? visibleTo(stored, viewer) : writableBy(stored, viewer, 'run');
    if (!run) throw notFound('run', id);
    return run;
  };

  app.post('/api/runs', async (request, reply) => {
    const ownerId = ownerOf(request);
    const body = startBodySchema.parse(request.body ?? {});
    let workflowId: string | undefined;
    let graph: unknown;
    let values = body.values;
    if ('templateId' in body) {
      // The template checks its values (exposed keys, param schemas) before anything starts.
      ({ graph } = await ctx.templates.prepare(ownerId, body.templateId, {
        values: body.values ?? {},
        ...(body.version === undefined ? {} : { version: body.version }),
      }));
      values = undefined;
    } else if ('workflowId' in body) {
      workflowId = body.workflowId;
      const workflow = visibleTo(
        await engine.documents.workflows.get(workflowId),
        viewerOf(request),
      );
      if (!workflow) throw notFound('workflow', workflowId);
      graph = workflow.graph;
    } else {
      if (body.graph === undefined) {
        throw new LabError(
          'invalid_request',
          'a run needs a graph: send { graph, values? }, { workflowId, values? } or { templateId, values? }',
        );
      }
      graph = body.graph;
    }
    const run = await gate.admit(ownerId, () =>
      engine.runs.start({
        graph,
        ownerId,
        ...(values ? { values } : {}),
        ...(workflowId ? { workflowId } : {}),
      }),
    );
    return reply.code(202).send({ runId: run.id });
  });

  app.get('/api/runs', async (request) => {
    const query = listQuerySchema.parse(request.query ?? {});
    const runs = await engine.runs.list({
      ownerId: ownerOf(request),
      limit: query.limit,
      ...(query.workflowId ? { workflowId: query.workflowId } : {}),
    });
    return runs.map(summarizeRun);
  });

  app.get('/api/runs/:id', async (request) => {
    const run = await requireRun(requireId(request.params), viewerOf(request));
    return (await engine.runs.snapshot(run.id)) ?? run.snapshot;
  });

  // The graph the run started from (values applied), e.g. to re-run it with changes.
  app.get('/api/runs/:id/graph', async (request) => {
    const run = await requireRun(requireId(request.params), viewerOf(request));
    return run.graph;
  });

  app.post('/api/runs/:id/cancel', async (request, reply) => {
    const run = await requireRun(requireId(request.params), viewerOf(request), 'write');
    await engine.runs.cancel(run.id);
    return reply.code(202).send({ runId: run.id, status: 'cancelling' });
  });

  app.post('/api/runs/:id/nodes/:nodeId/cancel', async (request, reply) => {
    const run = await requireRun(requireId(request.params), viewerOf(request), 'write');
    const nodeId = requireId(request.params, 'nodeId');
    await engine.runs.cancelNode(run.id, nodeId);
    return reply.code(202).send({ runId: run.id, nodeId, status: 'cancelling' });
  });

  app.post('/api/runs/:id/rerun', async (request, reply) => {
    const ownerId = ownerOf(request);
    const run = await requireRun(requireId(request.params), viewerOf(request), 'write');
    const body = rerunBodySchema.parse(request.body ?? {});
    const next = await gate.admit(ownerId, () => engine.runs.rerun(run.id, body));
    return reply.code(202).send({ runId: next.id });
  });

  // "Regenerate this shot": one fan-out item gets a new seed, everything else comes from cache.
  app.post('/api/runs/:id/regenerate', async (request, reply) => {
    const ownerId = ownerOf(request);
    const run = await requireRun(requireId(request.params), viewerOf(request), 'write');
    const body = regenerateBodySchema.parse(request.body ?? {});
    const next = await gate.admit(ownerId, () => engine.runs.regenerate(run.id, body));
    return reply.code(202).send({ runId: next.id });
  });
}
