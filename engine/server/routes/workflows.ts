/**
 * Saved workflows: a graph document plus ownership and dates. Every write loads the graph
 * first, so the store only holds current-version documents within the limits. Saves keep
 * drafts (graph problems come back as `problems`); import, like runs, takes only valid graphs.
 */
import type { FastifyInstance } from 'fastify';
import { serializeGraph } from '../../graph/canonical';
import type { GraphDocument } from '../../graph/document';
import { notFound } from '../../errors';
import type { WorkflowRecord } from '../../stores/ports';
import { newId, ownerOf, requireId, visibleTo, type ServerContext } from '../context';
import { graphFromBody, requireLoadableGraph } from '../graph-input';

/** A workflow in lists: everything but the graph itself. */
export interface WorkflowSummary {
  id: string;
  name: string;
  description: string;
  nodeCount: number;
  createdAt: string;
  updatedAt: string;
}

export function summarizeWorkflow(record: WorkflowRecord): WorkflowSummary {
  return {
    id: record.id,
    name: record.name,
    description: record.graph.description,
    nodeCount: record.graph.nodes.length,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

/** Stores a validated graph as a new workflow with a fresh id (the document's id follows it). */
export async function createWorkflow(
  ctx: ServerContext,
  ownerId: string,
  graph: GraphDocument,
): Promise<WorkflowRecord> {
  const id = newId('wf');
  const now = new Date().toISOString();
  const record: WorkflowRecord = {
    id,
    name: graph.name,
    graph: { ...graph, id },
    ownerId,
    createdAt: now,
    updatedAt: now,
  };
  await ctx.engine.documents.workflows.put(record);
  return record;
}

export function workflowRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { documents } = ctx.engine;

  const requireWorkflow = async (id: string, ownerId: string): Promise<WorkflowRecord> => {
    const record = visibleTo(await documents.workflows.get(id), ownerId);
    if (!record) throw notFound('workflow', id);
    return record;
  };

  app.get('/api/workflows', async (request) => {
    const records = await documents.workflows.list({
      where: { ownerId: ownerOf(request) },
      orderByDesc: 'updatedAt',
      limit: 500,
    });
    return records.map(summarizeWorkflow);
  });

  app.post('/api/workflows', async (request, reply) => {
    const { graph, migratedFrom, problems } = requireLoadableGraph(
      ctx.engine.graph,
      graphFromBody(request.body),
    );
    const record = await createWorkflow(ctx, ownerOf(request), graph);
    return reply
      .code(201)
      .send({ ...record, ...(migratedFrom === undefined ? {} : { migratedFrom }), problems });
  });

  // Import is a save that says so: any supported version in, the current version stored,
  // and the answer lists what was upgraded on the way.
  app.post('/api/workflows/import', async (request, reply) => {
    const { graph, migratedFrom, migrations } = ctx.engine.graph.prepare(
      graphFromBody(request.body),
    );
    const record = await createWorkflow(ctx, ownerOf(request), graph);
    return reply
      .code(201)
      .send({ ...record, ...(migratedFrom === undefined ? {} : { migratedFrom }), migrations });
  });

  app.get('/api/workflows/:id', async (request) =>
    requireWorkflow(requireId(request.params), ownerOf(request)),
  );

  app.put('/api/workflows/:id', async (request) => {
    const existing = await requireWorkflow(requireId(request.params), ownerOf(request));
    const { graph, migratedFrom, problems } = requireLoadableGraph(
      ctx.engine.graph,
      graphFromBody(request.body),
    );
    const record: WorkflowRecord = {
      ...existing,
      name: graph.name,
      graph: { ...graph, id: existing.id },
      updatedAt: new Date().toISOString(),
    };
    await documents.workflows.put(record);
    return { ...record, ...(migratedFrom === undefined ? {} : { migratedFrom }), problems };
  });

  app.delete('/api/workflows/:id', async (request, reply) => {
    const existing = await requireWorkflow(requireId(request.params), ownerOf(request));
    await documents.workflows.delete(existing.id);
    return reply.code(204).send();
  });

  app.get('/api/workflows/:id/export', async (request, reply) => {
    const record = await requireWorkflow(requireId(request.params), ownerOf(request));
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', attachment(`${record.name}.json`))
      .send(serializeGraph(record.graph));
  });
}

/**
 * A Content-Disposition that survives any name: an ASCII fallback (quotes, slashes and
 * control characters replaced) plus the exact name in RFC 5987 `filename*`.
 */
export function attachment(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\/:*?<>|]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
