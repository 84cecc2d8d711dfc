/**
 * The API server: Fastify for HTTP (DESIGN §6), Socket.IO on the same port for run watching
 * and worker reports. It drives an Engine and holds no state of its own beyond rate-limit
 * windows, so several replicas can run behind a load balancer.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { Server as SocketServer } from 'socket.io';
import { LIMITS } from '../graph/document';
import type { Engine } from '../engine-types';
import { probe as ffprobe } from '../media/ffmpeg';
import {
  type MediaProber,
  type ResolvedServerOptions,
  type ServerContext,
  type ServerLog,
} from './context';
import { toHttpError } from './http-errors';
import { RateLimiter, type RateLimitOptions } from './rate-limit';
import { artifactRoutes } from './routes/artifacts';
import { characterRoutes } from './routes/characters';
import { graphRoutes } from './routes/graphs';
import { runRoutes } from './routes/runs';
import { studioRoutes } from './routes/studio';
import { systemRoutes } from './routes/system';
import { templateRoutes } from './routes/templates';
import { workflowRoutes } from './routes/workflows';
import { createRedactor, secretsOf } from './secrets';
import { linkReplicas, type ReplicaLink } from './replicas';
import { createServerMetrics, metricsRoute } from './metrics';
import { attachSockets } from './sockets';
import { TemplateCatalog, TemplateService } from './templates';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServerOptions {
  /** Template documents; `workflows/` at the repo root by default. */
  templatesDir?: string;
  /** The built studio; `dist/editor` at the repo root by default. */
  editorDir?: string;
  /** JSON request bodies. Default: the 1 MB document limit plus room for `{ graph, values }`. */
  bodyLimitBytes?: number;
  /** One uploaded artifact. Default 256 MB. */
  uploadLimitBytes?: number;
  /** One character reference image. Default 20 MB. */
  imageLimitBytes?: number;
  /** Default 40 megapixels. */
  maxImagePixels?: number;
  maxImagesPerCharacter?: number;
  /** Per client address; `false` turns it off. Default 600 requests a minute. */
  rateLimit?: RateLimitOptions | false;
  /** Default 8. */
  maxActiveRunsPerUser?: number;
  /** LAB_ARTIFACT_REDIRECT: `presigned` sends downloads to the blob store's presigned URLs. */
  artifactRedirect?: 'off' | 'presigned';
  /** Reads duration and size of uploaded video/audio; ffprobe by default, `false` to skip. */
  probe?: MediaProber | false;
  /** Trust X-Forwarded-For (behind a load balancer); off by default. */
  trustProxy?: boolean;
  /** LAB_REDIS_URL: replicas sharing this Redis share Socket.IO and live run events. */
  redisUrl?: string;
  log?: ServerLog;
}

export interface LabServer {
  app: FastifyInstance;
  io: SocketServer;
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8080`). */
  listen(host?: string, port?: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

/** Builds (does not start) the HTTP + Socket.IO server for an engine. */
export function buildServer(engine: Engine, options: ServerOptions = {}): LabServer {
  const redact = createRedactor(secretsOf(engine.providers, engine.workerToken));
  const baseLog: ServerLog = options.log ?? (() => {});
  const log: ServerLog = (level, message) => baseLog(level, redact(message));
  const resolved: ResolvedServerOptions = {
    templatesDir: options.templatesDir ?? `${REPO_ROOT}workflows`,
    editorDir: options.editorDir ?? `${REPO_ROOT}dist/editor`,
    bodyLimitBytes: options.bodyLimitBytes ?? LIMITS.maxDocumentBytes + 512 * 1024,
    uploadLimitBytes: options.uploadLimitBytes ?? 256 * 1024 * 1024,
    imageLimitBytes: options.imageLimitBytes ?? 20 * 1024 * 1024,
    maxImagePixels: options.maxImagePixels ?? 40_000_000,
    maxImagesPerCharacter: options.maxImagesPerCharacter ?? 20,
    rateLimit: options.rateLimit ?? { max: 600, windowMs: 60_000 },
    maxActiveRunsPerUser: options.maxActiveRunsPerUser ?? 8,
    artifactRedirect: options.artifactRedirect ?? 'off',
    probe:
      options.probe ??
      ((file) =>
        ffprobe(file, {
          ffmpegPath: engine.providers.ffmpegPath,
          ffprobePath: engine.providers.ffprobePath,
        })),
    log,
  };
  const ctx: ServerContext = {
    engine,
    options: resolved,
    templates: new TemplateService({
      graph: engine.graph,
      documents: engine.documents,
      artifacts: engine.artifacts,
      catalog: new TemplateCatalog(engine.graph, resolved.templatesDir, (message) =>
        log('warn', message),
      ),
      runSnapshot: (runId) => engine.runs.snapshot(runId),
    }),
    redact,
    log,
  };

  const app = Fastify({
    logger: false,
    bodyLimit: resolved.bodyLimitBytes,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
  });

  // An empty JSON body (a bare POST to /cancel with the JSON header) means "no body".
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else void jsonParser(request, text, done);
  });
  void app.register(fastifyMultipart, {
    limits: { fileSize: resolved.uploadLimitBytes, files: 1, fields: 20, parts: 60 },
  });

  if (resolved.rateLimit) installRateLimit(app, resolved.rateLimit);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return typeof payload === 'string' ? redact(payload) : payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error, {
      bodyBytes: resolved.bodyLimitBytes,
      uploadBytes: resolved.uploadLimitBytes,
    });
    if (status >= 500) {
      log(
        'error',
        `${request.method} ${request.url} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    const retryAfterSec = (body.error.details as { retryAfterSec?: unknown } | undefined)
      ?.retryAfterSec;
    if (status === 429 && typeof retryAfterSec === 'number')
      reply.header('retry-after', retryAfterSec);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  systemRoutes(app, ctx);
  graphRoutes(app, ctx);
  workflowRoutes(app, ctx);
  templateRoutes(app, ctx);
  runRoutes(app, ctx);
  characterRoutes(app, ctx);
  artifactRoutes(app, ctx);
  studioRoutes(app, ctx);

  const io = new SocketServer(app.server, {
    serveClient: false,
    maxHttpBufferSize: 4 * 1024 * 1024,
  });
  attachSockets(io, engine, { redact, log });
  const metrics = createServerMetrics(engine, { io, log });
  metricsRoute(app, metrics);
  let replicas: ReplicaLink | undefined;

  return {
    app,
    io,
    async listen(host = '127.0.0.1', port = 8080) {
      // Linked before listening, so no watcher can join before other replicas' events arrive.
      if (options.redisUrl && !replicas) {
        replicas = await linkReplicas(io, engine.events, options.redisUrl, log);
      }
      await app.listen({ host, port });
      const address = app.server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${shownHost}:${address.port}`, port: address.port };
    },
    async close() {
      // Socket.IO first: it ends long-polling requests that would otherwise hold Fastify open.
      io.disconnectSockets(true);
      io.of('/workers').disconnectSockets(true);
      io.engine.close();
      await app.close();
      metrics.close();
      await replicas?.close();
      replicas = undefined;
    },
  };
}

function installRateLimit(app: FastifyInstance, options: RateLimitOptions): void {
  const limiter = new RateLimiter(options);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    const decision = limiter.hit(request.ip);
    reply.header('x-ratelimit-limit', options.max);
    reply.header('x-ratelimit-remaining', decision.remaining);
    if (!decision.allowed) {
      const retryAfter = Math.max(1, Math.ceil(decision.resetMs / 1000));
      return reply
        .code(429)
        .header('retry-after', retryAfter)
        .send({
          error: {
            code: 'rate_limited',
            message: `too many requests from this client (limit ${options.max} per ${Math.round(options.windowMs / 1000)} s): retry in ${retryAfter} s`,
          },
        });
    }
  });
}
