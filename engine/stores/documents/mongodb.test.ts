import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunEventInput } from '../../runs/events';
import {
  ferretDbSkipReason,
  startFerretDb,
  type FerretDbServer,
} from '../../testing/services/ferretdb';
import type { ExternalTaskRecord } from '../ports';
import { describeDocumentStoreConformance, sampleWorkflow } from './conformance';
import { decodeKey, encodeKey, MongoDocumentStore } from './mongodb';

const AT = '2025-01-01T00:00:00.000Z';

function event(runId: string, key: string, extra: Partial<RunEventInput> = {}): RunEventInput {
  return { key, runId, type: 'node.progress', nodeId: 'story', progress: 0.5, at: AT, ...extra };
}

const gapless = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

describe('MongoDocumentStore without a server', () => {
  it('needs the database as the URL path', async () => {
    for (const url of ['mongodb://127.0.0.1:27017', 'mongodb://127.0.0.1:27017/', 'nope']) {
      await expect(MongoDocumentStore.open(url)).rejects.toMatchObject({
        code: 'invalid_config',
        message: expect.stringContaining('mongodb://127.0.0.1:27017/charlab'),
      });
    }
  });

  it('says which server it could not reach, without the password', async () => {
    const error: unknown = await MongoDocumentStore.open(
      'mongodb://lab:s3cret@127.0.0.1:1/charlab?serverSelectionTimeoutMS=300',
    ).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'store_unavailable', status: 503 });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect((error as Error).message).toContain('check MONGODB_URL');
    expect((error as Error).message).not.toContain('s3cret');
  });

  it('escapes field names MongoDB refuses, and only those', () => {
    for (const key of ['$ref', 'a.b', '100%', '%24', '_id', 'nul\0byte', '', 'plain_name']) {
      expect(decodeKey(encodeKey(key, true))).toBe(key);
      expect(decodeKey(encodeKey(key, false))).toBe(key);
    }
    expect(encodeKey('ownerId', true)).toBe('ownerId');
    expect(encodeKey('_id', true)).not.toBe('_id');
    expect(encodeKey('_id', false)).toBe('_id');
    expect(encodeKey('$ref', false)).not.toMatch(/^\$/);
    expect(encodeKey('a.b', false)).not.toContain('.');
  });
});

describe.skipIf(ferretDbSkipReason())('MongoDocumentStore on FerretDB', () => {
  let server: FerretDbServer | undefined;

  beforeAll(async () => {
    server = await startFerretDb();
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** A fresh database on the file's server, dropped by cleanup(). */
  function freshDatabase() {
    if (!server) throw new Error('FerretDB did not start (see the error of beforeAll)');
    const name = `charlab_test_${randomBytes(6).toString('hex')}`;
    const url = `${server.url}/${name}`;
    return {
      url,
      open: () => MongoDocumentStore.open(url),
      cleanup: async () => {
        const client = new MongoClient(url);
        try {
          await client.db().dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  }

  describeDocumentStoreConformance('mongodb', async () => freshDatabase());

  describe('adapter', () => {
    let database: ReturnType<typeof freshDatabase>;
    let opened: MongoDocumentStore[];

    async function open(): Promise<MongoDocumentStore> {
      const store = await database.open();
      opened.push(store);
      return store;
    }

    async function raw<T>(use: (client: MongoClient) => Promise<T>): Promise<T> {
      const client = new MongoClient(database.url);
      try {
        return await use(client);
      } finally {
        await client.close();
      }
    }

    beforeEach(() => {
      database = freshDatabase();
      opened = [];
    });

    afterEach(async () => {
      for (const store of opened) await store.close();
      await database.cleanup();
    });

    it('creates its indexes at open, idempotently', async () => {
      const store = await open();
      expect(store.kind).toBe('mongodb');
      expect(store.database).toMatch(/^charlab_test_/);
      // A second replica opening the same database must not fail on existing indexes.
      await open();
      const indexes = await raw(async (client) => {
        const byCollection: Record<string, Record<string, unknown>> = {};
        for (const name of ['events', 'runs', 'workflows', 'characters', 'artifacts']) {
          const list = await client.db().collection(name).listIndexes().toArray();
          byCollection[name] = Object.fromEntries(
            list.map((index) => [index.name, { key: index.key, unique: !!index.unique }]),
          );
        }
        return byCollection;
      });
      expect(indexes.events).toMatchObject({
        run_seq: { key: { runId: 1, seq: 1 }, unique: true },
        run_key: { key: { runId: 1, key: 1 }, unique: true },
      });
      expect(indexes.runs).toMatchObject({
        owner_created: { key: { ownerId: 1, createdAt: -1, _id: 1 } },
        workflow_created: { key: { workflowId: 1, createdAt: -1, _id: 1 } },
      });
      expect(indexes.workflows.owner_updated).toBeDefined();
      expect(indexes.characters.owner_updated).toBeDefined();
      expect(indexes.artifacts.owner).toBeDefined();
    });

    it('stores real documents keyed by id, and no _id comes out', async () => {
      const store = await open();
      await store.workflows.put(sampleWorkflow('wf_1'));
      await store.events.append(event('run_a', 'k1'));
      const stored = await raw((client) =>
        client
          .db()
          .collection('workflows')
          .findOne({ _id: 'wf_1' as never }),
      );
      expect(stored).toMatchObject({ _id: 'wf_1', id: 'wf_1', name: 'Workflow wf_1' });
      expect(await store.workflows.get('wf_1')).not.toHaveProperty('_id');
      expect((await store.workflows.list())[0]).not.toHaveProperty('_id');
      expect((await store.events.list('run_a'))[0]).not.toHaveProperty('_id');
    });

    it('keeps field names MongoDB refuses, as SQLite would', async () => {
      const store = await open();
      const task = {
        id: 't1',
        provider: 'runway',
        taskId: 'x',
        status: 'RUNNING',
        createdAt: AT,
        updatedAt: AT,
        _id: 'not the record id',
        response: { $schema: 'v1', 'file.mp4': { '100%': true }, list: [{ 'a.b': 1 }] },
      } as ExternalTaskRecord;
      await store.externalTasks.put(task);
      expect(await store.externalTasks.get('t1')).toEqual(task);
      expect(await store.externalTasks.list()).toEqual([task]);

      const outputs = { json: { $ref: '#/a', 'v1.2': 'ok' } };
      await store.cache.put({ key: 'k', nodeType: 'test-writer', outputs, createdAt: AT });
      expect((await store.cache.get('k'))?.outputs).toEqual(outputs);
      const appended = await store.events.append(event('run_a', 'k1', { outputs }));
      expect(appended?.outputs).toEqual(outputs);
      expect((await store.events.list('run_a'))[0]).toEqual(appended);
    });

    it('drops undefined fields and stores dates as strings, like a JSON round trip', async () => {
      const store = await open();
      const record = {
        ...sampleWorkflow('wf_1'),
        workflowNote: undefined,
        savedAt: new Date(AT),
      };
      await store.workflows.put(record);
      const loaded = (await store.workflows.get('wf_1')) as unknown as Record<string, unknown>;
      expect(loaded).not.toHaveProperty('workflowNote');
      expect(loaded.savedAt).toBe(AT);
    });

    it('does not match arrays holding the value, as SQLite does not', async () => {
      const store = await open();
      const tasks = store.externalTasks as unknown as MongoDocumentStore['externalTasks'];
      const base = { provider: 'runway', taskId: 'x', createdAt: AT, updatedAt: AT };
      await tasks.put({ ...base, id: 'scalar', status: 'DONE' });
      await tasks.put({ ...base, id: 'array', status: ['DONE', null] as unknown as string });
      expect((await tasks.list({ where: { status: 'DONE' } })).map((t) => t.id)).toEqual([
        'scalar',
      ]);
      expect(await tasks.list({ where: { status: null as unknown as string } })).toEqual([]);
    });

    it('rejects where and limit it cannot express, with the SQLite codes', async () => {
      const store = await open();
      await store.workflows.put(sampleWorkflow('wf_1'));
      await expect(
        store.workflows.list({ where: { graph: sampleWorkflow('wf_1').graph } }),
      ).rejects.toMatchObject({ code: 'invalid_query' });
      await expect(
        store.workflows.list({ where: { 'name.first': 'x' } as never }),
      ).rejects.toMatchObject({ code: 'invalid_query' });
      await expect(
        store.workflows.list({ where: { $where: 'sleep(1000)' } as never }),
      ).rejects.toMatchObject({ code: 'invalid_query' });
      await expect(
        store.workflows.list({ orderByDesc: '$natural' as never }),
      ).rejects.toMatchObject({ code: 'invalid_query' });
      await expect(store.workflows.list({ limit: -1 })).rejects.toMatchObject({
        code: 'invalid_query',
      });
      await expect(store.workflows.list({ limit: 1.5 })).rejects.toMatchObject({
        code: 'invalid_query',
      });
    });

    it('rejects records, events and cache entries without ids', async () => {
      const store = await open();
      await expect(store.workflows.put(sampleWorkflow(''))).rejects.toMatchObject({
        code: 'invalid_record',
      });
      await expect(
        store.events.append({ key: '', runId: 'r', type: 'run.started', at: 'now' }),
      ).rejects.toMatchObject({ code: 'invalid_event' });
      await expect(
        store.events.append({ key: 'k', runId: '', type: 'run.started', at: 'now' }),
      ).rejects.toMatchObject({ code: 'invalid_event' });
      await expect(
        store.cache.put({ key: '', nodeType: 'x', outputs: {}, createdAt: AT }),
      ).rejects.toMatchObject({ code: 'invalid_cache_entry' });
    });

    it('numbers 4 instances × 50 interleaved appends 1..200, no gaps or duplicates', async () => {
      const stores = await Promise.all([open(), open(), open(), open()]);
      const appends: Promise<{ seq: number } | null>[] = [];
      for (let i = 0; i < 50; i += 1) {
        stores.forEach((store, s) =>
          appends.push(store.events.append(event('run_c', `${s}-${i}`))),
        );
      }
      const seqs = (await Promise.all(appends)).map((result) => result?.seq);
      expect(seqs.every((seq) => typeof seq === 'number')).toBe(true);
      expect([...(seqs as number[])].sort((a, b) => a - b)).toEqual(gapless(200));
      const listed = await stores[0].events.list('run_c');
      expect(listed.map((e) => e.seq)).toEqual(gapless(200));
      expect(new Set(listed.map((e) => e.nodeId)).size).toBe(1);
    });

    it("keeps one instance's appends to a run in call order", async () => {
      const [left, right] = await Promise.all([open(), open()]);
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i += 1) {
        appends.push(left.events.append(event('run_o', `l${i}`, { index: i, nodeId: 'left' })));
        appends.push(right.events.append(event('run_o', `r${i}`, { index: i, nodeId: 'right' })));
      }
      await Promise.all(appends);
      const listed = await left.events.list('run_o');
      for (const nodeId of ['left', 'right']) {
        const order = listed.filter((e) => e.nodeId === nodeId).map((e) => e.index);
        expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i));
      }
    });

    it('stores a key delivered by 4 instances at once exactly once, leaving no gap', async () => {
      const stores = await Promise.all([open(), open(), open(), open()]);
      const appends: Promise<{ seq: number } | null>[] = [];
      for (let i = 0; i < 25; i += 1) {
        for (const [s, store] of stores.entries()) {
          appends.push(store.events.append(event('run_k', `shared-${i}`, { index: s })));
          appends.push(store.events.append(event('run_k', `own-${s}-${i}`)));
        }
      }
      const results = await Promise.all(appends);
      const stored = results.filter((r) => r !== null);
      // 25 shared keys once each + 4 × 25 own keys.
      expect(stored).toHaveLength(125);
      expect(stored.map((r) => r.seq).sort((a, b) => a - b)).toEqual(gapless(125));
      const listed = await stores[3].events.list('run_k');
      expect(listed.map((e) => e.seq)).toEqual(gapless(125));
      // Redelivering any of them later is still a no-op.
      for (const store of stores)
        expect(await store.events.append(event('run_k', 'shared-7'))).toBeNull();
      expect((await stores[1].events.append(event('run_k', 'late')))?.seq).toBe(126);
    });

    it('catches up without gaps when another instance appended meanwhile', async () => {
      const [behind, ahead] = await Promise.all([open(), open()]);
      for (const key of ['a1', 'a2', 'a3']) await behind.events.append(event('run_l', key));
      // More than a few steps ahead, so `behind` walks, then re-reads the highest seq.
      for (let i = 0; i < 10; i += 1) await ahead.events.append(event('run_l', `b${i}`));
      // A redelivery seen by the instance that fell behind is still dropped.
      expect(await behind.events.append(event('run_l', 'b4'))).toBeNull();
      expect((await behind.events.append(event('run_l', 'a4')))?.seq).toBe(14);
      expect((await ahead.events.append(event('run_l', 'b10')))?.seq).toBe(15);
      expect((await behind.events.append(event('run_l', 'a5')))?.seq).toBe(16);
      expect((await ahead.events.list('run_l')).map((e) => e.seq)).toEqual(gapless(16));
    });

    it('keeps data across close, reopen and other instances', async () => {
      const first = await open();
      await first.workflows.put(sampleWorkflow('wf_keep'));
      await first.events.append(event('run_keep', 'k1'));
      await first.cache.put({ key: 'c', nodeType: 'n', outputs: { a: 1 }, createdAt: AT });
      await first.close();
      opened = opened.filter((store) => store !== first);

      const second = await open();
      expect(await second.workflows.get('wf_keep')).toEqual(sampleWorkflow('wf_keep'));
      expect(await second.events.append(event('run_keep', 'k1'))).toBeNull();
      expect((await second.events.append(event('run_keep', 'k2')))?.seq).toBe(2);
      expect((await second.cache.get('c'))?.outputs).toEqual({ a: 1 });
      expect(await second.health()).toBe(true);
    });

    it('numbers events gaplessly when two processes append to one run at once', async () => {
      const store = await open();
      const count = 100;
      const children = ['left', 'right'].map((prefix) =>
        startAppender(database.url, 'run_shared', prefix, count),
      );
      await Promise.all(children.map((child) => child.ready));
      for (const child of children) child.go();
      const results = await Promise.all(children.map((child) => child.done));

      // Each child stores its own keys and wins some of the shared ones: 3 × count in all.
      const seqs = results.flatMap((result) => result.seqs);
      expect(seqs).toHaveLength(3 * count);
      expect(new Set(seqs).size).toBe(seqs.length);
      const listed = await store.events.list('run_shared');
      expect(listed.map((e) => e.seq)).toEqual(gapless(3 * count));
    });
  });
});

const STORE_MODULE = fileURLToPath(new URL('./mongodb.ts', import.meta.url));

/**
 * A second process appending to one run, as the SQLite test's append-events-child does: opens
 * the store, says `ready`, waits for `go`, appends `count` own keys and `count` shared keys
 * (which the other process also sends), and prints the seqs it got.
 */
const APPENDER = `
import { createInterface } from 'node:readline';
const { MongoDocumentStore } = await import(process.env.STORE_MODULE);
const { MONGODB_URL, RUN_ID, PREFIX, COUNT } = process.env;
const store = await MongoDocumentStore.open(MONGODB_URL);
process.stdout.write('ready\\n');
const lines = createInterface({ input: process.stdin });
await new Promise((resolve) => lines.once('line', resolve));
lines.close();
const seqs = [];
for (let i = 0; i < Number(COUNT); i += 1) {
  for (const key of [PREFIX + '-' + i, 'shared-' + i]) {
    const stored = await store.events.append({
      key, runId: RUN_ID, type: 'node.progress', nodeId: PREFIX, at: new Date(0).toISOString(),
    });
    if (stored) seqs.push(stored.seq);
  }
}
await store.close();
process.stdout.write(JSON.stringify({ seqs }) + '\\n');
`;

function startAppender(url: string, runId: string, prefix: string, count: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '--eval', APPENDER],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        STORE_MODULE,
        MONGODB_URL: url,
        RUN_ID: runId,
        PREFIX: prefix,
        COUNT: String(count),
      },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const received: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else received.push(line);
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const early = received.shift();
      if (early !== undefined) return resolve(early);
      waiters.push(resolve);
      child.once('close', (code) =>
        reject(new Error(`appender ${prefix} exited with ${code}: ${stderr}`)),
      );
    });
  const ready = nextLine().then((line) => expect(line).toBe('ready'));
  return {
    ready,
    go: () => child.stdin.write('go\n'),
    done: ready.then(nextLine).then((line) => JSON.parse(line) as { seqs: number[] }),
  };
}
