import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStores, type Stores } from './index';
import { FakeQdrant } from './vectors/testing/fake-qdrant';

describe('openStores', () => {
  let root: string;
  let stores: Stores | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'charlab-stores-'));
  });

  afterEach(async () => {
    await stores?.close();
    stores = undefined;
    await rm(root, { recursive: true, force: true });
  });

  it('opens the embedded stores in a data dir it creates', async () => {
    const dataDir = join(root, 'nested', 'data');
    stores = await openStores({ dataDir, env: {} });
    expect(stores.dataDir).toBe(dataDir);
    expect([stores.documents.kind, stores.blobs.kind, stores.vectors.kind]).toEqual([
      'sqlite',
      'files',
      'sqlite',
    ]);
    expect(await stores.documents.health()).toBe(true);
    expect(await stores.blobs.health()).toBe(true);
    expect(await stores.vectors.health()).toBe(true);
    const { sha256 } = await stores.blobs.put(Buffer.from('x'), 'text/plain');
    expect(existsSync(join(dataDir, 'lab.db'))).toBe(true);
    expect(existsSync(join(dataDir, 'vectors.db'))).toBe(true);
    expect(existsSync(join(dataDir, 'blobs', sha256.slice(0, 2), sha256))).toBe(true);
  });

  it('reads LAB_DATA_DIR when no dataDir is given', async () => {
    const dataDir = join(root, 'from-env');
    stores = await openStores({ env: { LAB_DATA_DIR: dataDir } });
    expect(stores.dataDir).toBe(dataDir);
    expect(existsSync(join(dataDir, 'lab.db'))).toBe(true);
  });

  it('picks a service adapter by its variable (Qdrant here, against the fake)', async () => {
    const qdrant = await FakeQdrant.start();
    try {
      stores = await openStores({ dataDir: join(root, 'data'), env: { QDRANT_URL: qdrant.url } });
      expect([stores.documents.kind, stores.blobs.kind, stores.vectors.kind]).toEqual([
        'sqlite',
        'files',
        'qdrant',
      ]);
      expect(await stores.vectors.health()).toBe(true);
    } finally {
      await stores?.close();
      stores = undefined;
      await qdrant.close();
    }
  });

  it('refuses a service it cannot reach, naming it, and leaves nothing open', async () => {
    const qdrant = await FakeQdrant.start();
    const url = qdrant.url;
    await qdrant.close(); // a port that just stopped answering
    await expect(
      openStores({ dataDir: join(root, 'data'), env: { QDRANT_URL: url } }),
    ).rejects.toMatchObject({ message: expect.stringContaining(url) as unknown });
  });

  it('refuses S3_ENDPOINT without its keys before opening anything', async () => {
    const dataDir = join(root, 'unused');
    await expect(
      openStores({ dataDir, env: { S3_ENDPOINT: 'http://127.0.0.1:9000' } }),
    ).rejects.toMatchObject({ code: 'invalid_config', details: { variable: 'S3_ACCESS_KEY' } });
    expect(existsSync(dataDir)).toBe(false);
  });

  it('names the data dir it cannot create', async () => {
    const blocker = join(root, 'a-file');
    await writeFile(blocker, '');
    await expect(openStores({ dataDir: join(blocker, 'data'), env: {} })).rejects.toMatchObject({
      code: 'data_dir_unavailable',
      message: expect.stringContaining('LAB_DATA_DIR') as unknown,
    });
  });
});
