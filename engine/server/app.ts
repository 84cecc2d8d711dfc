/**
 * The API server: Fastify for HTTP (DESIGN §6), Socket.IO on the same port for run watching
 * and worker reports. It drives an Engine and holds no state of its own beyond rate-limit
 * windows, so several replicas can run behind a load balancer.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
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
import { DEFAULT_BODY_TIMEOUT, installBodyTimeout, type BodyTimeoutOptions } from './body-timeout';
import { checkJsonDepth } from './graph-input';
import { toHttpError } from './http-errors';
import { OriginGuard } from './origin-guard';
import { AccountService } from '../auth/account-service';
import { LabError } from '../errors';
import { installAuth, type AuthOptions } from './auth';
import { accountRoutes } from './routes/accounts';
import { RateLimiter, type RateLimitOptions } from './rate-limit';
import { artifactRoutes } from './routes/artifacts';
import { characterRoutes } from './routes/characters';
import { graphRoutes } from './routes/graphs';
import { runRoutes } from './routes/runs';
import { shareRoutes } from './routes/shares';
import { studioRoutes } from './routes/studio';
import { systemRoutes } from './routes/system';
import { templateRoutes } from './routes/templates';
import { workflowRoutes } from './routes/workflows';
import { createRedactor, secretsOf } from './secrets';
import { linkReplicas, type ReplicaLink } from './replicas';
import { createServerMetrics, metricsRoute } from './metrics';
import { attachSockets, SocketClientCap } from './sockets';
import { sweepStaleUploads } from './uploads';
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
  /**
   * Where presigned downloads point (the S3 endpoint's origin): the studio's images and videos
   * load from there, so the content security policy must allow it.
   */
  artifactOrigin?: string;
  /** Reads duration and size of uploaded video/audio; ffprobe by default, `false` to skip. */
  probe?: MediaProber | false;
  /** Trust X-Forwarded-For (behind a load balancer); off by default. */
  trustProxy?: boolean;
  /** LAB_REDIS_URL: replicas sharing this Redis share Socket.IO and live run events. */
  redisUrl?: string;
  /** LAB_PUBLIC_URL: where browsers reach the studio; its origin and host are allowed. */
  publicUrl?: string;
  /** LAB_ALLOWED_ORIGINS: pages that may change state; default the Vite dev server's. */
  allowedOrigins?: readonly string[];
  /** LAB_ALLOWED_HOSTS: Host names besides loopback, IP literals and the listening host. */
  allowedHosts?: readonly string[];
  /** LAB_MAX_SOCKETS_PER_CLIENT: Socket.IO connections per client address. Default 50. */
  maxSocketsPerClient?: number;
  /** The minimum rate a request body must keep up (see body-timeout.ts). */
  bodyTimeout?: BodyTimeoutOptions;
  /** LAB_AUTH: accounts (`on`) or the single local user (`off`, the default). */
  auth?: 'off' | 'on';
  /**
   * LAB_ALLOW_NO_AUTH=on: listen on a non-loopback address with accounts off anyway (a trusted
   * network, or a proxy that authenticates). Logged loudly at every start.
   */
  allowNoAuth?: boolean;
  /** LAB_ADMIN_USERNAME / LAB_ADMIN_PASSWORD: the first admin, made when there are no users. */
  bootstrapAdmin?: { username: string; password: string };
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
  const auth: AuthOptions = {
    mode: options.auth ?? 'off',
    secureCookies: options.publicUrl?.startsWith('https:') ?? false,
  };
  const accounts = auth.mode === 'on' ? new AccountService(engine.documents) : undefined;
  const ctx: ServerContext = {
    engine,
    ...(accounts ? { accounts } : {}),
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

  const guard = new OriginGuard({
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  const errorLimits = (request: FastifyRequest) => ({
    bodyBytes: request.routeOptions.bodyLimit ?? resolved.bodyLimitBytes,
    // Character forms take reference images, capped lower than artifacts (routes/characters.ts).
    uploadBytes: request.url.startsWith('/api/characters')
      ? resolved.imageLimitBytes
      : resolved.uploadLimitBytes,
  });

  const app = Fastify({
    logger: false,
    bodyLimit: resolved.bodyLimitBytes,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    // An idle connection is closed after a minute; a whole request may take an hour, so a
    // 256 MB upload passes at 0.6 Mbit/s. A body trickled slower than that is cut off far
    // sooner by the rate rule of body-timeout.ts.
    connectionTimeout: 60_000,
    requestTimeout: 60 * 60_000,
    // A path Fastify cannot route (`/%c0%ae`) is answered in our error shape too.
    frameworkErrors: (error, request, reply) => {
      const { status, body } = toHttpError(error, errorLimits(request));
      void (reply as FastifyReply).code(status).type('application/json; charset=utf-8').send(body);
    },
  });
  // Every Host is checked, and the Origin of every state-changing request (origin-guard.ts).
  app.addHook('onRequest', async (request) => {
    const refusal = guard.check(request.raw as { method: string; headers: Record<string, string> });
    if (refusal) throw refusal;
  });
  installBodyTimeout(app, options.bodyTimeout ?? DEFAULT_BODY_TIMEOUT);
  const presignedOrigin =
    options.artifactRedirect === 'presigned' && options.artifactOrigin
      ? [new URL(options.artifactOrigin).origin]
      : [];
  void app.register(fastifyHelmet, {
    // The built studio runs under this: Vite emits no inline script; React Flow positions
    // nodes with inline styles; previews are blob:/data: URLs; Socket.IO connects over ws:.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:', ...presignedOrigin],
        mediaSrc: ["'self'", 'blob:', ...presignedOrigin],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // Plain HTTP on loopback by default: HSTS would pin a name to HTTPS the server does not
    // speak; a TLS proxy in front sets it.
    strictTransportSecurity: false,
  });

  // An empty JSON body (a bare POST to /cancel with the JSON header) means "no body".
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      checkJsonDepth(text);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    void jsonParser(request, text, done);
  });
  void app.register(fastifyMultipart, {
    limits: { fileSize: resolved.uploadLimitBytes, files: 1, fields: 20, parts: 60 },
  });

  if (resolved.rateLimit) installRateLimit(app, resolved.rateLimit);
  // After the rate limit: a flood of requests with made-up tokens is refused before any lookup.
  installAuth(app, accounts, auth);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return typeof payload === 'string' ? redact(payload) : payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error, errorLimits(request));
    if (status >= 500) {
      log(
        'error',
        `${request.method} ${request.url} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    const retryAfterSec = (body.error.details as { retryAfterSec?: unknown } | undefined)
      ?.retryAfterSec;
    // 429 (run cap) and 503 (Temporal restarting) both say when to come back.
    if ((status === 429 || status === 503) && typeof retryAfterSec === 'number')
      reply.header('retry-after', retryAfterSec);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  systemRoutes(app, ctx);
  accountRoutes(app, ctx, auth, (request) =>
    (options.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, ''),
  );
  graphRoutes(app, ctx);
  workflowRoutes(app, ctx);
  templateRoutes(app, ctx);
  runRoutes(app, ctx);
  characterRoutes(app, ctx);
  artifactRoutes(app, ctx);
  shareRoutes(app, ctx, (request) =>
    (options.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/$/, ''),
  );
  studioRoutes(app, ctx);

  const socketCap = new SocketClientCap(options.maxSocketsPerClient ?? 50, options.trustProxy);
  const io = new SocketServer(app.server, {
    serveClient: false,
    maxHttpBufferSize: 4 * 1024 * 1024,
    // Socket.IO requests bypass Fastify's hooks: the same Host/Origin check, plus the cap.
    allowRequest: (request, callback) => {
      const refusal = guard.check(
        { method: request.method ?? 'GET', headers: request.headers },
        true,
      );
      if (refusal) {
        log(
          'warn',
          `refused a Socket.IO connection from ${request.socket.remoteAddress}: ${refusal.code}`,
        );
        callback(refusal.code, false);
        return;
      }
      const full = socketCap.admit(request);
      callback(full ?? null, full === undefined);
    },
  });
  socketCap.attach(io);
  attachSockets(io, engine, { redact, log, ...(accounts ? { accounts } : {}) });
  const metrics = createServerMetrics(engine, { io, log });
  metricsRoute(app, metrics);
  let replicas: ReplicaLink | undefined;

  return {
    app,
    io,
    async listen(host = '127.0.0.1', port = 8080) {
      refuseUnsafeExposure(host, engine.workerToken, auth.mode, options.allowNoAuth ?? false, log);
      // Linked before listening, so no watcher can join before other replicas' events arrive.
      if (options.redisUrl && !replicas) {
        replicas = await linkReplicas(io, engine.events, options.redisUrl, log);
      }
      // The name it was told to listen on is one it answers to (HOST=studio.lan).
      guard.allowHost(host);
      // Folders of uploads cut short by a crash of an earlier process.
      await sweepStaleUploads(log);
      // Before the port is taken, so a bad LAB_ADMIN_PASSWORD stops the start cleanly.
      if (accounts && options.bootstrapAdmin) {
        await createFirstAdmin(accounts, options.bootstrapAdmin, log);
      }
      await app.listen({ host, port });
      const address = app.server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${shownHost}:${address.port}`;
      if (accounts) await inviteFirstAdmin(accounts, options.publicUrl ?? url, log);
      return { url, port: address.port };
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

/** Loopback: only this machine can connect, so one local user without accounts is safe. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Worker tokens anyone could guess: the old compose default, and short ones. */
const WEAK_WORKER_TOKENS = new Set(['change-me', 'changeme', 'secret', 'token', 'password']);
const MIN_WORKER_TOKEN_LENGTH = 24;

/**
 * A server reachable from other machines must know who is asking: without accounts it refuses
 * to listen on a non-loopback address (LAB_ALLOW_NO_AUTH=on overrides, loudly), and it never
 * accepts a guessable worker token there or with accounts on.
 */
export function refuseUnsafeExposure(
  host: string,
  /** LAB_WORKER_TOKEN; undefined when unset (the engine makes a random one). */
  workerToken: string | undefined,
  auth: 'off' | 'on',
  allowNoAuth: boolean,
  log: ServerLog,
): void {
  const exposed = !isLoopbackHost(host);
  if (exposed && auth === 'off') {
    if (!allowNoAuth) {
      throw new LabError(
        'auth_required',
        `refusing to listen on ${host} without accounts: anyone who can reach it could read and change everything. ` +
          'Set LAB_AUTH=on (see README, "Accounts"), listen on 127.0.0.1, or set LAB_ALLOW_NO_AUTH=on if a trusted proxy authenticates every request',
        400,
      );
    }
    log(
      'warn',
      `LAB_ALLOW_NO_AUTH=on: listening on ${host} WITHOUT ACCOUNTS. Everyone who can reach this address can read, change and delete every workflow, character and run.`,
    );
  }
  if ((exposed || auth === 'on') && workerToken !== undefined && isWeakWorkerToken(workerToken)) {
    throw new LabError(
      'weak_worker_token',
      `LAB_WORKER_TOKEN is a default or too short (under ${MIN_WORKER_TOKEN_LENGTH} characters): anyone could report events as a worker. ` +
        'Set it to a long random value (openssl rand -hex 32), or leave it unset and give each remote worker its own token (Tokens page)',
      400,
    );
  }
}

function isWeakWorkerToken(token: string): boolean {
  return WEAK_WORKER_TOKENS.has(token.toLowerCase()) || token.length < MIN_WORKER_TOKEN_LENGTH;
}

/**
 * A server with accounts and no users yet gets its first admin: from LAB_ADMIN_USERNAME and
 * LAB_ADMIN_PASSWORD when set (createFirstAdmin), else through a one-time invite link written
 * to the log (inviteFirstAdmin: valid 24 h; a restart without users writes a new one).
 */
async function createFirstAdmin(
  accounts: AccountService,
  admin: { username: string; password: string },
  log: ServerLog,
): Promise<void> {
  if (await accounts.hasUsers()) return;
  let user: { username: string };
  try {
    user = await accounts.createUser({ ...admin, role: 'admin' });
  } catch (error) {
    // Another replica made it first.
    if (error instanceof LabError && error.code === 'username_taken') return;
    if (error instanceof LabError && error.status === 400) {
      throw new LabError(
        error.code,
        `LAB_ADMIN_USERNAME / LAB_ADMIN_PASSWORD cannot make the first admin: ${error.message}`,
        400,
      );
    }
    throw error;
  }
  log('info', `created the first admin, "${user.username}" (LAB_ADMIN_USERNAME)`);
}

async function inviteFirstAdmin(
  accounts: AccountService,
  baseUrl: string,
  log: ServerLog,
): Promise<void> {
  if (await accounts.hasUsers()) return;
  const system = {
    id: 'system',
    username: 'system',
    role: 'admin' as const,
    via: 'local' as const,
  };
  const { token } = await accounts.createInvite(system, { role: 'admin', expiresInHours: 24 });
  log(
    'warn',
    `no accounts yet: open ${baseUrl.replace(/\/$/, '')}/invite/${token} within 24 h to create the first admin (or set LAB_ADMIN_USERNAME and LAB_ADMIN_PASSWORD)`,
  );
}
