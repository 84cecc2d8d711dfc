/**
 * Whether a stored artifact still holds the bytes it was stored with. An ArtifactRef records
 * both at store time — its id is the sha256 of the content and `bytes` its size — so "intact"
 * means: the blob exists, has that size, and its bytes hash to that id.
 *
 * Hashing a 10 MB clip on every cache hit or range request would be wasteful, so a verdict is
 * remembered per store against the blob's fingerprint (files: inode, size, mtime, ctime; S3:
 * ETag and Last-Modified). Any overwrite changes the fingerprint, so the next check hashes
 * again; a store without fingerprints is hashed on every check.
 */
import { createHash } from 'node:crypto';
import type { BlobStore } from '../stores/ports';

export type BlobIntegrity = 'intact' | 'missing' | 'corrupt';

/** Fingerprints of blobs whose bytes hashed to their id, per store instance. */
const verified = new WeakMap<BlobStore, Map<string, string>>();

/** Bounds the memo: a long-lived server sees many artifacts; re-hashing an old one is fine. */
const MAX_REMEMBERED = 10_000;

/**
 * Checks one stored artifact against its recorded size and sha256 (the id). `bytes` is the
 * size recorded when it was stored; without one, only the hash is checked.
 */
export async function checkBlob(
  blobs: BlobStore,
  ref: { id: string; bytes?: number },
): Promise<BlobIntegrity> {
  const stat = await blobs.stat(ref.id);
  if (!stat) return 'missing';
  if (ref.bytes !== undefined && stat.bytes !== ref.bytes) return 'corrupt';
  const fingerprint = blobs.fingerprint ? await blobs.fingerprint(ref.id) : null;
  if (fingerprint === null && blobs.fingerprint) return 'missing';
  const memo = memoOf(blobs);
  if (fingerprint !== null && memo.get(ref.id) === fingerprint) return 'intact';

  let digest: string;
  let size = 0;
  try {
    const hash = createHash('sha256');
    for await (const chunk of await blobs.stream(ref.id)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    digest = hash.digest('hex');
  } catch (error) {
    // Gone between the stat and the read: missing, not corrupt.
    if ((error as { code?: unknown }).code === 'artifact_not_found') return 'missing';
    throw error;
  }
  if (digest !== ref.id || (ref.bytes !== undefined && size !== ref.bytes)) {
    memo.delete(ref.id);
    return 'corrupt';
  }
  // The fingerprint was read before hashing: if the blob was replaced meanwhile, the next
  // check sees a different fingerprint and hashes again, so a stale verdict is never reused.
  if (fingerprint !== null) {
    if (memo.size >= MAX_REMEMBERED) memo.delete(memo.keys().next().value as string);
    memo.set(ref.id, fingerprint);
  }
  return 'intact';
}

function memoOf(blobs: BlobStore): Map<string, string> {
  let memo = verified.get(blobs);
  if (!memo) {
    memo = new Map();
    verified.set(blobs, memo);
  }
  return memo;
}
