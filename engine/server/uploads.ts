/**
 * Turning multipart uploads into artifacts. The type comes from the bytes (magic numbers),
 * never from the client; sizes and pixel counts are capped; video and audio are probed
 * with ffprobe (when available) so refs carry their duration and size. Nothing is stored
 * until every check has passed.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
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
  const part = await request.file({ limits: { fileSize: options.uploadLimitBytes, files: 1 } });
  if (!part) {
    throw new LabError(
      'invalid_request',
      'no file in the upload: send the file as a multipart form field named "file"',
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'charlab-upload-'));
  try {
    const path = join(dir, 'upload');
    const head = await saveWithHead(part, path);
    const media = requireMedia(head, part.filename);
    const { mime, info } = await describeMedia(ctx, media, path, part.filename);
    const ref = await ctx.engine.artifacts.putFile(path, mime, info, ownerId);
    await rememberFilename(ctx, ref.id, part.filename);
    return ref;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A character reference image, held in memory (they are small) until every check passed. */
export interface ImageUpload {
  bytes: Buffer;
  filename?: string;
  media: SniffedMedia;
}

/** Checks one buffered image: an image type by its bytes, within the pixel limit. */
export function checkImage(
  bytes: Buffer,
  filename: string | undefined,
  maxPixels: number,
): ImageUpload {
  const media = requireMedia(bytes.subarray(0, SNIFF_HEAD_BYTES), filename);
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
    let { width, height } = media;
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
