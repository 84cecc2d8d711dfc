/**
 * Saved workflows: a graph document plus ownership and dates. Every write loads the graph
 * first, so the store only holds current-version documents within the limits. Saves keep
 * drafts (graph problems come back as `problems`); import, like runs, takes only valid graphs.
 *
 * Every answer carrying a workflow has its `revision` (1 on create, +1 on every save) and the
 * same as an ETag. PUT takes the revision the client last saw, as `If-Match: "<revision>"` or
 * `{ graph, revision }`, and refuses a stale one with 409 `workflow_conflict` instead of
 * overwriting a save made elsewhere. A PUT without a revision still saves over whatever is
 * stored (last write wins), so scripts like `curl -X PUT --data @hero.json` keep working.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serializeGraph } from '../../graph/canonical';
import type { GraphDocument } from '../../graph/document';
import { LabError, notFound } from '../../errors';
import type { WorkflowRecord } from '../../stores/ports';
import {
  newId,
  ownerOf,
  requireId,
  viewerOf,
  visibleTo,
  writableBy,
  type ServerContext,
} from '../context';
import type { Viewer } from '../../auth/viewer';
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
    revision: 1,
  };
  await ctx.engine.documents.workflows.put(record);
  return record;
}

/** How often a PUT retries when other saves keep landing first, before answering 409. */
const SAVE_ATTEMPTS = 5;

/** Sets the ETag a later `If-Match` sends back: the workflow's revision. */
function withEtag(reply: FastifyReply, record: WorkflowRecord): FastifyReply {
  return reply.header('etag', `"${record.revision}"`);
}

/**
 * The revision a PUT was made from: `If-Match: "3"` (a weak `W/"3"` too) or `revision` beside
 * `graph` in the body; undefined when neither is given.
 */
export function expectedRevision(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  const body = request.body;
  const fromBody =
    body && typeof body === 'object' && !Array.isArray(body) && 'graph' in body
      ? (body as { revision?: unknown }).revision
      : undefined;
  // `If-Match: *` only asks that the workflow exists, which every PUT already requires.
  const fromHeader =
    header === undefined || header.trim() === '*'
      ? undefined
      : parseRevision(/^(?:W\/)?"?([^"]*)"?$/.exec(header)?.[1]);
  if (header !== undefined && header.trim() !== '*' && fromHeader === undefined) {
    throw new LabError(
      'invalid_revision',
      `If-Match must be the workflow's revision in quotes, e.g. If-Match: "3" (got ${header}); ` +
        'send the ETag of your last GET or save',
    );
  }
  if (fromBody !== undefined && fromBody !== null && parseRevision(fromBody) === undefined) {
    throw new LabError(
      'invalid_revision',
      `revision must be a whole number ≥ 0 (got ${JSON.stringify(fromBody)}); send the ` +
        'revision of your last GET or save, or leave it out to overwrite',
    );
  }
  const bodyRevision = fromBody === null ? undefined : parseRevision(fromBody);
  if (fromHeader !== undefined && bodyRevision !== undefined && fromHeader !== bodyRevision) {
    throw new LabError(
      'invalid_revision',
      `If-Match says revision ${fromHeader} but the body says ${bodyRevision}; send one of them`,
    );
  }
  return fromHeader ?? bodyRevision;
}

function parseRevision(value: unknown): number | undefined {
  const revision = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof revision === 'number' && Number.isSafeInteger(revision) && revision >= 0
    ? revision
    : undefined;
}

function conflict(current: WorkflowRecord, yours: number): LabError {
  return new LabError(
    'workflow_conflict',
    `workflow ${current.id} was changed elsewhere: it is at revision ${current.revision}, your ` +
      `save was made from revision ${yours}. Reload it to get the saved version, or save your ` +
      'version as a copy (POST /api/workflows)',
    409,
    { revision: current.revision, yourRevision: yours },
  );
}

export function workflowRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { documents } = ctx.engine;

  const requireWorkflow = async (
    id: string,
    viewer: Viewer,
    access: 'read' | 'write' = 'read',
  ): Promise<WorkflowRecord> => {
    const stored = await documents.workflows.get(id);
    const record =
      access === 'read' ? visibleTo(stored, viewer) : writableBy(stored, viewer, 'workflow');
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
    return withEtag(reply, record)
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
    return withEtag(reply, record)
      .code(201)
      .send({ ...record, ...(migratedFrom === undefined ? {} : { migratedFrom }), migrations });
  });

  app.get('/api/workflows/:id', async (request, reply) => {
    const record = await requireWorkflow(requireId(request.params), viewerOf(request));
    return withEtag(reply, record).send(record);
  });

  app.put('/api/workflows/:id', async (request, reply) => {
    const id = requireId(request.params);
    const viewer = viewerOf(request);
    const expected = expectedRevision(request);
    let existing = await requireWorkflow(id, viewer, 'write');
    const { graph, migratedFrom, problems } = requireLoadableGraph(
      ctx.engine.graph,
      graphFromBody(request.body),
    );
    // Every save goes through the conditional write, so revisions never repeat; without a
    // revision from the client it is simply retried from whatever is stored now.
    for (let attempt = 1; ; attempt += 1) {
      const from = expected ?? existing.revision;
      if (existing.revision !== from) throw conflict(existing, from);
      const record: WorkflowRecord = {
        ...existing,
        name: graph.name,
        graph: { ...graph, id: existing.id },
        updatedAt: new Date().toISOString(),
        revision: from + 1,
      };
      if (await documents.workflows.putIfRevision(record, from)) {
        return withEtag(reply, record).send({
          ...record,
          ...(migratedFrom === undefined ? {} : { migratedFrom }),
          problems,
        });
      }
      existing = await requireWorkflow(id, viewer, 'write');
      // Another save won (or, on MongoDB, is writing its claimed revision right now).
      if (attempt >= SAVE_ATTEMPTS) throw conflict(existing, from);
    }
  });

  app.delete('/api/workflows/:id', async (request, reply) => {
    const existing = await requireWorkflow(requireId(request.params), viewerOf(request), 'write');
    await documents.workflows.delete(existing.id);
    return reply.code(204).send();
  });

  app.get('/api/workflows/:id/export', async (request, reply) => {
    const record = await requireWorkflow(requireId(request.params), viewerOf(request));
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
