/**
 * Integrity of stored artifacts on the embedded file store: a cache entry is reusable only
 * while every artifact it names has its recorded size and sha256; an overwrite is caught even
 * after an earlier check passed (the remembered verdict is tied to the file's fingerprint).
 */
import { mkdtemp, rm, utimes, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../graph/values';
import { FileBlobStore } from '../stores/blobs/files';
import { artifactRefsIn, verifyCachedOutputs } from './cached-outputs';
import { checkBlob } from './integrity';

describe('verifyCachedOutputs', () => {
  let dataDir: string;
  let blobs: FileBlobStore;
  let clip: ArtifactRef;
  let frame: ArtifactRef;
  const clipBytes = Buffer.from('a clip of some length, not eighteen bytes at all');

  const refOf = (stored: { sha256: string; bytes: number }, mime: string): ArtifactRef => ({
    id: stored.sha256,
    sha256: stored.sha256,
    bytes: stored.bytes,
    mime,
  });
  const blobPath = (id: string) => join(dataDir, 'blobs', id.slice(0, 2), id);

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'charlab-integrity-'));
    blobs = new FileBlobStore(dataDir);
    clip = refOf(await blobs.put(clipBytes, 'video/mp4'), 'video/mp4');
    frame = refOf(await blobs.put(Buffer.from('frame'), 'image/png'), 'image/png');
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finds refs nested in lists and objects, and nothing in plain values', () => {
    expect(
      artifactRefsIn({ clips: [clip, frame], character: { referenceImages: [frame] }, n: 3 }),
    ).toEqual([clip, frame, frame]);
    expect(artifactRefsIn({ text: 'hi', shots: [{ index: 0 }] })).toEqual([]);
  });

  it('accepts outputs whose artifacts are stored and intact', async () => {
    expect(await verifyCachedOutputs(blobs, { clips: [clip, frame] })).toBe(true);
    expect(await verifyCachedOutputs(blobs, { text: 'no artifacts' })).toBe(true);
  });

  it('refuses a missing artifact without calling it corrupt', async () => {
    await rm(blobPath(frame.id));
    const corrupt: ArtifactRef[] = [];
    expect(await verifyCachedOutputs(blobs, { clips: [clip, frame] }, (r) => corrupt.push(r))).toBe(
      false,
    );
    expect(corrupt).toEqual([]);
  });

  it('refuses an artifact overwritten with other bytes and names it', async () => {
    await writeFile(blobPath(clip.id), Buffer.alloc(18, 0x41));
    const corrupt: ArtifactRef[] = [];
    expect(await verifyCachedOutputs(blobs, { clips: [frame, clip] }, (r) => corrupt.push(r))).toBe(
      false,
    );
    expect(corrupt.map((r) => r.id)).toEqual([clip.id]);
  });

  it('catches a same-size overwrite after an earlier check passed, even with mtime put back', async () => {
    expect(await checkBlob(blobs, clip)).toBe('intact');
    const before = await stat(blobPath(clip.id));
    const damaged = Buffer.from(clipBytes);
    damaged[3] ^= 0xff;
    await writeFile(blobPath(clip.id), damaged);
    // A writer that restores mtime still moves ctime, which the fingerprint includes.
    await utimes(blobPath(clip.id), before.atime, before.mtime);
    expect(await checkBlob(blobs, clip)).toBe('corrupt');
  });

  it('checks the recorded size before reading any bytes', async () => {
    expect(await checkBlob(blobs, { id: clip.id, bytes: clip.bytes + 1 })).toBe('corrupt');
  });

  it('storing the bytes again repairs a damaged blob (put and putFile)', async () => {
    await writeFile(blobPath(clip.id), Buffer.alloc(18));
    await blobs.put(clipBytes, 'video/mp4');
    expect(await checkBlob(blobs, clip)).toBe('intact');

    await writeFile(blobPath(clip.id), Buffer.alloc(18));
    const source = join(dataDir, 'clip.mp4');
    await writeFile(source, clipBytes);
    await blobs.putFile(source, 'video/mp4');
    expect(await checkBlob(blobs, clip)).toBe('intact');
    expect((await blobs.stat(clip.id))?.mime).toBe('video/mp4');
  });
});
