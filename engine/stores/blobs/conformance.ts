/**
 * The BlobStore conformance suite: what every adapter (files, S3/MinIO) must do the same way.
 * An adapter's test file calls describeBlobStoreConformance with a harness factory.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../ports';

/** One empty storage location (a temp dir, a fresh bucket) for one test. */
export interface BlobStoreHarness {
  /** Opens a store instance; every instance of one harness sees the same blobs. */
  open(): Promise<BlobStore>;
  /** Removes everything the harness created. */
  cleanup(): Promise<void>;
}

const BAD_IDS = [
  '',
  '../../../../etc/passwd',
  'A'.repeat(64),
  'a'.repeat(63),
  'a'.repeat(65),
  `${'a'.repeat(62)}/.`,
  `${'a'.repeat(60)}.json`,
];

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Deterministic, non-repeating-looking bytes (xorshift), so ranges cannot match by luck. */
function generatedBytes(length: number, seed = 0x2545f491): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Registers the BlobStore conformance tests for one adapter. */
export function describeBlobStoreConformance(
  name: string,
  factory: () => Promise<BlobStoreHarness>,
): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let harness: BlobStoreHarness;
    let store: BlobStore;
    let scratch: string;
    const text = Buffer.from('hello, character lab');

    beforeEach(async () => {
      harness = await factory();
      store = await harness.open();
      scratch = await mkdtemp(join(tmpdir(), 'charlab-blob-src-'));
    });

    afterEach(async () => {
      await harness.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    it('reports healthy', async () => {
      expect(await store.health()).toBe(true);
    });

    it('stores bytes under their sha256 and reads them back', async () => {
      const stored = await store.put(text, 'text/plain');
      expect(stored).toEqual({ sha256: sha256(text), bytes: text.length });
      expect(await store.get(stored.sha256)).toEqual(text);
      expect(await store.stat(stored.sha256)).toEqual({ bytes: text.length, mime: 'text/plain' });
      expect(await readFile(await store.toLocalFile(stored.sha256))).toEqual(text);
      expect(await collect(await store.stream(stored.sha256))).toEqual(text);
    });

    it('gives the same id for the same bytes, every time', async () => {
      const first = await store.put(text, 'text/plain');
      const second = await store.put(Buffer.from(text), 'text/plain');
      const other = await store.put(Buffer.from('hello, character lab!'), 'text/plain');
      expect(second).toEqual(first);
      expect(other.sha256).not.toBe(first.sha256);
      expect(await store.get(first.sha256)).toEqual(text);

      const file = join(scratch, 'same.txt');
      await writeFile(file, text);
      expect(await store.putFile(file, 'text/plain')).toEqual(first);
    });

    it('stores an empty blob', async () => {
      const empty = await store.put(Buffer.alloc(0), 'application/octet-stream');
      expect(empty).toEqual({ sha256: sha256(Buffer.alloc(0)), bytes: 0 });
      expect(await store.get(empty.sha256)).toEqual(Buffer.alloc(0));
      expect(await store.stat(empty.sha256)).toMatchObject({ bytes: 0 });
    });

    it('streams inclusive byte ranges', async () => {
      const { sha256: id } = await store.put(text, 'text/plain');
      const range = async (start: number, end: number) =>
        (await collect(await store.stream(id, { start, end }))).toString();
      expect(await range(0, 0)).toBe('h');
      expect(await range(0, 4)).toBe('hello');
      expect(await range(7, 15)).toBe('character');
      expect(await range(text.length - 3, text.length - 1)).toBe('lab');
      // An end past the last byte is clamped, as HTTP Range does.
      expect(await range(17, 1_000)).toBe('lab');
    });

    it('rejects ranges it cannot serve', async () => {
      const { sha256: id } = await store.put(text, 'text/plain');
      await expect(store.stream(id, { start: 5, end: 4 })).rejects.toMatchObject({
        code: 'invalid_range',
        status: 416,
      });
      await expect(store.stream(id, { start: -1, end: 4 })).rejects.toMatchObject({
        code: 'invalid_range',
      });
      await expect(
        store.stream(id, { start: text.length, end: text.length + 5 }),
      ).rejects.toMatchObject({ code: 'range_not_satisfiable', status: 416 });
    });

    it('rejects ids that are not a sha256 before touching storage', async () => {
      for (const id of BAD_IDS) {
        const invalid = { code: 'invalid_artifact_id', status: 400 };
        await expect(store.stat(id), id).rejects.toMatchObject(invalid);
        await expect(store.get(id), id).rejects.toMatchObject(invalid);
        await expect(store.stream(id), id).rejects.toMatchObject(invalid);
        await expect(store.stream(id, { start: 0, end: 1 }), id).rejects.toMatchObject(invalid);
        await expect(store.toLocalFile(id), id).rejects.toMatchObject(invalid);
      }
    });

    it('reports a missing blob as not found', async () => {
      const absent = sha256(Buffer.from('never stored'));
      const notFound = { code: 'artifact_not_found', status: 404 };
      expect(await store.stat(absent)).toBeNull();
      await expect(store.get(absent)).rejects.toMatchObject(notFound);
      await expect(store.stream(absent)).rejects.toMatchObject(notFound);
      await expect(store.stream(absent, { start: 0, end: 1 })).rejects.toMatchObject(notFound);
      await expect(store.toLocalFile(absent)).rejects.toMatchObject(notFound);
    });

    it('streams a large file in and serves ranges of it', async () => {
      const size = 6 * 1024 * 1024 + 123;
      const bytes = generatedBytes(size);
      const file = join(scratch, 'large.mp4');
      await writeFile(file, bytes);

      const stored = await store.putFile(file, 'video/mp4');
      expect(stored).toEqual({ sha256: sha256(bytes), bytes: size });
      expect(await store.stat(stored.sha256)).toEqual({ bytes: size, mime: 'video/mp4' });
      const middle = { start: 3 * 1024 * 1024 - 7, end: 4 * 1024 * 1024 + 11 };
      // Compared by hash: a deep toEqual over a megabyte of bytes takes seconds.
      const served = await collect(await store.stream(stored.sha256, middle));
      expect(served.length).toBe(middle.end - middle.start + 1);
      expect(sha256(served)).toBe(sha256(bytes.subarray(middle.start, middle.end + 1)));
      expect(sha256(await readFile(await store.toLocalFile(stored.sha256)))).toBe(stored.sha256);
    });

    it('says which source file it could not read', async () => {
      const missingFile = join(scratch, 'nope.mp4');
      await expect(store.putFile(missingFile, 'video/mp4')).rejects.toMatchObject({
        code: 'blob_source_unreadable',
        message: expect.stringContaining(missingFile) as unknown,
      });
    });

    it('keeps blobs for a second instance', async () => {
      const stored = await store.put(text, 'text/plain');
      const other = await harness.open();
      expect(await other.get(stored.sha256)).toEqual(text);
      expect(await other.stat(stored.sha256)).toEqual({ bytes: text.length, mime: 'text/plain' });
    });
  });
}
