/**
 * Issue "production services", must-show: two API replicas and one remote worker process that
 * share nothing but service URLs — documents in MongoDB (FerretDB), artifacts in S3 (SeaweedFS),
 * vectors in Qdrant (the fake), Socket.IO and live events over Redis, runs in Temporal. A
 * browser on replica A sees the whole event stream of a run started through replica B and
 * rendered by the worker, which reports to B; replica A killed mid-run and a client resuming
 * on its successor with sinceSeq loses no event and sees none twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../engine-types';
import { createEngine } from '../engine';
import type { RunEvent } from '../runs/events';
import { buildServer, type LabServer } from '../server/app';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { FAST_CHARACTER_SHORT, loadTemplate, RunWatcher } from '../testing/server-harness';
import {
  ferretDbSkipReason,
  startFerretDb,
  type FerretDbServer,
} from '../testing/services/ferretdb';
import { redisSkipReason, startRedis, type RedisServer } from '../testing/services/redis';
import {
  seaweedFsUnavailable,
  startSeaweedFs,
  type SeaweedFs,
} from '../testing/services/seaweedfs';
import { FakeQdrant } from '../stores/vectors/testing/fake-qdrant';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

const missing =
  temporalUnavailable() ??
  ferretDbSkipReason() ??
  redisSkipReason() ??
  (process.env.CI === 'true' ? undefined : seaweedFsUnavailable());

/** One API replica: its own engine (own, empty data dir) and server, on the shared services. */
interface Replica {
  engine: Engine;
  server: LabServer;
  url: string;
  port: number;
  dataDir: string;
  /** Ends the replica at once: sockets dropped, no goodbye to anyone. */
  kill(): Promise<void>;
}

describe.skipIf(missing)('two API replicas and a remote worker', () => {
  let mongo: FerretDbServer;
  let s3: SeaweedFs;
  let qdrant: FakeQdrant;
  let redis: RedisServer;
  /** What every process is given: service URLs, the worker token and the queue prefix. */
  let shared: NodeJS.ProcessEnv;
  const replicas: Replica[] = [];
  let worker: ChildProcess | undefined;
  let workerDir: string | undefined;
  let a: Replica;
  let b: Replica;

  const startReplica = async (port = 0): Promise<Replica> => {
    const dataDir = await mkdtemp(join(tmpdir(), 'charlab-replica-'));
    const engine = await createEngine({
      dataDir,
      env: testEnv(dataDir, shared),
      startWorker: true,
      workerQueues: ['workflows'],
    });
    const server = buildServer(engine, { rateLimit: false, redisUrl: redis.url });
    const listening = await server.listen('127.0.0.1', port);
    const replica: Replica = {
      engine,
      server,
      dataDir,
      ...listening,
      async kill() {
        replicas.splice(replicas.indexOf(replica), 1);
        await server.close();
        await engine.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    replicas.push(replica);
    return replica;
  };

  /** Starts the template; `script` differs per test so no node is a cache hit. */
  const startRun = async (through: Replica, script: string): Promise<string> => {
    const graph = await loadTemplate('character-short', {
      ...FAST_CHARACTER_SHORT,
      'script.text': script,
    });
    const response = await fetch(`${through.url}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ graph }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { runId: string }).runId;
  };

  const storedSeqs = async (runId: string) =>
    (await b.engine.events.since(runId, 0)).map((event) => event.seq);

  beforeAll(async () => {
    [mongo, s3, qdrant, redis] = await Promise.all([
      startFerretDb(),
      startSeaweedFs(),
      FakeQdrant.start(),
      startRedis(),
    ]);
    shared = {
      MONGODB_URL: `${mongo.url}/charlab_replicas`,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_BUCKET: 'charlab-replicas',
      QDRANT_URL: qdrant.url,
      LAB_REDIS_URL: redis.url,
      LAB_WORKER_TOKEN: randomBytes(16).toString('hex'),
      LAB_TASK_QUEUE_PREFIX: `test-${randomBytes(4).toString('hex')}-`,
    };
    // One after the other: both seed the demo character into the one document store.
    a = await startReplica();
    b = await startReplica();
    workerDir = await mkdtemp(join(tmpdir(), 'charlab-remote-worker-'));
    worker = spawn(
      process.execPath,
      [BIN, 'worker', '--queues', 'lab-cpu,lab-gpu,lab-io', '--server', b.url],
      { env: testEnv(workerDir, shared), stdio: 'ignore' },
    );
  }, 240_000);

  afterAll(async () => {
    if (worker?.pid !== undefined && worker.exitCode === null) process.kill(worker.pid, 'SIGKILL');
    for (const replica of [...replicas]) await replica.kill().catch(() => {});
    if (workerDir) await rm(workerDir, { recursive: true, force: true });
    await Promise.all([mongo?.stop(), s3?.stop(), qdrant?.close(), redis?.stop()]);
  });

  it('streams a run started through replica B to a watcher on replica A', async () => {
    // What A's hub hands its watchers live, and what it stored itself: the difference came
    // from B over Redis (not from the store, which watchers read only to fill a gap).
    const delivered = vi.spyOn(a.engine.events, 'deliver');
    const appended = vi.spyOn(a.engine.events, 'append');
    const runId = await startRun(b, 'One replica. Another replica. Same story.');
    const watcher = await RunWatcher.watch(a.url, runId, 0);
    const end = await watcher.untilEnd(180_000);
    watcher.close();
    const appendedOnA = new Set(
      (await Promise.all(appended.mock.results.map((result) => result.value as unknown)))
        .filter((event): event is RunEvent => (event as RunEvent | null)?.runId === runId)
        .map((event) => event.seq),
    );
    const relayed = delivered.mock.calls
      .map(([event]) => event)
      .filter((event) => event.runId === runId && !appendedOnA.has(event.seq));
    delivered.mockRestore();
    appended.mockRestore();
    expect(end.type, JSON.stringify(watcher.events.filter((e) => e.error))).toBe('run.completed');
    const seqs = watcher.events.map((e) => e.seq);
    const stored = await storedSeqs(runId);
    expect(stored, 'stored').toEqual(stored.map((_, i) => i + 1));
    expect(seqs, `delivered ${JSON.stringify(seqs)}`).toEqual(stored); // all, once, in order
    // The worker reported to B alone, so A heard its nodes' events through Redis.
    expect(relayed.some((e) => e.nodeId === 'merge' && e.type === 'node.completed')).toBe(true);
    // Every event A did not store reached it over Redis (in any order: watchers sort).
    expect(relayed.map((e) => e.seq).sort((x, y) => x - y)).toEqual(
      stored.filter((seq) => !appendedOnA.has(seq)),
    );
  }, 200_000);

  it('loses no event when replica A is killed mid-run and the client resumes', async () => {
    const runId = await startRun(b, 'A replica falls. Its successor listens. Nothing is lost.');
    const before = await RunWatcher.watch(a.url, runId, 0);
    await before.until(
      (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
      120_000,
    );
    const seen: RunEvent[] = [...before.events];
    const lastSeen = seen.at(-1)!.seq;
    const { port } = a;
    await a.kill(); // the watcher's connection drops with it
    before.close();

    a = await startReplica(port);
    const after = await RunWatcher.watch(a.url, runId, lastSeen);
    const end = await after.untilEnd(180_000);
    after.close();
    expect(end.type, JSON.stringify(after.events.filter((e) => e.error))).toBe('run.completed');
    const seqs = [...seen, ...after.events].map((e) => e.seq);
    const stored = await storedSeqs(runId);
    expect(stored, 'stored').toEqual(stored.map((_, i) => i + 1));
    expect(seqs, `delivered ${JSON.stringify(seqs)}`).toEqual(stored); // nothing lost or twice
  }, 240_000);
});
