/**
 * Templates: the shipped ones (workflows/*.json, read-only) and users' own, saved from a
 * workflow or a graph with the params they expose. Listing, versions, export/import as a
 * template file, and instantiating one as a new workflow. Running one directly is
 * `POST /api/runs { templateId, values }` (routes/runs.ts). TemplateService holds the rules.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../errors';
import { artifactIdSchema } from '../../graph/values';
import { ownerOf, requireId, viewerOf, visibleTo, type ServerContext } from '../context';
import type { Viewer } from '../../auth/viewer';
import { categorySchema, MAX_PREVIEW_BYTES } from '../template-file';
import type { TemplateInput } from '../templates';
import { attachment, createWorkflow } from './workflows';
import { ownerReads, requireReadableResources } from '../../runs/resource-check';

const valuesSchema = z.record(z.string(), z.unknown());

const instantiateBodySchema = z.strictObject({
  /** `"nodeId.param": value` for the template's exposed params. */
  values: valuesSchema.default({}),
  /** The new workflow's name; the template's name by default. */
  name: z.string().trim().min(1).max(200).optional(),
  /** A version of one's own template; the latest by default. */
  version: z.number().int().min(1).optional(),
});

/** `{ artifactId }` an artifact of the caller's, `{ runId }` that run's video or first frame. */
const previewBodySchema = z
  .union([
    z.strictObject({ artifactId: artifactIdSchema }),
    z.strictObject({ runId: z.string().min(1).max(100) }),
  ])
  .nullable();

const saveBodySchema = z
  .strictObject({
    workflowId: z.string().min(1).max(100).optional(),
    graph: z.unknown().optional(),
    /** The graph's name on create, the current name on update, by default. */
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(5_000).optional(),
    category: categorySchema.optional(),
    preview: previewBodySchema.optional(),
  })
  .refine((body) => (body.workflowId === undefined) !== (body.graph === undefined), {
    message: 'send either workflowId or graph (exactly one)',
  });

const listQuerySchema = z.strictObject({
  q: z.string().max(200).optional(),
  category: z.string().max(60).optional(),
  source: z.enum(['shipped', 'mine', 'shared']).optional(),
});

const versionQuerySchema = z.strictObject({
  version: z.coerce.number().int().min(1).optional(),
});

/** A template file carries its preview inline (base64, 4/3 of the bytes) beside the graph. */
const IMPORT_BODY_LIMIT = Math.ceil((MAX_PREVIEW_BYTES * 4) / 3) + 4 * 1024 * 1024;

export function templateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { templates } = ctx;

  /** The body of a create or update as the service's input: graph from a workflow or as given. */
  const saveInput = async (viewer: Viewer, raw: unknown): Promise<TemplateInput> => {
    const ownerId = viewer.id;
    const body = saveBodySchema.parse(raw ?? {});
    let graph: unknown = body.graph;
    if (body.workflowId !== undefined) {
      const workflow = visibleTo(await ctx.engine.documents.workflows.get(body.workflowId), viewer);
      if (!workflow) throw notFound('workflow', body.workflowId);
      graph = workflow.graph;
    }
    return {
      graph,
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.description === undefined ? {} : { description: body.description }),
      ...(body.category === undefined ? {} : { category: body.category }),
      ...(body.preview === undefined
        ? {}
        : {
            preview: body.preview && (await templates.resolvePreview(ownerId, body.preview)),
          }),
    };
  };

  app.get('/api/templates', async (request) => {
    const query = listQuerySchema.parse(request.query ?? {});
    return templates.list(ownerOf(request), query);
  });

  app.post('/api/templates', async (request, reply) => {
    const ownerId = ownerOf(request);
    const template = await templates.create(
      ownerId,
      await saveInput(viewerOf(request), request.body),
    );
    return reply.code(201).send(template);
  });

  // Before /:id so "import" is never read as an id.
  app.post('/api/templates/import', { bodyLimit: IMPORT_BODY_LIMIT }, async (request, reply) => {
    const template = await templates.importFile(ownerOf(request), request.body);
    return reply.code(201).send(template);
  });

  app.get('/api/templates/:id', async (request) => {
    const { version } = versionQuerySchema.parse(request.query ?? {});
    return templates.get(viewerOf(request), requireId(request.params), version);
  });

  app.put('/api/templates/:id', async (request) => {
    const ownerId = ownerOf(request);
    const id = requireId(request.params);
    // Read-only and ownership are checked before the body, so a shipped template answers 403
    // whatever is sent.
    await templates.requireWritable(ownerId, id);
    return templates.update(ownerId, id, await saveInput(viewerOf(request), request.body));
  });

  app.delete('/api/templates/:id', async (request, reply) => {
    await templates.delete(ownerOf(request), requireId(request.params));
    return reply.code(204).send();
  });

  app.get('/api/templates/:id/versions', async (request) =>
    templates.versions(viewerOf(request), requireId(request.params)),
  );

  app.get('/api/templates/:id/export', async (request, reply) => {
    const { version } = versionQuerySchema.parse(request.query ?? {});
    const file = await templates.exportFile(viewerOf(request), requireId(request.params), version);
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', attachment(`${file.name}.template.json`))
      .send(file.text);
  });

  app.post('/api/templates/:id/instantiate', async (request, reply) => {
    const ownerId = ownerOf(request);
    const id = requireId(request.params);
    const body = instantiateBodySchema.parse(request.body ?? {});
    const { graph } = await templates.prepare(ownerId, id, body);
    // Values may name a character or image: the new workflow only gets what its owner can read.
    await requireReadableResources(
      ctx.engine.graph,
      graph,
      ownerReads(ctx.engine.documents, ctx.engine.artifacts, ownerId),
    );
    const record = await createWorkflow(ctx, ownerId, graph);
    return reply.code(201).send(record);
  });
}
