/**
 * Watching runs over Socket.IO (DESIGN.md §6): `run:watch { runId, sinceSeq }` answers with
 * the run's snapshot, then the events stored after `sinceSeq` and the live ones stream in as
 * `run:event`s. After a reconnect the watch is sent again from
 * the last seq the caller has folded, so nothing is missed and nothing is applied twice.
 */
import { io, type Socket } from 'socket.io-client';
import type { RunEvent, RunSnapshot } from '../../../engine/runs/events';
import { isRecord, reportUnauthenticated, UNAUTHENTICATED } from './http';

let shared: Socket | undefined;

/** The one connection of this tab, to the page's own origin (Vite proxies it in development). */
export function getSocket(): Socket {
  shared ??= keepConnected(io({ path: '/socket.io', reconnectionDelayMax: 3_000 }));
  return shared;
}

/**
 * Reconnects after the server closed the connection on purpose. Socket.IO retries by itself
 * after a network drop, but not after `io server disconnect` — which is what a graceful
 * restart (SIGTERM → `disconnectSockets`) sends — so without this every open studio would sit
 * at "reconnecting…" forever. The manager's backoff covers a server that is not back yet.
 */
export function keepConnected(socket: Socket): Socket {
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect') socket.connect();
  });
  // With accounts on, the handshake is refused once the session is gone. Socket.IO does not
  // retry a refusal by its middleware, so the studio asks for a sign-in (restartSocket after it).
  socket.on('connect_error', (error) => {
    if (error.message === UNAUTHENTICATED) reportUnauthenticated();
  });
  return socket;
}

/**
 * Starts the connection again with a new handshake, after a sign-in or sign-out: the server
 * learns who a socket is from the session cookie the handshake carries, once, so a socket
 * opened for one user (or refused before sign-in) must not go on for the next. Watchers stay
 * subscribed and watch again from their last seq on the new connection's `connect`.
 */
export function restartSocket(socket: Socket | undefined = shared): void {
  if (!socket) return;
  socket.disconnect();
  socket.connect();
}

/** Closes the connection until the next watch (after sign-out: nothing to watch as nobody). */
export function closeSocket(): void {
  shared?.disconnect();
}

export interface RunWatchHandlers {
  /** The ack: the run's snapshot. The events after `sinceSeq` follow through `event`. */
  snapshot(snapshot: RunSnapshot): void;
  event(event: RunEvent): void;
  error(message: string): void;
  /** The connection dropped or came back (for a "reconnecting…" hint). */
  connection?(connected: boolean): void;
}

/**
 * Watches a run until the returned function is called. `resumeFrom()` is asked at every
 * (re)connect for the seq already folded; the first watch asks from 0 so the log is complete.
 */
export function watchRun(
  runId: string,
  resumeFrom: () => number,
  handlers: RunWatchHandlers,
  socket: Socket = getSocket(),
): () => void {
  let stopped = false;
  const onEvent = (event: RunEvent) => {
    if (!stopped && event.runId === runId) handlers.event(event);
  };
  const subscribe = () => {
    handlers.connection?.(true);
    socket
      .timeout(15_000)
      .emit('run:watch', { runId, sinceSeq: resumeFrom() }, (error: Error | null, ack: unknown) => {
        if (stopped) return;
        if (error) {
          // Cut off by a disconnect (a restart, a new sign-in): the next connect watches again.
          if (!socket.connected) return;
          return handlers.error(
            `the server did not answer run:watch for ${runId}: ${error.message}`,
          );
        }
        const problem = ackError(ack);
        if (problem) return handlers.error(problem);
        handlers.snapshot(ack as unknown as RunSnapshot);
      });
  };
  const onDisconnect = () => handlers.connection?.(false);
  socket.on('run:event', onEvent);
  socket.on('connect', subscribe);
  socket.on('disconnect', onDisconnect);
  if (socket.connected) subscribe();
  else socket.connect();
  return () => {
    stopped = true;
    socket.off('run:event', onEvent);
    socket.off('connect', subscribe);
    socket.off('disconnect', onDisconnect);
    if (socket.connected) socket.emit('run:unwatch', { runId });
  };
}

function ackError(ack: unknown): string | null {
  if (!isRecord(ack)) return 'the server answered run:watch with nothing';
  const error = ack.error;
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  if (typeof error === 'string') return error;
  if (ack.ok === false) return 'the server refused to watch this run';
  return null;
}
