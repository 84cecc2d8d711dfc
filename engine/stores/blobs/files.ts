/**
 * The embedded BlobStore: content-addressed files under `<dataDir>/blobs/<aa>/<sha256>`, with
 * the mime type in a sidecar `<sha256>.json`. Every file is written to a temp file and renamed
 * into place, so a reader (another process included) sees a whole blob or none.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LabError } from '../../errors';
import type { BlobStat, BlobStore } from '../ports';
import { checkId, checkRange, exists, isErrno, missing } from './checks';

const DEFAULT_MIME = 'application/octet-stream';

/** BlobStore on the local file system, rooted at `<dataDir>/blobs`. */
export class FileBlobStore implements BlobStore {
  readonly kind = 'files' as const;
  /** `<dataDir>/blobs`. */
  readonly root: string;
  /** Temp files live under the root so the final rename never crosses file systems. */
  private readonly tmpDir: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'blobs');
    this.tmpDir = join(this.root, 'tmp');
  }

  async put(bytes: Buffer, mime: string): Promise<{ sha256: string; bytes: number }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    // An existing file is kept only when it still holds these bytes: one damaged on disk (an
    // overwrite, a torn copy) is replaced, so storing the bytes again repairs it.
    if (!(await this.holds(sha256, bytes))) {
      const tmp = await this.tmpFile();
      try {
        await writeFile(tmp, bytes, { flush: true });
        await this.commit(tmp, sha256, mime);
      } catch (error) {
        throw unwritable(error);
      } finally {
        await rm(tmp, { force: true });
      }
    }
    return { sha256, bytes: bytes.length };
  }

  async putFile(path: string, mime: string): Promise<{ sha256: string; bytes: number }> {
    const tmp = await this.tmpFile();
    try {
      const hash = createHash('sha256');
      let size = 0;
      try {
        // One pass, chunk by chunk: hash and copy together, so a large video is never held
        // in memory and never read twice.
        await pipeline(
          createReadStream(path),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hash.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(tmp, { flush: true }),
        );
      } catch (error) {
        // Both ends of the pipe fail with the same errno codes; the error's path says which.
        if ((error as { path?: unknown }).path !== path) throw unwritable(error);
        if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR') || isErrno(error, 'EACCES')) {
          throw new LabError(
            'blob_source_unreadable',
            `cannot read "${path}" to store it (${(error as Error).message}); check the file exists and is readable`,
            400,
          );
        }
        throw error;
      }
      const sha256 = hash.digest('hex');
      // The temp file holds verified bytes already: moving it over an existing blob costs a
      // rename and repairs one that was damaged on disk.
      await this.commit(tmp, sha256, mime).catch((error: unknown) => {
        throw unwritable(error);
      });
      return { sha256, bytes: size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async stat(sha256: string): Promise<BlobStat | null> {
    checkId(sha256);
    try {
      const info = await stat(this.blobPath(sha256));
      return { bytes: info.size, mime: await this.readMime(sha256) };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  async fingerprint(sha256: string): Promise<string | null> {
    checkId(sha256);
    try {
      // ctime cannot be set back by a writer (unlike mtime), and a rename gives a new inode.
      const info = await stat(this.blobPath(sha256), { bigint: true });
      return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    }
  }

  async get(sha256: string): Promise<Buffer> {
    checkId(sha256);
    try {
      return await readFile(this.blobPath(sha256));
    } catch (error) {
      throw isErrno(error, 'ENOENT') ? missing(sha256) : error;
    }
  }

  async stream(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    checkId(sha256);
    let handle;
    try {
      handle = await open(this.blobPath(sha256), 'r');
    } catch (error) {
      throw isErrno(error, 'ENOENT') ? missing(sha256) : error;
    }
    if (!range) return handle.createReadStream();
    try {
      const { size } = await handle.stat();
      const { start, end } = checkRange(range, size);
      return handle.createReadStream({ start, end });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async toLocalFile(sha256: string): Promise<string> {
    checkId(sha256);
    const path = this.blobPath(sha256);
    if (!(await exists(path))) throw missing(sha256);
    return path;
  }

  async health(): Promise<boolean> {
    try {
      await mkdir(this.tmpDir, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the blob file exists and holds exactly `bytes`. */
  private async holds(sha256: string, bytes: Buffer): Promise<boolean> {
    try {
      const info = await stat(this.blobPath(sha256));
      return info.size === bytes.length && (await readFile(this.blobPath(sha256))).equals(bytes);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /**
   * Moves a finished temp file into place, mime sidecar first so a visible blob has one. An
   * existing sidecar is kept: the first mime stored for some bytes stays theirs.
   */
  private async commit(tmp: string, sha256: string, mime: string): Promise<void> {
    await mkdir(this.shardDir(sha256), { recursive: true });
    if (!(await exists(this.sidecarPath(sha256)))) {
      const sidecarTmp = await this.tmpFile();
      try {
        await writeFile(sidecarTmp, JSON.stringify({ mime: mime || DEFAULT_MIME }), {
          flush: true,
        });
        await rename(sidecarTmp, this.sidecarPath(sha256));
      } finally {
        await rm(sidecarTmp, { force: true });
      }
    }
    // Another writer may have stored the same bytes meanwhile; rename replaces its file with
    // identical content, so either order is fine.
    await rename(tmp, this.blobPath(sha256));
  }

  private async readMime(sha256: string): Promise<string> {
    try {
      const sidecar = JSON.parse(await readFile(this.sidecarPath(sha256), 'utf8')) as {
        mime?: unknown;
      };
      return typeof sidecar.mime === 'string' && sidecar.mime !== '' ? sidecar.mime : DEFAULT_MIME;
    } catch {
      return DEFAULT_MIME;
    }
  }

  private async tmpFile(): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true }).catch((error: unknown) => {
      throw unwritable(error);
    });
    return join(this.tmpDir, `${randomUUID()}.tmp`);
  }

  private shardDir(sha256: string): string {
    return join(this.root, sha256.slice(0, 2));
  }

  private blobPath(sha256: string): string {
    return join(this.shardDir(sha256), sha256);
  }

  private sidecarPath(sha256: string): string {
    return join(this.shardDir(sha256), `${sha256}.json`);
  }
}

/**
 * A failure on the store's side (its folder read-only, the disk full): named as the store's,
 * not as the caller's file, and without server paths, since the message reaches users.
 */
function unwritable(error: unknown): unknown {
  if (error instanceof LabError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const reason =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'its disk is full'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'its folder is not writable by the server'
        : `the file system answered ${code}`;
  return new LabError(
    'blob_store_unwritable',
    `the blob store (blobs/ in the data dir) cannot store files: ${reason} (${code}); ` +
      'the operator makes it writable, then retries the run',
    503,
  );
}
