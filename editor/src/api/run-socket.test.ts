// @vitest-environment node
/**
 * A graceful server restart (the server disconnects every socket on purpose, then comes back
 * on the same port) must not strand a studio: the socket reconnects and the watch resumes
 * from the last folded seq. Real Socket.IO server and client on 127.0.0.1.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { onUnauthenticated } from './http';
import { keepConnected, restartSocket, watchRun } from './run-socket';

interface Served {
  http: HttpServer;
  io: Server;
  watches: { runId: string; sinceSeq: number; user?: string }[];
}

/**
 * A Socket.IO server on 127.0.0.1; `users` (accounts on) admits a handshake by its `x-user`
 * header as engine/server/sockets.ts admits one by its session cookie, refusing the rest with
 * the same `unauthenticated` error.
 */
async function serve(port = 0, users?: Set<string>): Promise<Served & { port: number }> {
  const http = createServer();
  const io = new Server(http);
  const watches: Served['watches'] = [];
  if (users) {
    io.use((socket, next) => {
      const user = socket.handshake.headers['x-user'];
      if (typeof user === 'string' && users.has(user)) {
        socket.data.user = user;
        next();
      } else next(new Error('unauthenticated'));
    });
  }
  io.on('connection', (socket) => {
    socket.on(
      'run:watch',
      (request: { runId: string; sinceSeq: number }, ack: (a: unknown) => void) => {
        watches.push({ ...request, ...(socket.data.user ? { user: socket.data.user } : {}) });
        ack({
          runId: request.runId,
          status: 'running',
          seq: request.sinceSeq,
          nodes: {},
          outputs: {},
        });
      },
    );
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  return { http, io, watches, port: (http.address() as AddressInfo).port };
}

async function stop(served: Served): Promise<void> {
  served.io.disconnectSockets(true);
  await new Promise<void>((resolve) => {
    void served.io.close(() => resolve());
  });
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

describe('the run socket', () => {
  let client: Socket | undefined;
  let servers: Served[] = [];

  afterEach(async () => {
    client?.close();
    for (const served of servers) await stop(served).catch(() => {});
    servers = [];
  });

  it('reconnects after a graceful restart and resumes the watch from the last seq', async () => {
    const first = await serve();
    servers.push(first);
    client = keepConnected(
      connect(`http://127.0.0.1:${first.port}`, {
        reconnectionDelay: 50,
        reconnectionDelayMax: 200,
      }),
    );
    let folded = 0;
    const connections: boolean[] = [];
    watchRun(
      'run_1',
      () => folded,
      {
        snapshot: () => {},
        event: () => {},
        error: (message) => {
          throw new Error(message);
        },
        connection: (connected) => connections.push(connected),
      },
      client,
    );
    await until(() => first.watches.length === 1, 'the first watch');
    folded = 14;

    await stop(first);
    await until(() => connections.includes(false), 'the disconnect');
    const second = await serve(first.port);
    servers.push(second);

    await until(() => second.watches.length === 1, 'the watch to resume on the new server');
    expect(second.watches[0]).toEqual({ runId: 'run_1', sinceSeq: 14 });
    expect(connections.at(-1)).toBe(true);
  });

  it('asks for a sign-in when the handshake is refused for want of a session', async () => {
    const served = await serve(0, new Set(['ada']));
    servers.push(served);
    let asked = 0;
    const stopListening = onUnauthenticated(() => asked++);
    try {
      client = keepConnected(
        connect(`http://127.0.0.1:${served.port}`, { extraHeaders: { 'x-user': 'nobody' } }),
      );
      await until(() => asked === 1, 'the sign-in request');
      expect(client.connected).toBe(false);
    } finally {
      stopListening();
    }
  });

  it('starts over with a new handshake after a sign-in, and watches again from the last seq', async () => {
    const served = await serve(0, new Set(['ada', 'bob']));
    servers.push(served);
    const headers: Record<string, string> = { 'x-user': 'ada' };
    client = keepConnected(
      connect(`http://127.0.0.1:${served.port}`, {
        extraHeaders: headers,
        reconnectionDelay: 50,
        reconnectionDelayMax: 200,
      }),
    );
    let folded = 0;
    watchRun(
      'run_1',
      () => folded,
      {
        snapshot: () => {},
        event: () => {},
        error: (message) => {
          throw new Error(message);
        },
      },
      client,
    );
    await until(() => served.watches.length === 1, 'the first watch');
    expect(served.watches[0]).toEqual({ runId: 'run_1', sinceSeq: 0, user: 'ada' });
    folded = 7;

    // A new sign-in in this tab: the browser now sends another cookie.
    headers['x-user'] = 'bob';
    restartSocket(client);
    await until(() => served.watches.length === 2, 'the watch on the new connection');
    expect(served.watches[1]).toEqual({ runId: 'run_1', sinceSeq: 7, user: 'bob' });
  });
});
