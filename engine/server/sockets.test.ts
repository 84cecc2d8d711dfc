import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptySnapshot,
  isTerminalRunStatus,
  type RunEvent,
  type RunSnapshot,
} from '../runs/events';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import { buildServer, type LabServer } from './app';
import { storyGraph } from '../testing/server-fixtures';

const skip = temporalUnavailable();

/** The run:watch ack: the snapshot itself (DESIGN §6), or an error. */
type WatchAck = Partial<RunSnapshot> & { error?: { code: string; message: string } };

describe.skipIf(skip)('Socket.IO', () => {
  let lab: TestEngine;
  let server: LabServer;
  let url: string;
  const sockets: Socket[] = [];

  const client = (namespace = '', auth?: Record<string, string>) => {
    const socket = connect(`${url}${namespace}`, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      ...(auth ? { auth } : {}),
    });
    sockets.push(socket);
    return socket;
  };

  /** Collects run:event for a run until `done` says stop. */
  const collect = (socket: Socket, runId: string, done: (events: RunEvent[]) => boolean) => {
    const events: RunEvent[] = [];
    return {
      events,
      finished: new Promise<RunEvent[]>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out; got seqs ${events.map((e) => e.seq).join(',')}`)),
          30_000,
        );
        socket.on('run:event', (event: RunEvent) => {
          if (event.runId !== runId) return;
          events.push(event);
          if (done(events)) {
            clearTimeout(timer);
            resolve(events);
          }
        });
      }),
    };
  };

  /** A stored run with no workflow behind it, for feeding events by hand. */
  const syntheticRun = async (runId: string) => {
    const template = (await lab.engine.runs.list({ limit: 1 }))[0];
    await lab.engine.documents.runs.put({
      ...template,
      id: runId,
      snapshot: emptySnapshot(runId, ['script', 'story']),
    });
  };
  const progressEvent = (runId: string, i: number) => ({
    key: `${runId}:progress:${i}`,
    runId,
    type: 'node.progress' as const,
    nodeId: 'story',
    progress: i / 1000,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  });

  let finishedRunId: string;

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: true });
    server = buildServer(lab.engine);
    ({ url } = await server.listen('127.0.0.1', 0));
    const started = await server.app.inject({
      method: 'POST',
      url: '/api/runs',
      payload: { graph: storyGraph() },
    });
    expect(started.statusCode).toBe(202);
    finishedRunId = started.json().runId;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server?.close();
    await lab?.close();
  });

  it('streams a run: the ack is the snapshot, run:event brings every event, ending in run.completed', async () => {
    const socket = client();
    const live = collect(socket, finishedRunId, (events) =>
      events.some((e) => e.type.startsWith('run.') && e.type !== 'run.started'),
    );
    const ack = (await socket.emitWithAck('run:watch', {
      runId: finishedRunId,
      sinceSeq: 0,
    })) as WatchAck;
    expect(ack.runId).toBe(finishedRunId);
    const all = await live.finished;
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.at(-1)?.type).toBe('run.completed');
    expect(all).toEqual(await lab.engine.events.since(finishedRunId, 0));
    expect(all.map((e) => e.type)).toEqual(
      expect.arrayContaining(['run.started', 'node.completed', 'run.completed']),
    );
  });

  it('replays only what came after sinceSeq, after the current snapshot', async () => {
    const snapshot = await lab.engine.runs.waitForEnd(finishedRunId, 30_000);
    expect(isTerminalRunStatus(snapshot.status)).toBe(true);
    const socket = client();
    const replay = collect(socket, finishedRunId, (events) => events.at(-1)?.seq === snapshot.seq);
    const ack = (await socket.emitWithAck('run:watch', {
      runId: finishedRunId,
      sinceSeq: 2,
    })) as WatchAck;
    expect(ack).toMatchObject({ runId: finishedRunId, status: 'succeeded', seq: snapshot.seq });
    expect(ack.nodes!.story).toMatchObject({
      status: 'succeeded',
      outputs: { storyboard: expect.any(Object) },
    });
    const replayed = await replay.finished;
    expect(replayed).toEqual(await lab.engine.events.since(finishedRunId, 2));
    expect(replayed[0].seq).toBe(3);
  });

  it('misses nothing and repeats nothing when events arrive while the backlog is read', async () => {
    const runId = 'run_race_test';
    await syntheticRun(runId);
    const total = 120;
    let appended = 0;
    const producer = (async () => {
      for (let i = 1; i <= total; i++) {
        await lab.engine.events.append(progressEvent(runId, i));
        appended = i;
      }
    })();
    while (appended < 15) await new Promise((resolve) => setTimeout(resolve, 2));
    const socket = client();
    const received = collect(socket, runId, (events) => events.at(-1)?.seq === total);
    const ack = (await socket.emitWithAck('run:watch', { runId })) as WatchAck;
    await producer;
    // The snapshot is current to the last stored event when the watch began.
    expect(ack.seq).toBeGreaterThanOrEqual(15);
    const seqs = (await received.finished).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('stops sending after run:unwatch', async () => {
    const runId = 'run_unwatch_test';
    await syntheticRun(runId);
    const socket = client();
    const received: RunEvent[] = [];
    socket.on('run:event', (event: RunEvent) => received.push(event));
    await socket.emitWithAck('run:watch', { runId });
    await lab.engine.events.append(progressEvent(runId, 1));
    await expect.poll(() => received.length).toBe(1);
    expect(await socket.emitWithAck('run:unwatch', { runId })).toEqual({ ok: true });
    await lab.engine.events.append(progressEvent(runId, 2));
    // A ping round-trip after the append: any event sent before it would have arrived.
    await socket.emitWithAck('run:watch', { runId: 'run_missing' });
    expect(received.map((e) => e.seq)).toEqual([1]);
  });

  it('answers an unknown run or a bad request with an error ack', async () => {
    const socket = client();
    const missing = (await socket.emitWithAck('run:watch', { runId: 'run_missing' })) as WatchAck;
    expect(missing.error?.code).toBe('run_not_found');
    const bad = (await socket.emitWithAck('run:watch', {
      runId: '../x',
      sinceSeq: -1,
    })) as WatchAck;
    expect(bad.error?.code).toBe('invalid_request');
  });

  describe('/workers', () => {
    it('refuses a worker without the right token', async () => {
      for (const auth of [undefined, { token: 'wrong' }]) {
        const socket = client('/workers', auth);
        const error = await new Promise<Error>((resolve) => socket.on('connect_error', resolve));
        expect(error.message).toBe('unauthorized');
      }
    });

    it('stores reported events once, however often they are resent', async () => {
      const runId = 'run_worker_test';
      await syntheticRun(runId);
      const socket = client('/workers', { token: lab.engine.workerToken });
      const batch = [progressEvent(runId, 1), progressEvent(runId, 2)];
      expect(await socket.emitWithAck('events', batch)).toEqual({ ok: true });
      expect(await socket.emitWithAck('events', batch)).toEqual({ ok: true });
      const stored = await lab.engine.events.since(runId, 0);
      expect(stored.map((e) => [e.seq, e.progress])).toEqual([
        [1, 0.001],
        [2, 0.002],
      ]);
      expect((await lab.engine.runs.snapshot(runId))?.nodes.story).toMatchObject({
        status: 'running',
        progress: 0.002,
      });

      const refused = (await socket.emitWithAck('events', [
        { ...progressEvent(runId, 3), type: 'node.exploded' },
      ])) as { ok: boolean; error: string };
      expect(refused.ok).toBe(false);
      expect(refused.error).toMatch(/^invalid_events: 0\.type/);
      expect(await lab.engine.events.since(runId, 2)).toEqual([]);
    });
  });
});
