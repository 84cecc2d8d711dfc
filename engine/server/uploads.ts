/**
 * Turning multipart uploads into artifacts. The type comes from the bytes (magic numbers),
 * never from the client; sizes and pixel counts are capped; video and audio are probed
 * with ffprobe (when available) so refs carry their duration and size. Nothing is stored
 * until every check has passed.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { MediaInfo } from '../artifacts/artifact-service';
import { LabError } from '../errors';
import type { ArtifactRef } from '../graph/values';
import type { MediaProber, ServerContext } from './context';
import { ACCEPTED_MEDIA, SNIFF_HEAD_BYTES, sniffMedia, type SniffedMedia } from './media-sniff';

/** Identifies the media in `head` or throws 415 `unsupported_media_type`. */
export function requireMedia(head: Buffer, filename: string | undefined): SniffedMedia {
  const media = sniffMedia(head);
  if (!media) {
    throw new LabError(
      'unsupported_media_type',
      `${describeFile(filename)} is not a supported file (its content is none of ${ACCEPTED_MEDIA.join(', ')}): ` +
        'upload an image, video or audio file of one of those types',
      415,
    );
  }
  return media;
}

/** Refuses an image (or video frame) over the pixel limit, before anything decodes it. */
export function checkPixels(
  info: { width?: number; height?: number },
  maxPixels: number,
  filename: string | undefined,
): void {
  if (info.width && info.height && info.width * info.height > maxPixels) {
    throw new LabError(
      'image_too_large',
      `${describeFile(filename)} is ${info.width}×${info.height} (${(info.width * info.height).toLocaleString('en')} pixels), ` +
        `over the ${maxPixels.toLocaleString('en')}-pixel limit: scale it down and upload it again`,
      413,
    );
  }
}

/** Receives the single file of `POST /api/artifacts` and stores it as an artifact. */
export async function receiveArtifact(
  request: FastifyRequest,
  ctx: ServerContext,
  ownerId: string,
): Promise<ArtifactRef> {
  const { options } = ctx;
  let part: MultipartFile | undefined;
  const unguard = guardTruncation(request, () => part?.file);
  try {
    part = await request.file({ limits: { fileSize: options.uploadLimitBytes, files: 1 } });
  } catch (error) {
    unguard();
    throw error;
  }
  if (!part) {
    unguard();
    throw new LabError(
      'invalid_request',
      'no file in the upload: send the file as a multipart form field named "file"',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), UPLOAD_DIR_PREFIX));
  try {
    const path = join(dir, 'upload');
    const head = await saveWithHead(part, path);
    const media = requireMedia(head, part.filename);
    const { mime, info } = await describeMedia(ctx, media, path, part.filename);
    const ref = await ctx.engine.artifacts.putFile(path, mime, info, ownerId);
    await rememberFilename(ctx, ref.id, part.filename);
    return ref;
  } finally {
    unguard();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Fails the upload's file stream when the request body ends before the file part did, or the
 * connection breaks off. busboy reports a part cut short by an 'error' event on the file stream
 * that, for a small body, fires before anyone can listen (the whole body is parsed while
 * `request.file()` resolves), and the stream then never ends: the request would hang and its
 * temp folder stay. Once the body has ended, busboy has pushed the end of every complete part,
 * so a file stream not ended by then was truncated.
 */
function guardTruncation(request: FastifyRequest, fileOf: () => Readable | undefined): () => void {
  const raw = request.raw;
  let immediate: NodeJS.Immediate | undefined;
  const onEnd = () => {
    immediate = setImmediate(() => {
      const file = fileOf();
      if (file && !file.destroyed && !pushedEnd(file)) file.destroy(truncatedUpload());
    });
  };
  const onClose = () => {
    if (raw.complete) return;
    const file = fileOf();
    if (file && !file.destroyed) {
      file.destroy(
        new LabError(
          'upload_incomplete',
          'the connection closed before the upload was complete: send the file again',
          400,
        ),
      );
    }
  };
  raw.once('end', onEnd);
  raw.once('close', onClose);
  return () => {
    clearImmediate(immediate);
    raw.off('end', onEnd);
    raw.off('close', onClose);
  };
}

function truncatedUpload(): LabError {
  return new LabError(
    'invalid_multipart',
    'the upload ended inside the file (the form has no closing boundary): send the whole file again',
    400,
  );
}

/**
 * Whether a readable has been handed its last chunk (`push(null)`), read or not. Node keeps
 * this only in the stream state (`readableEnded` turns true later, once a consumer read it all).
 */
function pushedEnd(stream: Readable): boolean {
  return (
    (stream as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true
  );
}

/** A character reference image, held in memory (they are small) until every check passed. */
export interface ImageUpload {
  bytes: Buffer;
  filename?: string;
  media: SniffedMedia;
}

/**
 * The bytes of one image part, refused with the image limit itself when over it. Without this
 * the multipart error reached the generic handler, which names the artifact upload limit
 * ("over the 268.4 MB limit" for a 21 MB reference image).
 */
export async function imagePartBytes(
  part: { toBuffer(): Promise<Buffer>; filename?: string },
  limitBytes: number,
): Promise<Buffer> {
  try {
    return await part.toBuffer();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    // busboy closes a file part the body ended inside of without an error of its own; reading
    // it then fails with Node's "Premature close" (found by engine/server/routes.fuzz.test.ts).
    if (code === 'ERR_STREAM_PREMATURE_CLOSE') throw truncatedUpload();
    if (code !== 'FST_REQ_FILE_TOO_LARGE') throw error;
    throw new LabError(
      'payload_too_large',
      `${describeFile(part.filename)} is over the ${formatMegabytes(limitBytes)} limit for images: ` +
        'scale it down or save it as JPEG, and upload it again',
      413,
      { limitBytes },
    );
  }
}

/** 20 MB for 20 × 1024 × 1024 bytes: the way the limit is configured, and how users think of it. */
function formatMegabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

/** Checks one buffered image: an image type by its bytes, within the pixel limit. */
export function checkImage(
  bytes: Buffer,
  filename: string | undefined,
  maxPixels: number,
): ImageUpload {
  // The whole image, not its head: sizes come from every frame header (media-sniff.ts).
  const media = requireMedia(bytes, filename);
  if (!media.mime.startsWith('image/')) {
    throw new LabError(
      'unsupported_media_type',
      `${describeFile(filename)} is ${media.mime}, not an image: reference images are PNG, JPEG or WebP`,
      415,
    );
  }
  if (!media.width || !media.height) {
    throw new LabError(
      'unreadable_media',
      `${describeFile(filename)} looks like ${media.mime} but its size cannot be read: it is probably damaged; export it again`,
      400,
    );
  }
  checkPixels(media, maxPixels, filename);
  return { bytes, media, ...(filename ? { filename } : {}) };
}

/** Stores checked images as artifacts. */
export async function storeImages(
  ctx: ServerContext,
  images: readonly ImageUpload[],
  ownerId: string,
): Promise<ArtifactRef[]> {
  const refs: ArtifactRef[] = [];
  for (const image of images) {
    const { width, height } = image.media;
    const info: MediaInfo = { ...(width ? { width } : {}), ...(height ? { height } : {}) };
    refs.push(
      await ctx.engine.artifacts.putBytes(
        image.bytes,
        image.media.mime,
        info,
        ownerId,
        image.filename,
      ),
    );
  }
  return refs;
}

async function describeMedia(
  ctx: ServerContext,
  media: SniffedMedia,
  path: string,
  filename?: string,
): Promise<{ mime: string; info: MediaInfo }> {
  const { maxImagePixels, probe } = ctx.options;
  if (media.mime.startsWith('image/')) {
    // The sniffed head may stop before the real frame (a decoy SOF, a VP8X canvas that lies):
    // the sizes are read again from the whole file before anything decodes it.
    let { width, height } = sniffMedia(await readFile(path)) ?? {};
    if ((!width || !height) && probe) {
      // A JPEG whose size marker sits behind large metadata: let ffprobe read it.
      ({ width, height } = await probeOrReject(probe, path, media, filename));
    }
    if (!width || !height) {
      throw new LabError(
        'unreadable_media',
        `${describeFile(filename)} looks like ${media.mime} but its size cannot be read: it is probably damaged; export it again`,
        400,
      );
    }
    checkPixels({ width, height }, maxImagePixels, filename);
    return { mime: media.mime, info: { width, height } };
  }
  if (!probe) return { mime: media.mime, info: {} };
  const info = await probeOrReject(probe, path, media, filename);
  let mime: string = media.mime;
  // Many .m4a files carry a generic MP4 brand: the streams, not the brand, say it is audio.
  if (mime === 'video/mp4' && info.hasVideo === false && info.hasAudio) mime = 'audio/mp4';
  if (mime.startsWith('video/') && info.hasVideo === false) {
    throw new LabError(
      'unreadable_media',
      `${describeFile(filename)} has no video stream: upload a video file`,
      400,
    );
  }
  checkPixels(info, maxImagePixels, filename);
  return {
    mime,
    info: {
      ...(info.width && mime.startsWith('video/') ? { width: info.width } : {}),
      ...(info.height && mime.startsWith('video/') ? { height: info.height } : {}),
      ...(info.durationSec ? { durationSec: info.durationSec } : {}),
      // Kept on the record: a merge of this video reads it instead of running ffprobe again.
      probe: info,
    },
  };
}

async function probeOrReject(
  probe: MediaProber,
  path: string,
  media: SniffedMedia,
  filename?: string,
) {
  try {
    return await probe(path);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new LabError(
      'unreadable_media',
      `${describeFile(filename)} starts like ${media.mime} but cannot be read (${detail}): it is probably damaged or truncated; export it again`,
      400,
    );
  }
}

/** Writes the upload to `path`, keeping its first bytes for sniffing. */
async function saveWithHead(part: MultipartFile, path: string): Promise<Buffer> {
  // busboy closes (without an error) a file part the body ended inside of, and it may have done
  // so before this runs; a pipeline from a closed stream would wait forever.
  if (part.file.destroyed && !part.file.readableEnded) throw truncatedUpload();
  const chunks: Buffer[] = [];
  let kept = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (kept < SNIFF_HEAD_BYTES) {
        const slice = chunk.subarray(0, SNIFF_HEAD_BYTES - kept);
        chunks.push(slice);
        kept += slice.length;
      }
      callback(null, chunk);
    },
  });
  await pipeline(part.file, tap, createWriteStream(path));
  // With throwFileSizeLimit the stream errors on overflow; this catches a silent truncation.
  if (part.file.truncated) {
    throw new LabError(
      'payload_too_large',
      `${describeFile(part.filename)} is too large: upload a smaller file`,
      413,
    );
  }
  return Buffer.concat(chunks);
}

async function rememberFilename(
  ctx: ServerContext,
  id: string,
  filename: string | undefined,
): Promise<void> {
  if (!filename) return;
  const record = await ctx.engine.documents.artifacts.get(id);
  if (record && !record.filename) {
    await ctx.engine.documents.artifacts.put({ ...record, filename: filename.slice(0, 255) });
  }
}

function describeFile(filename: string | undefined): string {
  return filename ? `"${filename.slice(0, 120)}"` : 'the file';
}

/** Where an upload is written while it is checked; removed when the request ends. */
const UPLOAD_DIR_PREFIX = 'charlab-upload-';

/**
 * An upload folder older than this belongs to no live request (a request may take an hour,
 * see app.ts; probing adds little): it was left by a process that died mid-upload.
 */
const STALE_UPLOAD_MS = 2 * 60 * 60_000;

/**
 * Removes upload folders a killed process left in the temp dir. Only old ones: other servers on
 * this machine (tests, replicas) share the temp dir and may be receiving uploads right now.
 */
export async function sweepStaleUploads(
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
  now = Date.now(),
  dir = tmpdir(),
): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(UPLOAD_DIR_PREFIX)) continue;
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (!info.isDirectory() || now - info.mtimeMs < STALE_UPLOAD_MS) continue;
      await rm(path, { recursive: true, force: true });
      removed++;
    } catch {
      // Gone already, or not ours to remove: nothing to sweep.
    }
  }
  if (removed > 0) log('info', `removed ${removed} stale upload folder(s) from ${dir}`);
  return removed;
}
