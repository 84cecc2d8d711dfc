import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeDocumentStoreConformance, sampleWorkflow } from './conformance';
import { SqliteDocumentStore } from './sqlite';

async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'charlab-documents-'));
}

describeDocumentStoreConformance('sqlite', async () => {
  const dataDir = await tempDataDir();
  return {
    open: async () => new SqliteDocumentStore(dataDir),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('SqliteDocumentStore', () => {
  let dataDir: string;
  let store: SqliteDocumentStore | undefined;

  beforeEach(async () => {
    dataDir = await tempDataDir();
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps lab.db in WAL mode at the current schema version', async () => {
    store = new SqliteDocumentStore(dataDir);
    expect(store.file).toBe(join(dataDir, 'lab.db'));
    const raw = new Database(store.file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      // 0001-initial, 0002-templates and 0003-accounts.
      expect(raw.pragma('user_version', { simple: true })).toBe(3);
    } finally {
      raw.close();
    }
  });

  it('refuses a database written by a newer build', async () => {
    const raw = new Database(join(dataDir, 'lab.db'));
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new SqliteDocumentStore(dataDir)).toThrow(
      expect.objectContaining({ code: 'store_schema_too_new' }),
    );
  });

  it('rejects where and limit it cannot express', async () => {
    store = new SqliteDocumentStore(dataDir);
    await store.workflows.put(sampleWorkflow('wf_1'));
    await expect(
      store.workflows.list({ where: { graph: sampleWorkflow('wf_1').graph } }),
    ).rejects.toMatchObject({ code: 'invalid_query' });
    await expect(
      store.workflows.list({ where: { "name') OR 1=1 --": 'x' } as never }),
    ).rejects.toMatchObject({ code: 'invalid_query' });
    await expect(store.workflows.list({ limit: -1 })).rejects.toMatchObject({
      code: 'invalid_query',
    });
    await expect(store.workflows.list({ limit: 1.5 })).rejects.toMatchObject({
      code: 'invalid_query',
    });
  });

  it('rejects records and events without ids', async () => {
    store = new SqliteDocumentStore(dataDir);
    await expect(store.workflows.put(sampleWorkflow(''))).rejects.toMatchObject({
      code: 'invalid_record',
    });
    await expect(
      store.events.append({ key: '', runId: 'r', type: 'run.started', at: 'now' }),
    ).rejects.toMatchObject({ code: 'invalid_event' });
  });

  it('uses the owner index for "my runs, newest first"', async () => {
    store = new SqliteDocumentStore(dataDir);
    const raw = new Database(store.file, { readonly: true });
    try {
      const plan = raw
        .prepare(
          `EXPLAIN QUERY PLAN SELECT data FROM runs WHERE json_extract(data, '$.ownerId') = ?
           ORDER BY json_extract(data, '$.createdAt') DESC, id`,
        )
        .all('local') as { detail: string }[];
      expect(plan.map((row) => row.detail).join('\n')).toContain('runs_owner_created');
    } finally {
      raw.close();
    }
  });

  it('numbers events gaplessly when two processes append to one run at once', async () => {
    // Open (and migrate) first, so both children race on appends, not on creating the file.
    store = new SqliteDocumentStore(dataDir);
    const count = 150;
    const children = ['left', 'right'].map((prefix) => startAppender(dataDir, prefix, count));
    await Promise.all(children.map((child) => child.ready));
    for (const child of children) child.go();
    const results = await Promise.all(children.map((child) => child.done));

    // Each child stores its own keys and wins some of the shared ones: 3 × count in all.
    const seqs = results.flatMap((result) => result.seqs);
    expect(seqs).toHaveLength(3 * count);
    expect(new Set(seqs).size).toBe(seqs.length);
    const listed = await store.events.list('run_shared');
    expect(listed.map((event) => event.seq)).toEqual(
      Array.from({ length: 3 * count }, (_, i) => i + 1),
    );
  });
});

const CHILD = fileURLToPath(new URL('./testing/append-events-child.ts', import.meta.url));

function startAppender(dataDir: string, prefix: string, count: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, dataDir, 'run_shared', prefix, String(count)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
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
