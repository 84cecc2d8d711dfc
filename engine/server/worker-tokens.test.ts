/**
 * Issue 10 item 2: per-worker tokens, limited to the runs Temporal dispatched to them.
 *
 * A real `charlab worker` process (the workflow and GPU queues, as a GPU box would poll) reports
 * with its own `clab_wrk_…` token to a server with accounts on, on the shared Temporal dev
 * server; the studio's in-process worker keeps the CPU and IO queues. Then a client holding the
 * same token tries what the issue found possible with the shared token: events for a run that
 * does not exist, a finished run's node rewritten to failed, and events for a live run Temporal
 * never gave it. Revoking the token stops the worker and closes the token's sockets on every
 * replica.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { AccountService, userIdOf } from '../auth/account-service';
import type { Viewer } from '../auth/viewer';
import { startLab, type LabProcess } from '../faults/serve-process';
import { emptySnapshot, type RunEvent, type RunEventInput } from '../runs/events';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import { FAST_CHARACTER_SHORT, loadTemplate } from '../testing/server-harness';
import { buildServer, type LabServer } from './app';

interface Ack {
  ok: boolean;
  error?: string;
  refused?: Record<string, string>;
}

describe.skipIf(temporalUnavailable())('per-worker tokens', () => {
  let lab: TestEngine;
  let server: LabServer;
  let url: string;
  let pat: string;
  let workerToken: string;
  let workerTokenId: string;
  let worker: LabProcess;
  const serverLog: string[] = [];
  const sockets: Socket[] = [];
  const otherServers: LabServer[] = [];
  /** A run the remote worker worked on, finished. */
  let finishedRunId: string;

  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${pat}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  /** A `/workers` connection and the server's hello (or the refusal of the handshake). */
  const connectWorker = async (token: string, at = url) => {
    const socket = io(`${at}/workers`, {
      auth: { token },
      transports: ['websocket'],
      reconnection: false,
    });
    sockets.push(socket);
    const hello = await new Promise<{ identity?: string } | Error>((resolve) => {
      socket.once('temporal', resolve);
      socket.once('connect_error', resolve);
    });
    return { socket, hello };
  };

  const post = async (socket: Socket, events: RunEventInput[]) =>
    (await socket.timeout(60_000).emitWithAck('events', events)) as Ack;

  const failedEvent = (runId: string, nodeId: string): RunEventInput => ({
    key: `forged:${randomBytes(6).toString('hex')}`,
    runId,
    type: 'node.failed',
    nodeId,
    status: 'failed',
    error: 'forged by a worker',
    at: new Date().toISOString(),
  });

  beforeAll(async () => {
    lab = await startTestEngine({ workerQueues: ['cpu', 'io'] });
    server = buildServer(lab.engine, {
      rateLimit: false,
      auth: 'on',
      bootstrapAdmin: { username: 'admin', password: 'a long admin password 1' },
      log: (level, message) => serverLog.push(`${level} ${message}`),
    });
    ({ url } = await server.listen('127.0.0.1', 0));
    const accounts = new AccountService(lab.engine.documents);
    const admin: Viewer = { id: userIdOf('admin'), username: 'admin', role: 'admin', via: 'token' };
    pat = (await accounts.createToken(admin, { name: 'test script' })).token;
    const made = await api<{ id: string; token: string }>('POST', '/api/tokens', {
      kind: 'worker',
      name: 'gpu box',
    });
    expect(made.status).toBe(201);
    workerToken = made.body.token;
    workerTokenId = made.body.id;
    expect(workerToken).toMatch(/^clab_wrk_/);

    worker = startLab(['worker', '--queues', 'lab-workflows,lab-gpu', '--server', url], {
      ...lab.env,
      LAB_WORKER_TOKEN: workerToken,
    });
    await worker.waitForLine(/worker polling/, 180_000);
  }, 240_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    if (worker?.child.exitCode === null) await worker.kill('SIGTERM');
    for (const other of otherServers) await other.close();
    await server?.close();
    await lab?.close();
  });

  it(
    'a remote worker with its own token runs the runs Temporal gives it: its events are stored',
    { timeout: 480_000 },
    async () => {
      const graph = await loadTemplate('character-short', FAST_CHARACTER_SHORT);
      const started = await api<{ runId: string }>('POST', '/api/runs', { graph });
      expect(started.status).toBe(202);
      finishedRunId = started.body.runId;
      const end = await lab.engine.runs.waitForEnd(finishedRunId, 420_000);
      expect(end.status, JSON.stringify(end)).toBe('succeeded');

      const stored = await lab.engine.events.since(finishedRunId, 0);
      // Only the worker running an item reports its start (the workflow reports the node's):
      // the frames are the remote worker's, so these came in on its token.
      const frameStarts = stored.filter(
        (e: RunEvent) =>
          e.type === 'node.started' && e.nodeId === 'frames' && e.index !== undefined,
      );
      expect(frameStarts.length).toBeGreaterThanOrEqual(FAST_CHARACTER_SHORT['story.shots']);
      // The workflow ran on the remote worker too: its reports (run.started … run.completed)
      // were accepted on the same token.
      expect(stored[0].type).toBe('run.started');
      expect(stored.at(-1)?.type).toBe('run.completed');

      // Temporal saw the identity the server named, on the frames' activity tasks.
      const run = await lab.engine.runs.get(finishedRunId);
      const history = await lab.engine.temporal.client.workflow
        .getHandle(run!.temporalWorkflowId)
        .fetchHistory();
      const identities = new Set(
        (history.events ?? [])
          .map((e) => e.activityTaskStartedEventAttributes?.identity)
          .filter((identity): identity is string => Boolean(identity)),
      );
      expect([...identities].some((i) => i.startsWith(`charlab-worker:${workerTokenId}:`))).toBe(
        true,
      );
      expect(serverLog.filter((line) => line.includes('refused run events'))).toEqual([]);
    },
  );

  it(
    'the same token cannot touch a run it was not dispatched, a missing run or a finished one',
    {
      timeout: 240_000,
    },
    async () => {
      expect(finishedRunId).toBeDefined();
      const { socket, hello } = await connectWorker(workerToken);
      expect(hello).not.toBeInstanceOf(Error);
      expect((hello as { identity?: string }).identity).toMatch(
        new RegExp(`^charlab-worker:${workerTokenId}:[0-9a-f]{8}$`),
      );

      // A run that does not exist.
      const missing = await post(socket, [failedEvent('run_does_not_exist', 'frames')]);
      expect(missing).toMatchObject({
        ok: false,
        error: expect.stringMatching(/^run_not_found: /),
      });
      expect(await lab.engine.events.since('run_does_not_exist', 0)).toEqual([]);

      // A finished run's node rewritten to failed.
      const before = await lab.engine.events.since(finishedRunId, 0);
      const snapshotBefore = await lab.engine.runs.snapshot(finishedRunId);
      const rewrite = await post(socket, [failedEvent(finishedRunId, 'merge')]);
      expect(rewrite).toMatchObject({ ok: false, error: expect.stringMatching(/^run_finished: /) });
      expect(await lab.engine.events.since(finishedRunId, 0)).toEqual(before);
      expect(await lab.engine.runs.snapshot(finishedRunId)).toEqual(snapshotBefore);
      expect(snapshotBefore?.nodes.merge.status).toBe('succeeded');

      // A live run whose workflow waits on a queue no worker of this token polls: Temporal has
      // dispatched nothing of it to this token.
      const finished = (await lab.engine.runs.get(finishedRunId))!;
      const liveId = `run_live_${randomBytes(4).toString('hex')}`;
      const now = new Date().toISOString();
      await lab.engine.documents.runs.put({
        ...finished,
        id: liveId,
        createdAt: now,
        updatedAt: now,
        snapshot: emptySnapshot(liveId, finished.plan.order),
        temporalWorkflowId: `run-${liveId}`,
      });
      const { client } = lab.engine.temporal;
      const handle = await client.workflow.start('runGraph', {
        taskQueue: `nobody-polls-${randomBytes(4).toString('hex')}`,
        workflowId: `run-${liveId}`,
        args: [{ runId: liveId, plan: finished.plan }],
      });
      try {
        const notDispatched = await post(socket, [
          { ...failedEvent(liveId, 'frames'), type: 'node.progress', progress: 0.5 },
        ]);
        expect(notDispatched).toMatchObject({
          ok: false,
          error: expect.stringMatching(/^run_not_dispatched: /),
        });
        expect(await lab.engine.events.since(liveId, 0)).toEqual([]);

        // The shared cluster token is not scoped to dispatches, but it cannot report for a
        // missing or finished run either; a batch mixing runs stores the acceptable ones.
        const cluster = await connectWorker(lab.engine.workerToken);
        expect(cluster.hello).not.toBeInstanceOf(Error);
        expect((cluster.hello as { identity?: string }).identity).toBeUndefined();
        const mixed = await post(cluster.socket, [
          { ...failedEvent(liveId, 'story'), type: 'node.progress', progress: 0.25 },
          failedEvent(finishedRunId, 'merge'),
          failedEvent('run_does_not_exist', 'frames'),
        ]);
        expect(mixed.ok).toBe(false);
        expect(mixed.refused).toEqual({
          [finishedRunId]: expect.stringMatching(/^run_finished: /),
          run_does_not_exist: expect.stringMatching(/^run_not_found: /),
        });
        expect((await lab.engine.events.since(liveId, 0)).map((e) => e.progress)).toEqual([0.25]);
        expect(await lab.engine.events.since(finishedRunId, 0)).toEqual(before);
      } finally {
        await handle.terminate('test over');
      }
      // Logged once per refused run, not once per batch.
      const refusals = serverLog.filter((line) => line.includes(`run "${finishedRunId}"`));
      expect(refusals).toHaveLength(1);
    },
  );

  it(
    'a revoked token stops its worker and is refused on every replica',
    { timeout: 240_000 },
    async () => {
      // A second API replica over the same stores: it hears of the revocation only from the store.
      const replica = buildServer(lab.engine, { rateLimit: false, auth: 'on' });
      otherServers.push(replica);
      const { url: replicaUrl } = await replica.listen('127.0.0.1', 0);
      const onReplica = await connectWorker(workerToken, replicaUrl);
      expect(onReplica.hello).not.toBeInstanceOf(Error);
      const here = await connectWorker(workerToken);
      const closedHere = new Promise<string>((resolve) => here.socket.once('disconnect', resolve));

      expect((await api('DELETE', `/api/tokens/${workerTokenId}`)).status).toBe(204);

      expect(await closedHere).toBe('io server disconnect');
      const next = await post(onReplica.socket, [failedEvent('run_does_not_exist', 'frames')]);
      expect(next).toMatchObject({ ok: false, error: expect.stringMatching(/^token_revoked: /) });
      const again = await connectWorker(workerToken);
      expect(again.hello).toBeInstanceOf(Error);
      expect((again.hello as Error).message).toBe('unauthorized');

      // The worker process gives up instead of taking tasks it could never report on.
      await worker.waitForLine(/refused this worker token/, 60_000);
      const code = await new Promise<number | null>((resolve) => {
        if (worker.child.exitCode !== null) resolve(worker.child.exitCode);
        else worker.child.once('exit', resolve);
      });
      expect(code).not.toBe(0);
    },
  );
});
