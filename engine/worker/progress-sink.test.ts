/**
 * The worker's outbox against a real Socket.IO server on 127.0.0.1 that goes away and comes
 * back on the same port, the way a restarting studio server does.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunEventInput } from '../runs/events';
import { socketSink, type ProgressSink, type RefusedEventsError } from './progress-sink';

const TOKEN = 'test-token';

interface FakeStudio {
  port: number;
  /** Every event stored, in arrival order, once per key (the store dedupes by key). */
  stored: RunEventInput[];
  /** Batches that arrived, counting resends. */
  batches: number;
  close(): Promise<void>;
}

/** Runs the studio closed to workers, and the refusal it gives (engine/server/worker-auth.ts). */
const CLOSED_RUNS: Record<string, string> = {
  'run-gone': 'run_not_found: run "run-gone" does not exist: its events were dropped',
  'run-ended': 'run_finished: run "run-ended" already ended: a finished run\'s events are closed',
  'run-elsewhere': 'run_not_dispatched: run "run-elsewhere" was not dispatched to this worker',
};

/**
 * The `/workers` intake as engine/server/sockets.ts answers it: ack `{ ok }` once stored; a
 * closed run's events are refused and the batch's other events stored.
 */
async function startStudio(port = 0, stored: RunEventInput[] = []): Promise<FakeStudio> {
  const http: HttpServer = createServer();
  const io = new Server(http);
  const keys = new Set(stored.map((event) => event.key));
  const studio: FakeStudio = { port: 0, stored, batches: 0, close: async () => {} };
  io.of('/workers').on('connection', (socket) => {
    socket.on('events', (batch: RunEventInput[], ack: (reply: unknown) => void) => {
      studio.batches += 1;
      if (batch.some((event) => event.type === ('bogus' as RunEventInput['type']))) {
        ack({ ok: false, error: 'invalid_events: 0.type: Invalid option' });
        return;
      }
      const refused = new Map<string, string>();
      for (const event of batch) {
        const refusal = CLOSED_RUNS[event.runId];
        if (refusal) refused.set(event.runId, refusal);
        if (refusal || keys.has(event.key)) continue;
        keys.add(event.key);
        stored.push(event);
      }
      const [first] = refused.values();
      ack(
        first === undefined
          ? { ok: true }
          : { ok: false, error: first, refused: Object.fromEntries(refused) },
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  studio.port = (http.address() as AddressInfo).port;
  studio.close = async () => {
    io.disconnectSockets(true);
    await io.close();
  };
  return studio;
}

let n = 0;
const event = (type: RunEventInput['type'], fields: Partial<RunEventInput> = {}): RunEventInput => {
  n += 1;
  return { key: `k${n}`, runId: 'run-1', type, nodeId: 'frames', at: `t${n}`, ...fields };
};

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('socketSink', () => {
  let sink: ProgressSink | undefined;
  let studio: FakeStudio | undefined;
  afterEach(async () => {
    await sink?.close(0);
    await studio?.close();
    sink = studio = undefined;
  });

  it('returns at once while the server is down and delivers everything, in order, when it is back', async () => {
    studio = await startStudio();
    const { port, stored } = studio;
    await studio.close(); // the port is free again: the server is "down"
    sink = socketSink({ serverUrl: `http://127.0.0.1:${port}`, token: TOKEN, ackTimeoutMs: 500 });

    const lifecycle = [
      event('node.started', { index: 0 }),
      event('node.completed', { index: 0 }),
      event('node.started', { index: 1 }),
    ];
    // post() is synchronous: an activity that reports never waits for the server.
    for (const e of lifecycle) sink.post([e]);
    const stored1 = sink.send([event('node.failed', { index: 1, error: 'boom' })]);
    let settled = false;
    void stored1.then(() => (settled = true));
    // Longer than the old sink's whole delivery deadline would have been at this ack timeout.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(settled).toBe(false);

    studio = await startStudio(port, stored);
    await stored1;
    expect(stored.map((e) => e.key)).toEqual([...lifecycle.map((e) => e.key), `k${n}`]);
  });

  it('coalesces a backlog of progress per item to the latest, never a lifecycle event', async () => {
    studio = await startStudio();
    const { port, stored } = studio;
    await studio.close();
    sink = socketSink({ serverUrl: `http://127.0.0.1:${port}`, token: TOKEN, ackTimeoutMs: 500 });

    const started = [event('node.started', { index: 0 }), event('node.started', { index: 1 })];
    sink.post(started);
    for (let i = 1; i <= 100; i += 1) {
      sink.post([event('node.progress', { index: 0, progress: i / 100 })]);
      sink.post([event('node.progress', { index: 1, progress: i / 200 })]);
    }
    const completed = event('node.completed', { index: 0 });
    sink.post([completed]);

    studio = await startStudio(port, stored);
    await sink.send([event('run.completed', { nodeId: undefined })]);
    const seen = stored.map((e) => `${e.type}#${e.index ?? ''}@${e.progress ?? ''}`);
    expect(seen).toEqual([
      'node.started#0@',
      'node.started#1@',
      'node.progress#0@1',
      'node.progress#1@0.5',
      'node.completed#0@',
      'run.completed#@',
    ]);
  });

  it('queues an event once however often it is sent, and resolves every sender', async () => {
    studio = await startStudio();
    sink = socketSink({
      serverUrl: `http://127.0.0.1:${studio.port}`,
      token: TOKEN,
      ackTimeoutMs: 500,
    });
    const e = event('node.completed', { index: 2 });
    await Promise.all([sink.send([e]), sink.send([e]), sink.send([{ ...e }])]);
    expect(studio.stored.filter((s) => s.key === e.key)).toHaveLength(1);
  });

  it('drops a batch the server refuses as malformed and goes on with the next', async () => {
    studio = await startStudio();
    sink = socketSink({
      serverUrl: `http://127.0.0.1:${studio.port}`,
      token: TOKEN,
      ackTimeoutMs: 500,
    });
    const bad = event('bogus' as RunEventInput['type']);
    await expect(sink.send([bad])).rejects.toThrow(/invalid_events/);
    const good = event('node.started', { index: 3 });
    await sink.send([good]);
    await until(() => studio!.stored.some((s) => s.key === good.key), 'the good event');
    expect(studio.stored.map((s) => s.key)).toEqual([good.key]);
  });

  it("drops only the refused runs' events of a batch, never sends them again, and goes on", async () => {
    studio = await startStudio();
    const lines: string[] = [];
    sink = socketSink({
      serverUrl: `http://127.0.0.1:${studio.port}`,
      token: TOKEN,
      ackTimeoutMs: 500,
      log: (line) => lines.push(line),
    });
    const live = event('node.started', { index: 0 });
    const gone = event('node.failed', { runId: 'run-gone' });
    const ended = event('node.failed', { runId: 'run-ended' });
    const elsewhere = event('node.progress', { runId: 'run-elsewhere', progress: 0.5 });
    const results = await Promise.allSettled([
      sink.send([live]),
      sink.send([gone]),
      sink.send([ended]),
      sink.send([elsewhere]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    const codes = results
      .slice(1)
      .map((r) => ((r as PromiseRejectedResult).reason as RefusedEventsError).code);
    expect(codes).toEqual(['run_not_found', 'run_finished', 'run_not_dispatched']);
    const batchesAfterRefusal = studio.batches;
    const next = event('node.completed', { index: 0 });
    await sink.send([next]);
    expect(studio.stored.map((s) => s.key)).toEqual([live.key, next.key]);
    // The refused events were dropped, not retried: one more batch, for `next`.
    expect(studio.batches).toBe(batchesAfterRefusal + 1);
    expect(lines.filter((line) => line.startsWith('dropping'))).not.toEqual([]);
  });
});
