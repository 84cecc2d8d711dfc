import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeBlobStoreConformance } from './conformance';
import { FileBlobStore } from './files';

async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'charlab-blobs-'));
}

describeBlobStoreConformance('files', async () => {
  const dataDir = await tempDataDir();
  return {
    open: async () => new FileBlobStore(dataDir),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});

describe('FileBlobStore', () => {
  let dataDir: string;
  let store: FileBlobStore;

  beforeEach(async () => {
    dataDir = await tempDataDir();
    store = new FileBlobStore(dataDir);
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lays blobs out as blobs/<aa>/<sha256> with a mime sidecar', async () => {
    const { sha256 } = await store.put(Buffer.from('frame'), 'image/png');
    const shard = join(dataDir, 'blobs', sha256.slice(0, 2));
    expect((await readdir(shard)).sort()).toEqual([sha256, `${sha256}.json`]);
    expect(JSON.parse(await readFile(join(shard, `${sha256}.json`), 'utf8'))).toEqual({
      mime: 'image/png',
    });
    expect(await store.toLocalFile(sha256)).toBe(join(shard, sha256));
  });

  it('keeps the first mime and leaves no temp files behind', async () => {
    const source = join(dataDir, 'source.bin');
    await writeFile(source, 'clip bytes');
    const results = await Promise.all([
      store.put(Buffer.from('clip bytes'), 'video/mp4'),
      new FileBlobStore(dataDir).put(Buffer.from('clip bytes'), 'video/mp4'),
      store.putFile(source, 'video/mp4'),
    ]);
    expect(new Set(results.map((r) => r.sha256)).size).toBe(1);
    await store.put(Buffer.from('clip bytes'), 'application/octet-stream');
    expect(await store.stat(results[0].sha256)).toEqual({ bytes: 10, mime: 'video/mp4' });
    expect(await readdir(join(dataDir, 'blobs', 'tmp'))).toEqual([]);
  });

  it('falls back to application/octet-stream when the sidecar is gone', async () => {
    const { sha256 } = await store.put(Buffer.from('x'), 'text/plain');
    await rm(join(dataDir, 'blobs', sha256.slice(0, 2), `${sha256}.json`));
    expect(await store.stat(sha256)).toEqual({ bytes: 1, mime: 'application/octet-stream' });
  });

  it("blames itself, not the caller's file, when it cannot write", async () => {
    const source = join(dataDir, 'frame-1.png');
    await writeFile(source, 'frame bytes');
    // A file where the store's temp folder belongs fails every write, even for root (who
    // ignores a read-only mode), as a read-only or full disk would.
    await mkdir(join(dataDir, 'blobs'), { recursive: true });
    await writeFile(join(dataDir, 'blobs', 'tmp'), '');
    for (const attempt of [
      store.putFile(source, 'image/png'),
      store.put(Buffer.from('x'), 'text/plain'),
    ]) {
      const error = (await attempt.catch((e: unknown) => e)) as { code: string; message: string };
      expect(error.code).toBe('blob_store_unwritable');
      expect(error.message).toContain('blob store');
      expect(error.message).not.toContain(dataDir);
    }
  });

  it('names the source file when that is what cannot be read', async () => {
    const error = await store
      .putFile(join(dataDir, 'missing.png'), 'image/png')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'blob_source_unreadable' });
  });

  it('reports unhealthy when the data dir cannot be written', async () => {
    await writeFile(join(dataDir, 'file'), '');
    expect(await new FileBlobStore(join(dataDir, 'file')).health()).toBe(false);
  });
});
