/**
 * Where workers send run events. A worker inside the server process appends straight to the
 * EventHub; a remote worker (a GPU box) sends them to the server's `/workers` Socket.IO
 * namespace. Either way events go through one outbox that keeps them, in order, until the
 * server has stored them — across reconnects and server restarts — so reporting never blocks
 * an activity and never drops an event. The server dedupes by event key, so a resend after a
 * lost ack is harmless.
 */
import { io, type Socket } from 'socket.io-client';
import type { TemporalEndpoint } from '../temporal/launcher';
import type { RunEventInput } from '../runs/events';
import type { EventHub } from '../runs/event-hub';

export interface ProgressSink {
  /**
   * Queues events and returns at once: an activity never waits for the server. They stay
   * queued until stored (see Outbox for how progress is coalesced under a backlog).
   */
  post(events: RunEventInput[]): void;
  /** Queues events like post() and resolves once every one of them is stored. */
  send(events: RunEventInput[]): Promise<void>;
  /** Waits up to `drainMs` for the outbox to empty, then stops delivering. */
  close(drainMs?: number): Promise<void>;
}

/** Stores one batch, in order; throws when it could not (the batch is then sent again). */
type Transport = (events: RunEventInput[]) => Promise<void>;

/**
 * Codes of batches the server will never accept: malformed, for a run that does not exist or
 * already ended, for a run Temporal did not dispatch to this worker's token, or from a revoked
 * token. Retrying cannot help, so the outbox drops them (engine/server/worker-auth.ts).
 */
export const PERMANENT_REFUSALS = [
  'invalid_events',
  'run_not_found',
  'run_finished',
  'run_not_dispatched',
  'token_revoked',
] as const;
export type RefusalCode = (typeof PERMANENT_REFUSALS)[number];

/** A batch, or some runs' events in it, the server will never accept: retrying cannot help. */
export class RefusedEventsError extends Error {
  constructor(
    message: string,
    /** The refusal's code, when the server gave one of PERMANENT_REFUSALS. */
    readonly code?: RefusalCode,
    /**
     * Each refused run's own refusal, when the server stored the batch's other events;
     * undefined when the whole batch was refused.
     */
    readonly byRun?: ReadonlyMap<string, RefusedEventsError>,
  ) {
    super(message);
  }
}

/** What the server says on every (re)connect of a `/workers` socket. */
export interface WorkerHello extends TemporalEndpoint {
  /**
   * With a per-worker token: the Temporal identity this worker's Temporal workers must poll
   * with, so the server can tell which runs Temporal dispatched to it.
   */
  identity?: string;
}

interface Entry {
  event: RunEventInput;
  /** Set when a newer progress event of the same node item replaced this unsent one. */
  superseded: boolean;
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/** The most events one delivery carries (the server takes up to 1,000 per batch). */
const BATCH_SIZE = 500;
const RETRY_DELAY_MS = 250;

/**
 * Ordered, at-least-once delivery with one batch in flight at a time, so the server numbers a
 * worker's events in the order they happened.
 *
 * Bounded under a backlog: a node.progress event replaces the still-unsent progress event of
 * the same run, node and item (the newer one is appended at the end and the older one is
 * skipped), so an outage leaves at most one progress event per item queued. Lifecycle events
 * (started, completed, cached, failed, …) are never coalesced or dropped. An event whose key is
 * already queued is not queued twice (a retried report shares its waiters instead).
 */
class Outbox {
  private readonly queue: Entry[] = [];
  private readonly byKey = new Map<string, Entry>();
  private readonly latestProgress = new Map<string, Entry>();
  private running = false;
  private stopped = false;
  private idle: (() => void)[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly log?: (line: string) => void,
  ) {}

  push(events: RunEventInput[], waiter?: Entry['waiters'][number]): number {
    let pending = 0;
    for (const event of events) {
      let entry = this.byKey.get(event.key);
      if (!entry) {
        entry = { event, superseded: false, waiters: [] };
        if (event.type === 'node.progress') {
          const item = `${event.runId}\u0000${event.nodeId ?? ''}\u0000${event.index ?? ''}`;
          const older = this.latestProgress.get(item);
          if (older && older.waiters.length === 0) older.superseded = true;
          this.latestProgress.set(item, entry);
        }
        this.queue.push(entry);
        this.byKey.set(event.key, entry);
      } else if (waiter) {
        entry.superseded = false; // someone waits for exactly this event: it must be stored
      }
      if (waiter) {
        entry.waiters.push(waiter);
        pending += 1;
      }
    }
    this.pump();
    return pending;
  }

  /** Resolves when nothing is queued, or after `ms`. */
  async drain(ms: number): Promise<void> {
    if (this.queue.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** A connection came back: retry now instead of after the back-off. */
  nudge(): void {
    this.wake?.();
  }

  private pump(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.loop().finally(() => {
      this.running = false;
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      while (this.queue.length > 0 && this.queue[0].superseded) this.forget(this.queue.shift()!);
      if (this.queue.length === 0) break;
      const batch: Entry[] = [];
      for (const entry of this.queue) {
        if (batch.length >= BATCH_SIZE) break;
        if (!entry.superseded) batch.push(entry);
      }
      // From here on these are in flight: a newer progress event no longer replaces them.
      for (const entry of batch) entry.waiters.push(NO_WAITER);
      try {
        await this.transport(batch.map((entry) => entry.event));
        this.settle(batch);
      } catch (error) {
        for (const entry of batch) entry.waiters.splice(entry.waiters.indexOf(NO_WAITER), 1);
        if (error instanceof RefusedEventsError) {
          const { byRun } = error;
          const refused = byRun
            ? batch.filter((entry) => byRun.has(entry.event.runId)).length
            : batch.length;
          this.log?.(`dropping ${refused} run events the server refused: ${error.message}`);
          this.settle(batch, error);
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, RETRY_DELAY_MS);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
    if (this.queue.length === 0) for (const done of this.idle.splice(0)) done();
  }

  /** Removes the delivered batch, and every superseded entry (those are never sent). */
  private settle(batch: Entry[], error?: unknown): void {
    const delivered = new Set(batch);
    // The server stored the other runs' events of a partly refused batch: those are delivered,
    // and each refused run's senders hear its own refusal.
    const byRun = error instanceof RefusedEventsError ? error.byRun : undefined;
    let kept = 0;
    for (const entry of this.queue) {
      if (delivered.has(entry) || entry.superseded) {
        this.forget(entry, byRun ? byRun.get(entry.event.runId) : error);
      } else this.queue[kept++] = entry;
    }
    this.queue.length = kept;
  }

  private forget(entry: Entry, error?: unknown): void {
    if (this.byKey.get(entry.event.key) === entry) this.byKey.delete(entry.event.key);
    const { event } = entry;
    if (event.type === 'node.progress') {
      const item = `${event.runId}\u0000${event.nodeId ?? ''}\u0000${event.index ?? ''}`;
      if (this.latestProgress.get(item) === entry) this.latestProgress.delete(item);
    }
    for (const waiter of entry.waiters) {
      if (waiter === NO_WAITER) continue;
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }
}

const NO_WAITER = { resolve: () => {}, reject: () => {} };

function sinkOver(outbox: Outbox, onClose: () => void): ProgressSink {
  return {
    post(events) {
      outbox.push(events);
    },
    send(events) {
      return new Promise<void>((resolve, reject) => {
        let left = events.length;
        if (left === 0) return resolve();
        const waiter = {
          resolve: () => {
            left -= 1;
            if (left === 0) resolve();
          },
          reject,
        };
        outbox.push(events, waiter);
      });
    },
    async close(drainMs = 2_000) {
      await outbox.drain(drainMs);
      outbox.stop();
      onClose();
    },
  };
}

export function localSink(hub: EventHub, log?: (line: string) => void): ProgressSink {
  const outbox = new Outbox(async (events) => {
    for (const event of events) await hub.append(event);
  }, log);
  return sinkOver(outbox, () => {});
}

interface WorkerAck {
  ok: boolean;
  error?: string;
  /** Run id → why its events were refused, when the batch's other events were stored. */
  refused?: Record<string, string>;
}

export interface SocketSinkOptions {
  serverUrl: string;
  token: string;
  /** How long one delivery waits for the server's ack before sending the batch again. */
  ackTimeoutMs?: number;
  log?: (line: string) => void;
  /** Called on every (re)connect with where the server's Temporal is (engine/server/sockets.ts). */
  onTemporal?: (hello: WorkerHello) => void;
  /** Called when the server refuses this worker's token (unknown, revoked): it will not heal. */
  onUnauthorized?: (reason: string) => void;
}

/** A sink over socket.io-client that survives server restarts. */
export function socketSink(options: SocketSinkOptions): ProgressSink {
  const socket: Socket = io(`${options.serverUrl.replace(/\/$/, '')}/workers`, {
    auth: { token: options.token },
    reconnection: true,
    reconnectionDelay: 250,
    reconnectionDelayMax: 2_000,
    transports: ['websocket'],
  });
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  socket.on('connect_error', (error) => {
    options.log?.(`worker link: ${error.message}`);
    if (error.message === 'unauthorized') options.onUnauthorized?.(error.message);
  });
  socket.on('temporal', (hello: WorkerHello) => options.onTemporal?.(hello));
  // A server that shuts down disconnects us on purpose, and socket.io-client does not retry
  // such a disconnect by itself; the server is probably restarting, so keep knocking.
  let closed = false;
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect' && !closed)
      setTimeout(() => closed || socket.connect(), 500);
  });

  const outbox = new Outbox(async (events) => {
    // Not emitWithAck while disconnected: socket.io-client would buffer the batch and send it
    // again on reconnect alongside our own retry. The outbox is the only buffer.
    if (!socket.connected) throw new Error('not connected');
    const ack = (await socket.timeout(ackTimeoutMs).emitWithAck('events', events)) as WorkerAck;
    if (ack.ok) return;
    const message = `server refused run events: ${ack.error ?? 'unknown error'}`;
    const code = refusalCodeOf(ack.error);
    if (code === 'token_revoked') options.onUnauthorized?.(ack.error!);
    if (code) {
      const byRun = ack.refused
        ? new Map(
            Object.entries(ack.refused).map(([runId, why]) => [
              runId,
              new RefusedEventsError(`server refused run events: ${why}`, refusalCodeOf(why)),
            ]),
          )
        : undefined;
      throw new RefusedEventsError(message, code, byRun);
    }
    throw new Error(message); // e.g. store_failed: the store may recover, so retry
  }, options.log);
  socket.on('connect', () => outbox.nudge());

  return sinkOver(outbox, () => {
    closed = true;
    socket.close();
  });
}

function refusalCodeOf(error: string | undefined): RefusalCode | undefined {
  return PERMANENT_REFUSALS.find((known) => error?.startsWith(`${known}:`));
}
