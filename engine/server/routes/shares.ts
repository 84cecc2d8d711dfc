/**
 * Share links over HTTP (the logic is in ../share-links.ts). The owner's side needs a viewer
 * like every route: make a link to a workflow they can read, list their links to it, revoke
 * one. The public side is reached with the link's token alone, even with accounts on: the
 * shared graph, its preview and video (those two artifacts only), and importing a copy, which
 * needs a signed-in viewer again because the copy has to belong to someone.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LabError, notFound } from '../../errors';
import { artifactIdSchema } from '../../graph/values';
import { requireId, viewerOf, visibleTo, type ServerContext } from '../context';
import { requireLoadableGraph } from '../graph-input';
import { sendMintedSecret } from '../minted-secret';
import { SHARE_DEFAULT_DAYS, SHARE_MAX_DAYS, ShareLinks, shareNotFound } from '../share-links';
import { sendArtifact } from './artifacts';
import { createWorkflow } from './workflows';

const newShareSchema = z.strictObject({
  expiresInDays: z.number().int().min(1).max(SHARE_MAX_DAYS).optional(),
  includeVideo: z.boolean().optional(),
});

/**
 * Shared artifacts may be cached briefly, never for the year the content-addressed route
 * allows: a revoked link has to stop showing them.
 */
const SHARED_ARTIFACT_CACHE = 'private, max-age=300';

export function shareRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  /** Where links point: the studio's public URL, or the address it answers on. */
  baseUrlOf: (request: FastifyRequest) => string,
  links: ShareLinks = new ShareLinks(ctx),
): void {
  const { documents } = ctx.engine;
  const publicRoute = { config: { public: true } };
  const tokenOf = (request: FastifyRequest): unknown =>
    (request.params as { token?: unknown }).token;

  app.post('/api/workflows/:id/shares', async (request, reply) => {
    const viewer = viewerOf(request);
    const id = requireId(request.params);
    const body = parseNewShare(request.body);
    const workflow = visibleTo(await documents.workflows.get(id), viewer);
    if (!workflow) throw notFound('workflow', id);
    const { token, share } = await links.create(viewer, workflow, {
      workflowId: workflow.id,
      expiresInDays: body.expiresInDays ?? SHARE_DEFAULT_DAYS,
      includeVideo: body.includeVideo ?? false,
    });
    // The only time the token is shown: the store keeps its hash.
    return sendMintedSecret(reply, 201, {
      ...links.summarize(share),
      token,
      url: `${baseUrlOf(request)}/s/${token}`,
    });
  });

  app.get('/api/workflows/:id/shares', async (request) => {
    const viewer = viewerOf(request);
    const id = requireId(request.params);
    const workflow = visibleTo(await documents.workflows.get(id), viewer);
    if (!workflow) throw notFound('workflow', id);
    return links.list(viewer, workflow.id);
  });

  app.delete('/api/shares/:id', async (request, reply) => {
    await links.revoke(viewerOf(request), requireId(request.params));
    return reply.code(204).send();
  });

  app.get('/api/shared/:token', publicRoute, async (request, reply) => {
    const token = tokenOf(request);
    const share = await links.open(token);
    // The page is one person's link: no shared cache keeps it after a revoke.
    reply.header('cache-control', 'private, no-store');
    return links.describe(
      share,
      (artifactId) => `/api/shared/${String(token)}/artifacts/${artifactId}`,
    );
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/shared/:token/artifacts/:artifactId',
    config: { public: true },
    handler: async (request, reply) => {
      const share = await links.open(tokenOf(request));
      const raw = (request.params as { artifactId?: unknown }).artifactId;
      const artifactId = artifactIdSchema.safeParse(raw);
      // Only what the owner chose to show; anything else is as missing as a wrong token.
      const shared = [share.preview, share.video].find((ref) => ref?.id === artifactId.data);
      if (!artifactId.success || !shared) throw shareNotFound();
      const record = await ctx.engine.artifacts.get(shared.id);
      if (!record) throw shareNotFound();
      return sendArtifact(ctx, request, reply, record, { cacheControl: SHARED_ARTIFACT_CACHE });
    },
  });

  // Not public: the copy belongs to the importer (the local user when accounts are off).
  app.post('/api/shared/:token/import', async (request, reply) => {
    const viewer = viewerOf(request);
    const share = await links.open(tokenOf(request));
    // The stored copy may predate node migrations this server has since learnt.
    const loaded = requireLoadableGraph(ctx.engine.graph, share.graph);
    const { graph, cleared } = await links.importable(share, loaded.graph, viewer);
    const record = await createWorkflow(ctx, viewer.id, graph);
    return reply.code(201).send({
      ...record,
      problems: ctx.engine.graph.validate(record.graph),
      placeholders: cleared,
    });
  });
}

function parseNewShare(body: unknown): z.infer<typeof newShareSchema> {
  const parsed = newShareSchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new LabError(
      'invalid_share',
      `a share link takes { expiresInDays?: 1-${SHARE_MAX_DAYS} (default ${SHARE_DEFAULT_DAYS}), includeVideo?: true|false }: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`,
      400,
    );
  }
  return parsed.data;
}
