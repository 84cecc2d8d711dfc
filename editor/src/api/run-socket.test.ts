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
import { keepConnected, watchRun } from './run-socket';

interface Served {
  http: HttpServer;
  io: Server;
  watches: { runId: string; sinceSeq: number }[];
}

async function serve(port = 0): Promise<Served & { port: number }> {
  const http = createServer();
  const io = new Server(http);
  const watches: Served['watches'] = [];
  io.on('connection', (socket) => {
    socket.on(
      'run:watch',
      (request: { runId: string; sinceSeq: number }, ack: (a: unknown) => void) => {
        watches.push(request);
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
});
