/**
 * Several API replicas (LAB_REDIS_URL): Socket.IO gets the official Redis adapter, so rooms and
 * broadcasts span every replica, and run events cross over with it.
 *
 * A run's events are appended on whichever replica hears them (the one a remote worker reports
 * to, or the one whose in-process worker ran the step), but a browser may watch from any other.
 * Each replica therefore sends every event it appended to the others with the adapter's
 * `serverSideEmit`, and a receiving replica pushes it to its own EventHub listeners without
 * storing it again: the event is already in the shared document store with its seq. That is
 * the whole design, because watchRun (watch-run.ts) already delivers exactly once and in seq
 * order whatever the live path does: it drops a seq it has forwarded, holds one that runs
 * ahead, and reads a gap that stays open from the store. So events from several publishers
 * may arrive in any order, and one Redis drops is read from the store as soon as a later one
 * arrives. Only a run's very last event, if Redis drops it (a replica killed between storing
 * and publishing), waits until the client watches again with its last seq, as it does after
 * any reconnect: the store stays the one truth.
 */
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Server } from 'socket.io';
import type { EventHub } from '../runs/event-hub';
import type { RunEvent } from '../runs/events';

/** The server-side event that carries one stored run event to the other replicas. */
const APPENDED = 'run:appended';

export interface ReplicaLink {
  close(): Promise<void>;
}

/**
 * Connects this replica's Socket.IO server and event hub to the others through Redis.
 * Rejects (naming LAB_REDIS_URL) when Redis cannot be reached.
 */
export async function linkReplicas(
  io: Server,
  events: EventHub,
  redisUrl: string,
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
): Promise<ReplicaLink> {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  // node-redis reconnects by itself; an unheard 'error' event would crash the process.
  let lastError = '';
  for (const client of [pub, sub]) {
    client.on('error', (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) log('warn', `Redis (LAB_REDIS_URL): ${message}`);
      lastError = message;
    });
  }
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (error) {
    pub.destroy();
    sub.destroy();
    throw new Error(
      `cannot reach Redis at LAB_REDIS_URL (${error instanceof Error ? error.message : String(error)}): ` +
        'start it, fix the URL, or unset LAB_REDIS_URL for a single replica',
    );
  }
  io.adapter(createAdapter(pub, sub));
  io.sockets.on(APPENDED, (event: RunEvent) => events.deliver(event));
  events.setRelay((event) => io.sockets.serverSideEmit(APPENDED, event));
  return {
    async close() {
      events.setRelay(undefined);
      io.sockets.removeAllListeners(APPENDED);
      // Unsubscribes the adapters' channels, then ends both connections.
      await Promise.allSettled(
        [io.sockets, io.of('/workers')].map(async (namespace) => namespace.adapter.close()),
      );
      await Promise.allSettled([pub.close(), sub.close()]);
    },
  };
}
