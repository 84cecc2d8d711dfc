/**
 * Where workers send run events. A worker inside the server process appends straight to the
 * EventHub; a remote worker (a GPU box) sends them to the server's `/workers` Socket.IO
 * namespace, buffering while disconnected and resending until acknowledged. The server
 * dedupes by event key, so a resend after a lost ack is harmless.
 */
import { io, type Socket } from 'socket.io-client';
import type { RunEventInput } from '../runs/events';
import type { EventHub } from '../runs/event-hub';

export interface ProgressSink {
  /** Resolves once the events are stored; rejects if they could not be delivered in time. */
  send(events: RunEventInput[]): Promise<void>;
  close(): Promise<void>;
}

export function localSink(hub: EventHub): ProgressSink {
  return {
    async send(events) {
      for (const event of events) await hub.append(event);
    },
    async close() {},
  };
}

interface WorkerAck {
  ok: boolean;
  error?: string;
}

export interface SocketSinkOptions {
  serverUrl: string;
  token: string;
  /** How long send() waits for the server before rejecting (the events stay queued). */
  ackTimeoutMs?: number;
  log?: (line: string) => void;
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
  socket.on('connect_error', (error) => options.log?.(`worker link: ${error.message}`));
  // A server that shuts down disconnects us on purpose, and socket.io-client does not retry
  // such a disconnect by itself; the server is probably restarting, so keep knocking.
  let closed = false;
  socket.on('disconnect', (reason) => {
    if (reason === 'io server disconnect' && !closed)
      setTimeout(() => closed || socket.connect(), 500);
  });

  async function deliver(events: RunEventInput[]): Promise<void> {
    const deadline = Date.now() + ackTimeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`server did not acknowledge run events within ${ackTimeoutMs} ms`);
      try {
        // emitWithAck buffers while disconnected and sends on reconnect.
        const ack = (await socket.timeout(remaining).emitWithAck('events', events)) as WorkerAck;
        if (ack.ok) return;
        throw new Error(`server refused run events: ${ack.error ?? 'unknown error'}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('server refused')) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  return {
    send: deliver,
    async close() {
      closed = true;
      socket.close();
    },
  };
}
