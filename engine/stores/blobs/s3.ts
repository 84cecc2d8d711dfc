/**
 * The service BlobStore: content-addressed objects in one S3 bucket (AWS S3, MinIO, SeaweedFS)
 * through the `minio` client. A blob lives at `blobs/<aa>/<sha256>` with its mime as the
 * object's Content-Type; it behaves like FileBlobStore (same errors, same shapes).
 *
 * An object appears under its final key only whole, and only under the sha256 of the bytes it
 * holds:
 * - Bytes whose hash is known before the upload starts (`put`, and a `putFile`/`putStream`
 *   source that ends within one part) go to the final key in one PUT, which S3 makes visible
 *   only once it has completed.
 * - A larger source is streamed to `tmp/<uuid>` as a multipart upload, hashed on the way; once
 *   the hash is known the object is copied server-side to its final key and the temp object
 *   deleted. A crash between the two leaves garbage under `tmp/` only, never under `blobs/`
 *   (an S3 lifecycle rule expiring `tmp/` and incomplete uploads after a day tidies it).
 *
 * `toLocalFile` downloads into a cache dir for ffmpeg; presigned GET URLs let the API redirect
 * a browser to the bucket instead of proxying the bytes.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'minio';
import { LabError } from '../../errors';
import type { BlobStat, BlobStore } from '../ports';
import { checkId, checkRange, exists, isErrno, missing } from './checks';

const DEFAULT_MIME = 'application/octet-stream';
const MiB = 1024 * 1024;
/** S3's smallest part (all but the last) and largest single PUT / CopyObject / part. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const BLOB_PREFIX = 'blobs/';
const TMP_PREFIX = 'tmp/';
const HEALTH_TIMEOUT_MS = 5_000;

/** Where the bucket is and how to sign for it: DESIGN §5's S3_* variables. */
export interface S3BlobStoreOptions {
  /** `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`: scheme, host, port. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Created when missing. */
  bucket: string;
  /** For AWS; S3-compatible servers accept the default, `us-east-1`. */
  region?: string;
  /**
   * Multipart part size, and the largest source sent in one PUT. Default 16 MiB: an upload
   * holds about two parts in memory and can reach 10,000 parts (156 GiB).
   */
  partSize?: number;
  /**
   * Temp objects up to this size move to their final key with one CopyObject; larger ones
   * with UploadPartCopy in parts of this size. Default and maximum 5 GiB (S3's limits).
   */
  copyPartSize?: number;
}

/** Headers a presigned GET makes S3 answer with, e.g. a download file name. */
export interface PresignedGetOptions {
  /** `attachment; filename="clip.mp4"` */
  contentDisposition?: string;
}

/** BlobStore on an S3 bucket. Open it with `S3BlobStore.open`. */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  /** Downloads for `toLocalFile`: `<cacheDir>/<aa>/<sha256>`. */
  readonly cacheDir: string;
  private readonly client: Client;
  private readonly partSize: number;
  private readonly copyPartSize: number;

  private constructor(
    client: Client,
    bucket: string,
    cacheDir: string,
    sizes: { partSize: number; copyPartSize: number },
  ) {
    this.client = client;
    this.bucket = bucket;
    this.cacheDir = cacheDir;
    this.partSize = sizes.partSize;
    this.copyPartSize = sizes.copyPartSize;
  }

  /**
   * Connects, creates the bucket when it is missing, and returns the store. Fails with
   * `blob_store_unavailable` when the server cannot be reached or refuses the credentials.
   */
  static async open(options: S3BlobStoreOptions, cacheDir: string): Promise<S3BlobStore> {
    const partSize = checkSize('partSize', options.partSize, 16 * MiB);
    const copyPartSize = checkSize('copyPartSize', options.copyPartSize, MAX_PART_SIZE);
    const client = new Client({
      ...parseEndpoint(options.endpoint),
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      // Without one, minio asks the server for the bucket's region before its first request.
      ...(options.region ? { region: options.region } : {}),
      // Path-style (`host/bucket/key`) works with every S3-compatible server and raw IPs.
      pathStyle: true,
      partSize,
    });
    const store = new S3BlobStore(client, options.bucket, cacheDir, { partSize, copyPartSize });
    try {
      await store.ensureBucket();
    } catch (error) {
      throw new LabError(
        'blob_store_unavailable',
        `cannot open the S3 bucket "${options.bucket}" at ${options.endpoint} (${errorText(error)}); ` +
          'check S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY, and that the server is running',
        503,
      );
    }
    return store;
  }

  async put(bytes: Buffer, mime: string): Promise<{ sha256: string; bytes: number }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = blobKey(sha256);
    // Same bytes, same key: an existing object already holds them (and keeps its first mime),
    // unless its size says it was damaged; then these bytes replace it.
    const existing = await this.head(key);
    if (!existing || existing.bytes !== bytes.length) {
      await this.client.putObject(this.bucket, key, bytes, bytes.length, contentType(mime));
    }
    return { sha256, bytes: bytes.length };
  }

  async putFile(path: string, mime: string): Promise<{ sha256: string; bytes: number }> {
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw unreadable(path, error);
    }
    const source = handle.createReadStream();
    try {
      return await this.putStream(source, mime);
    } catch (error) {
      // A directory opens fine on Linux and fails on the first read.
      throw isErrno(error, 'EISDIR') || isErrno(error, 'EACCES') ? unreadable(path, error) : error;
    } finally {
      source.destroy();
      await handle.close().catch(() => undefined);
    }
  }

  /**
   * Stores a stream (an upload straight from an HTTP request, say) without a local copy:
   * hashed on the way, multipart when it is larger than one part. The source is consumed; when
   * it fails or ends early (destroyed), nothing is stored and its error is rethrown.
   */
  async putStream(source: Readable, mime: string): Promise<{ sha256: string; bytes: number }> {
    const chunks = source[Symbol.asyncIterator]() as AsyncIterator<unknown>;
    // Read up to one part first: a source that ends within it is small, its hash is known
    // before anything is sent, and it goes to its final key in one PUT.
    const head: Buffer[] = [];
    let headBytes = 0;
    while (headBytes <= this.partSize) {
      const next = await chunks.next();
      if (next.done) return this.put(Buffer.concat(head, headBytes), mime);
      const chunk = asBuffer(next.value);
      head.push(chunk);
      headBytes += chunk.length;
    }

    const hash = createHash('sha256');
    let bytes = 0;
    let failure: { error: unknown } | undefined;
    const hashed = Readable.from(
      (async function* () {
        try {
          for (const chunk of head) {
            hash.update(chunk);
            bytes += chunk.length;
            yield chunk;
          }
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
            const chunk = asBuffer(next.value);
            hash.update(chunk);
            bytes += chunk.length;
            yield chunk;
          }
        } catch (error) {
          // Ended, not errored: minio's multipart upload never settles when its input stream
          // errors, so the (truncated) temp object completes and is deleted below.
          failure = { error };
        }
      })(),
      { objectMode: false },
    );

    const tmpKey = `${TMP_PREFIX}${randomUUID()}`;
    try {
      await this.client.putObject(this.bucket, tmpKey, hashed, undefined, contentType(mime));
      if (failure) throw failure.error;
      const sha256 = hash.digest('hex');
      await this.commit(tmpKey, sha256, bytes, mime);
      return { sha256, bytes };
    } catch (error) {
      source.destroy();
      hashed.destroy();
      await this.client.removeIncompleteUpload(this.bucket, tmpKey).catch(() => undefined);
      throw error;
    } finally {
      await this.client.removeObject(this.bucket, tmpKey).catch(() => undefined);
    }
  }

  async stat(sha256: string): Promise<BlobStat | null> {
    checkId(sha256);
    return this.head(blobKey(sha256));
  }

  async get(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.stream(sha256)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async stream(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    checkId(sha256);
    const key = blobKey(sha256);
    if (!range) {
      try {
        return await this.client.getObject(this.bucket, key);
      } catch (error) {
        throw isNotFound(error) ? missing(sha256) : error;
      }
    }
    // The size first, so ranges are checked and clamped exactly as the files store does.
    const info = await this.head(key);
    if (!info) throw missing(sha256);
    const { start, end } = checkRange(range, info.bytes);
    try {
      return await this.client.getPartialObject(this.bucket, key, start, end - start + 1);
    } catch (error) {
      throw isNotFound(error) ? missing(sha256) : error;
    }
  }

  /**
   * Downloads the blob into `<cacheDir>/<aa>/<sha256>` (verified against its id, renamed into
   * place whole) and returns that path; a later call finds the file and downloads nothing.
   */
  async toLocalFile(sha256: string): Promise<string> {
    checkId(sha256);
    const path = join(this.cacheDir, sha256.slice(0, 2), sha256);
    if (await exists(path)) return path;
    const source = await this.stream(sha256);
    const tmpDir = join(this.cacheDir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, `${randomUUID()}.part`);
    try {
      const hash = createHash('sha256');
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flush: true }),
      );
      if (hash.digest('hex') !== sha256) {
        throw new LabError(
          'blob_corrupt',
          `the object for artifact "${sha256}" in bucket "${this.bucket}" does not hash to its id; ` +
            'delete the object and upload the artifact again or re-run the node that made it',
          502,
        );
      }
      await mkdir(join(this.cacheDir, sha256.slice(0, 2)), { recursive: true });
      // Concurrent downloads of one blob each rename a whole copy: the last one wins, unharmed.
      await rename(tmp, path);
      return path;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async health(): Promise<boolean> {
    try {
      return await withTimeout(this.client.bucketExists(this.bucket), HEALTH_TIMEOUT_MS);
    } catch {
      return false;
    }
  }

  /**
   * A URL anyone can GET the blob's bytes from until it expires (Range requests included), for
   * the API to redirect to. Throws `artifact_not_found` for a blob that is not stored.
   */
  async presignedGetUrl(
    sha256: string,
    expirySec = 15 * 60,
    options: PresignedGetOptions = {},
  ): Promise<string> {
    checkId(sha256);
    if (!Number.isInteger(expirySec) || expirySec < 1 || expirySec > 7 * 24 * 3600) {
      throw new LabError(
        'invalid_expiry',
        `a presigned URL lasts 1 s to 7 days; ${String(expirySec)} s is outside that, pick a whole number of seconds in range`,
        400,
      );
    }
    const key = blobKey(sha256);
    if (!(await this.head(key))) throw missing(sha256);
    const headers = options.contentDisposition
      ? { 'response-content-disposition': options.contentDisposition }
      : undefined;
    return this.client.presignedGetObject(this.bucket, key, expirySec, headers);
  }

  /** Moves a finished temp object to its final key, unless the same bytes are there already. */
  private async commit(tmpKey: string, sha256: string, bytes: number, mime: string) {
    const key = blobKey(sha256);
    if (await this.head(key)) return;
    if (bytes <= this.copyPartSize) {
      // Keeps the temp object's metadata, Content-Type included.
      await this.client.copyObject(this.bucket, key, `/${this.bucket}/${tmpKey}`);
      return;
    }
    // Past CopyObject's 5 GiB: a multipart upload whose parts are copied server-side. Like any
    // multipart upload it becomes visible only on completion.
    const uploadId = await this.client.initiateNewMultipartUpload(
      this.bucket,
      key,
      contentType(mime),
    );
    try {
      const parts: { part: number; etag: string }[] = [];
      for (let start = 0; start < bytes; start += this.copyPartSize) {
        const end = Math.min(start + this.copyPartSize, bytes) - 1;
        const { etag } = await this.client.uploadPart({
          bucketName: this.bucket,
          objectName: key,
          uploadID: uploadId,
          partNumber: parts.length + 1,
          headers: {
            'x-amz-copy-source': `/${this.bucket}/${tmpKey}`,
            'x-amz-copy-source-range': `bytes=${start}-${end}`,
          },
        });
        parts.push({ part: parts.length + 1, etag });
      }
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, parts);
    } catch (error) {
      await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      throw error;
    }
  }

  /** Size and mime of an object, or null when there is none. */
  async fingerprint(sha256: string): Promise<string | null> {
    checkId(sha256);
    try {
      const info = await this.client.statObject(this.bucket, blobKey(sha256));
      return `${info.etag}:${info.size}:${info.lastModified.getTime()}`;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async head(key: string): Promise<BlobStat | null> {
    try {
      const info = await this.client.statObject(this.bucket, key);
      const mime = (info.metaData as Record<string, unknown>)['content-type'];
      return { bytes: info.size, mime: typeof mime === 'string' && mime ? mime : DEFAULT_MIME };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async ensureBucket(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket);
    } catch (error) {
      // Another replica created it between our check and our request.
      if (s3Code(error) === 'BucketAlreadyOwnedByYou') return;
      if (
        s3Code(error) === 'BucketAlreadyExists' &&
        (await this.client.bucketExists(this.bucket))
      ) {
        return;
      }
      throw error;
    }
  }
}

/** `blobs/<aa>/<sha256>`: the shard prefix keeps listings of one prefix short. */
function blobKey(sha256: string): string {
  return `${BLOB_PREFIX}${sha256.slice(0, 2)}/${sha256}`;
}

function contentType(mime: string): Record<string, string> {
  return { 'Content-Type': mime || DEFAULT_MIME };
}

function parseEndpoint(endpoint: string): { endPoint: string; port: number; useSSL: boolean } {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname.replace(/\/+$/, '') !== '' ||
    url.search ||
    url.username
  ) {
    throw new LabError(
      'invalid_s3_endpoint',
      `S3_ENDPOINT "${endpoint}" is not a server URL; set it to scheme, host and port only, e.g. http://127.0.0.1:9000`,
      500,
    );
  }
  const useSSL = url.protocol === 'https:';
  return {
    // minio wants a bare IPv6 address, without URL brackets.
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
  };
}

/** Part sizes within S3's limits: 5 MiB to 5 GiB. */
function checkSize(name: string, value: number | undefined, fallback: number): number {
  if (
    value !== undefined &&
    (!Number.isInteger(value) || value < MIN_PART_SIZE || value > MAX_PART_SIZE)
  ) {
    throw new LabError(
      'invalid_s3_option',
      `${name} ${String(value)} is outside S3's limits; use a whole number of bytes from ${MIN_PART_SIZE} to ${MAX_PART_SIZE}`,
      500,
    );
  }
  return value ?? fallback;
}

function unreadable(path: string, error: unknown): unknown {
  if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR') || isErrno(error, 'EACCES')) {
    return new LabError(
      'blob_source_unreadable',
      `cannot read "${path}" to store it (${(error as Error).message}); check the file exists and is readable`,
      400,
    );
  }
  return error;
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  throw new TypeError('putStream takes a byte stream (Buffer, Uint8Array or string chunks)');
}

function s3Code(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isNotFound(error: unknown): boolean {
  const code = s3Code(error);
  return code === 'NotFound' || code === 'NoSuchKey';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
