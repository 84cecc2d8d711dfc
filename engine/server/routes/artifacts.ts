/**
 * Artifacts: uploads in, bytes out. Ids are sha256 hex (content-addressed), checked before
 * any store sees them. Downloads carry the stored type, a strong ETag and Range support, so
 * the studio's video player can scrub.
 *
 * Bytes are served only while they still match the artifact's recorded size and sha256 (its
 * id): a blob damaged on disk answers 500 `artifact_corrupt` instead, never the wrong bytes
 * under an immutable cache header. Re-running the node that made it stores it again.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkBlob } from '../../artifacts/integrity';
import { LabError, notFound } from '../../errors';
import { artifactIdSchema } from '../../graph/values';
import type { ArtifactRecord } from '../../stores/ports';
import { ownerOf, viewerOf, type ServerContext } from '../context';
import { parseRange } from '../range';
import { receiveArtifact } from '../uploads';

/** How long a presigned download link lasts. */
const PRESIGNED_URL_SECONDS = 10 * 60;

export function artifactRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { engine } = ctx;

  app.post('/api/artifacts', async (request, reply) => {
    const ref = await receiveArtifact(request, ctx, ownerOf(request));
    return reply.code(201).send(ref);
  });

  // HEAD is declared, not derived: Fastify's derived HEAD would read the whole blob to drop it.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/artifacts/:id',
    handler: async (request, reply) => {
      const raw = (request.params as { id?: string }).id ?? '';
      const parsed = artifactIdSchema.safeParse(raw);
      if (!parsed.success) {
        throw new LabError(
          'invalid_artifact_id',
          `"${raw.slice(0, 80)}" is not an artifact id: artifact ids are 64 lower-case hex characters (a sha256)`,
          400,
        );
      }
      const id = parsed.data;
      const record = await engine.artifacts.readableBy(id, viewerOf(request));
      if (!record) throw notFound('artifact', id);
      return sendArtifact(ctx, request, reply, record);
    },
  });
}

/**
 * Answers a GET or HEAD with an artifact's bytes, once the caller has decided the requester
 * may read `record`: type, strong ETag, Range, the integrity check and the presigned redirect.
 * Share links (routes/shares.ts) serve their preview and video through it too, with a short
 * cache life, since a revoked link must stop working.
 */
export async function sendArtifact(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  record: ArtifactRecord,
  options: { cacheControl?: string } = {},
): Promise<FastifyReply> {
  const { engine } = ctx;
  const id = record.id;
  const stat = await engine.blobs.stat(id);
  if (!stat) throw notFound('artifact', id);

  const etag = `"${id}"`;
  reply
    .header('content-type', record.mime)
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    // Content-addressed: the bytes behind an id never change.
    .header('cache-control', options.cacheControl ?? 'private, max-age=31536000, immutable')
    .header('content-security-policy', 'sandbox')
    .header('x-content-type-options', 'nosniff');
  if (record.filename) {
    reply.header(
      'content-disposition',
      `inline; filename*=UTF-8''${encodeURIComponent(record.filename)}`,
    );
  }
  // The client's copy is named by the sha256 itself: confirming it sends no bytes.
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  const integrity = await checkBlob(engine.blobs, { id, bytes: record.bytes });
  if (integrity === 'missing') throw notFound('artifact', id);
  if (integrity === 'corrupt') {
    request.log.error({ artifactId: id }, 'artifact bytes do not match their sha256');
    throw new LabError(
      'artifact_corrupt',
      `artifact "${id}" is damaged in the blob store: its bytes no longer match the size and sha256 recorded when it was stored; re-run the node that made it (or upload it again) to store it afresh`,
      500,
    );
  }
  // Large videos need not pass through the API: the blob store serves them (Range too)
  // for a few minutes. Only after the owner check above, so the link is never a way in.
  if (
    ctx.options.artifactRedirect === 'presigned' &&
    engine.blobs.presignedGetUrl &&
    request.method === 'GET'
  ) {
    const disposition = record.filename
      ? `inline; filename*=UTF-8''${encodeURIComponent(record.filename)}`
      : undefined;
    const url = await engine.blobs.presignedGetUrl(id, PRESIGNED_URL_SECONDS, {
      ...(disposition ? { contentDisposition: disposition } : {}),
    });
    return reply.code(302).header('cache-control', 'private, no-store').redirect(url);
  }

  const ifRange = request.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag
      ? parseRange(request.headers.range, stat.bytes)
      : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${stat.bytes}`)
      .type('application/json; charset=utf-8')
      .send({
        error: {
          code: 'range_not_satisfiable',
          message: `the requested range is outside the artifact's ${stat.bytes} bytes: ask for bytes 0-${Math.max(0, stat.bytes - 1)}`,
        },
      });
  }
  const head = request.method === 'HEAD';
  if (range.kind === 'partial') {
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${stat.bytes}`)
      .header('content-length', range.end - range.start + 1);
    return head ? reply.send() : reply.send(await engine.blobs.stream(id, range));
  }
  reply.header('content-length', stat.bytes);
  return head ? reply.send() : reply.send(await engine.blobs.stream(id));
}
