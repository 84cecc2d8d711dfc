/**
 * Socket.IO: browsers watch runs on the default namespace; remote workers report run events
 * on `/workers` (token-authenticated). A watcher's ack carries the snapshot and every stored
 * event after its `sinceSeq`, then `run:event` streams the rest with no gap and no repeat.
 */
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import type { Engine } from '../engine-types';
import { NODE_STATUSES, RUN_EVENT_TYPES, RUN_STATUSES, type RunEventInput } from '../runs/events';
import type { Redactor } from './secrets';
import { watchRun, type RunWatch } from './watch-run';
import type { WorkerHello } from '../worker/progress-sink';
import type { AccountService } from '../auth/account-service';
import { canRead, LOCAL_VIEWER, type Viewer } from '../auth/viewer';
import { viewerOfHandshake } from './auth';
import { authenticateWorker, WorkerEventGate, type WorkerCredential } from './worker-auth';

export interface SocketOptions {
  redact: Redactor;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Runs one browser may watch at once. */
  maxWatchesPerSocket?: number;
  /** Accounts (LAB_AUTH=on): a watcher must be signed in and may watch only runs it can read. */
  accounts?: AccountService;
}

/** Ack of a failed request: the same error shape as HTTP. */
export interface SocketError {
  error: { code: string; message: string };
}

const runIdSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'run ids use letters, digits and _ . : - only');

const watchSchema = z.strictObject({
  runId: runIdSchema,
  sinceSeq: z.number().int().nonnegative().optional(),
});

const unwatchSchema = z.strictObject({ runId: runIdSchema });

const runEventInputSchema = z.strictObject({
  key: z.string().min(1).max(500),
  runId: runIdSchema,
  type: z.enum(RUN_EVENT_TYPES),
  nodeId: z.string().min(1).max(100).optional(),
  index: z.number().int().nonnegative().optional(),
  total: z.number().int().nonnegative().optional(),
  progress: z.number().min(0).max(1).optional(),
  stage: z.string().max(500).optional(),
  status: z.enum([...NODE_STATUSES, ...RUN_STATUSES]).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  error: z.string().max(20_000).optional(),
  at: z.string().min(1).max(100),
});

/** One batch from a worker; a worker flushes often, so big batches mean something is wrong. */
const eventBatchSchema = z.array(runEventInputSchema).min(1).max(1_000);

type Ack = (response: unknown) => void;

/** Wires the default namespace (run watching) and `/workers` (event intake). */
export function attachSockets(io: Server, engine: Engine, options: SocketOptions): void {
  // Who a browser socket acts for, from its page's session cookie or `auth.token`.
  io.use((socket, next) => {
    if (!options.accounts) {
      socket.data.viewer = LOCAL_VIEWER;
      next();
      return;
    }
    viewerOfHandshake(
      socket.handshake.headers,
      socket.handshake.auth as Record<string, unknown> | undefined,
      options.accounts,
    ).then(
      (viewer) => {
        if (viewer) {
          socket.data.viewer = viewer;
          next();
        } else next(new Error('unauthenticated'));
      },
      (error: unknown) => {
        options.log(
          'error',
          `checking a socket's session failed: ${options.redact(String(error))}`,
        );
        next(new Error('unauthenticated'));
      },
    );
  });
  io.on('connection', (socket) => handleBrowser(socket, engine, options));

  const workers = io.of('/workers');
  const gate = new WorkerEventGate(engine, options.log);
  // The shared cluster token, or (accounts on) a per-worker token: engine/server/worker-auth.ts.
  workers.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
    authenticateWorker(token, engine.workerToken, options.accounts).then(
      (credential) => {
        if (credential) {
          socket.data.worker = credential;
          next();
          return;
        }
        options.log(
          'warn',
          `refused a worker connection from ${socket.handshake.address}: bad token`,
        );
        next(new Error('unauthorized'));
      },
      (error: unknown) => {
        options.log('error', `checking a worker's token failed: ${options.redact(String(error))}`);
        next(new Error('unavailable'));
      },
    );
  });
  // A revoked worker token's connections end at once; on other replicas its next batch is
  // refused (every batch checks the token again).
  options.accounts?.onTokenRevoked((tokenId) => {
    gate.forgetToken(tokenId);
    for (const socket of workers.sockets.values()) {
      const credential = socket.data.worker as WorkerCredential | undefined;
      if (credential?.kind === 'token' && credential.tokenId === tokenId) socket.disconnect(true);
    }
  });
  workers.on('connection', (socket) => {
    const credential = socket.data.worker as WorkerCredential;
    // Where this server's Temporal is: a worker that polls elsewhere (the embedded dev server
    // moved to a new port) rebuilds its Temporal workers on it (engine/worker/process.ts). A
    // per-worker token's workers poll with the identity named here.
    socket.emit('temporal', {
      address: engine.temporal.address,
      namespace: engine.temporal.namespace,
      ...(credential.kind === 'token' ? { identity: credential.identity } : {}),
    } satisfies WorkerHello);
    socket.on('events', async (batch: unknown, ack?: Ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      const parsed = eventBatchSchema.safeParse(batch);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        reply({
          ok: false,
          error: `invalid_events: ${issue.path.join('.') || 'batch'}: ${issue.message}`,
        });
        return;
      }
      const refused = new Map<string, string>();
      try {
        if (
          credential.kind === 'token' &&
          !(await options.accounts?.workerToken(credential.token))
        ) {
          reply({
            ok: false,
            error:
              'token_revoked: this worker token was revoked (or its admin disabled): make a new one on the Tokens page',
          });
          socket.disconnect(true);
          return;
        }
        for (const runId of new Set(parsed.data.map((event) => event.runId))) {
          const refusal = await gate.check(runId, credential);
          if (refusal) refused.set(runId, `${refusal.code}: ${refusal.message}`);
        }
      } catch (error) {
        const message = options.redact(error instanceof Error ? error.message : String(error));
        options.log('error', `checking worker events failed: ${message}`);
        reply({ ok: false, error: `check_failed: ${message}` });
        return;
      }
      try {
        // In order: a run's events must be numbered as the worker produced them.
        for (const event of parsed.data) {
          if (!refused.has(event.runId)) await engine.events.append(event as RunEventInput);
        }
      } catch (error) {
        const message = options.redact(error instanceof Error ? error.message : String(error));
        options.log('error', `storing worker events failed: ${message}`);
        reply({ ok: false, error: `store_failed: ${message}` });
        return;
      }
      const [first] = refused.values();
      // The other runs' events are stored: the worker drops only the refused runs' events.
      reply(
        first === undefined
          ? { ok: true }
          : { ok: false, error: first, refused: Object.fromEntries(refused) },
      );
    });
  });
}

/** What this file needs of an engine.io connection. */
interface EngineConnection {
  request: IncomingMessage;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Socket.IO connections per client address. Counted by the engine.io connections that are open;
 * `admit` runs in `allowRequest`, and engine.io finishes the handshake it allows within the same
 * turn of the event loop, so no second handshake can slip in between the check and the count.
 */
export class SocketClientCap {
  private readonly open = new Map<string, number>();

  constructor(
    readonly maxPerClient: number,
    /** Behind a load balancer the client is X-Forwarded-For's first address. */
    private readonly trustProxy = false,
  ) {}

  /** The client a request comes from. */
  clientOf(request: IncomingMessage): string {
    const forwarded = request.headers['x-forwarded-for'];
    if (this.trustProxy && typeof forwarded === 'string' && forwarded.trim() !== '') {
      return forwarded.split(',')[0].trim();
    }
    return request.socket.remoteAddress ?? 'unknown';
  }

  /** undefined when the request may connect, else the refusal's code. */
  admit(request: IncomingMessage): string | undefined {
    return (this.open.get(this.clientOf(request)) ?? 0) >= this.maxPerClient
      ? 'too_many_sockets'
      : undefined;
  }

  /** Counts the connections engine.io opens and closes. */
  attach(io: Server): void {
    io.engine.on('connection', (connection: EngineConnection) => {
      const client = this.clientOf(connection.request);
      this.open.set(client, (this.open.get(client) ?? 0) + 1);
      connection.once('close', () => {
        const left = (this.open.get(client) ?? 1) - 1;
        if (left > 0) this.open.set(client, left);
        else this.open.delete(client);
      });
    });
  }
}

function handleBrowser(socket: Socket, engine: Engine, options: SocketOptions): void {
  const watches = new Map<string, RunWatch>();
  /** Watches being opened (awaiting the store): they count against the limit already. */
  const opening = new Set<string>();
  const maxWatches = options.maxWatchesPerSocket ?? 50;

  const stopWatch = (runId: string) => {
    watches.get(runId)?.stop();
    watches.delete(runId);
    void socket.leave(roomOf(runId));
  };

  socket.on('run:watch', async (payload: unknown, ack?: Ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    const parsed = watchSchema.safeParse(payload);
    if (!parsed.success) {
      reply(
        socketError(
          'invalid_request',
          `run:watch takes { runId, sinceSeq? }: ${parsed.error.issues[0].message}`,
        ),
      );
      return;
    }
    const { runId, sinceSeq = 0 } = parsed.data;
    // Checked and reserved before the first await: a burst of watches on one socket must not
    // all pass the check while the earlier ones are still reading the store.
    const slots = new Set([...watches.keys(), ...opening]);
    if (!slots.has(runId) && slots.size >= maxWatches) {
      reply(
        socketError(
          'too_many_watches',
          `this connection already watches ${maxWatches} runs: unwatch one first`,
        ),
      );
      return;
    }
    if (opening.has(runId)) {
      reply(
        socketError(
          'watch_in_progress',
          `a watch of run "${runId}" is being opened on this connection: wait for its answer`,
        ),
      );
      return;
    }
    opening.add(runId);
    let watch: RunWatch | null;
    try {
      // Another user's run is reported as missing, exactly like one that does not exist.
      const run = await engine.runs.get(runId);
      if (!run || !canRead(run, socket.data.viewer as Viewer)) {
        reply(socketError('run_not_found', `run "${runId}" does not exist: check the run id`));
        return;
      }
      watch = await watchRun(engine, runId, sinceSeq, (event) => {
        socket.emit('run:event', options.redact(event));
      });
    } catch (error) {
      options.log('error', `run:watch ${runId} failed: ${options.redact(String(error))}`);
      reply(socketError('internal_error', 'the server could not read this run: retry in a moment'));
      return;
    } finally {
      opening.delete(runId);
    }
    if (!watch) {
      reply(socketError('run_not_found', `run "${runId}" does not exist: check the run id`));
      return;
    }
    if (socket.disconnected) {
      watch.stop();
      return;
    }
    // A second watch of the same run replaces the first (a client re-syncing after a gap).
    watches.get(runId)?.stop();
    watches.set(runId, watch);
    await socket.join(roomOf(runId));
    // DESIGN §6: the ack is the snapshot (current to the last stored event); what the client
    // missed since `sinceSeq` follows as ordinary run:events, then the live stream.
    reply(options.redact(watch.snapshot));
    for (const event of watch.events) socket.emit('run:event', options.redact(event));
    watch.start();
  });

  socket.on('run:unwatch', (payload: unknown, ack?: Ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    const parsed = unwatchSchema.safeParse(payload);
    if (!parsed.success) {
      reply(socketError('invalid_request', 'run:unwatch takes { runId }'));
      return;
    }
    stopWatch(parsed.data.runId);
    reply({ ok: true });
  });

  socket.on('disconnect', () => {
    for (const runId of [...watches.keys()]) stopWatch(runId);
  });
}

/** The room of a run's watchers (for adapters and introspection; events go per socket). */
export function roomOf(runId: string): string {
  return `run:${runId}`;
}

function socketError(code: string, message: string): SocketError {
  return { error: { code, message } };
}
