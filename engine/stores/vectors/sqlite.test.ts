import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeVectorStoreConformance } from './conformance';
import { SqliteVectorStore } from './sqlite';

async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'charlab-vectors-'));
}

describeVectorStoreConformance('sqlite', async () => {
  const dataDir = await tempDataDir();
  return {
    open: async () => new SqliteVectorStore(dataDir),
    close: (store) => (store as SqliteVectorStore).close(),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('SqliteVectorStore', () => {
  let dataDir: string;
  let store: SqliteVectorStore;

  beforeEach(async () => {
    dataDir = await tempDataDir();
    store = new SqliteVectorStore(dataDir);
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('persists Float32 vectors in <dataDir>/vectors.db', async () => {
    await store.upsert('faces', 'a', [0.25, -0.5, 1], { name: 'A' });
    expect(store.file).toBe(join(dataDir, 'vectors.db'));
    expect(existsSync(store.file)).toBe(true);
    const raw = new Database(store.file, { readonly: true });
    try {
      const row = raw.prepare('SELECT vector, payload FROM vectors').get() as {
        vector: Buffer;
        payload: string;
      };
      expect(row.vector.length).toBe(3 * 4);
      expect(Array.from(new Float32Array(Uint8Array.from(row.vector).buffer))).toEqual([
        0.25, -0.5, 1,
      ]);
      expect(JSON.parse(row.payload)).toEqual({ name: 'A' });
    } finally {
      raw.close();
    }
  });

  it('hands out payload copies, so callers cannot change the index', async () => {
    await store.upsert('faces', 'a', [1, 0], { tags: ['hero'] });
    const [hit] = await store.search('faces', [1, 0], 1);
    (hit.payload.tags as string[]).push('villain');
    const [again] = await store.search('faces', [1, 0], 1);
    expect(again.payload).toEqual({ tags: ['hero'] });
  });

  it('sees a collection created after an empty search', async () => {
    expect(await store.search('faces', [1, 0], 5)).toEqual([]);
    await store.upsert('faces', 'a', [1, 0], {});
    expect((await store.search('faces', [1, 0], 5)).map((h) => h.id)).toEqual(['a']);
  });

  it('rejects bad names, limits and values too large for Float32', async () => {
    await expect(store.upsert('', 'a', [1], {})).rejects.toMatchObject({
      code: 'invalid_vector_request',
    });
    await expect(store.upsert('faces', '', [1], {})).rejects.toMatchObject({
      code: 'invalid_vector_request',
    });
    await expect(store.search('faces', [1], -1)).rejects.toMatchObject({ code: 'invalid_query' });
    await expect(store.upsert('faces', 'a', [1e39, 1], {})).rejects.toMatchObject({
      code: 'invalid_vector',
    });
    await expect(store.upsert('faces', 'a', [1], [] as never)).rejects.toMatchObject({
      code: 'invalid_vector_payload',
    });
  });
});
