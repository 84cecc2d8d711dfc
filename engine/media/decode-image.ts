/**
 * Decodes any image ffmpeg understands (PNG, JPEG, WebP, …) into packed RGB pixels, without
 * native Node addons: the bytes go to ffmpeg on stdin and come back as a binary PPM on stdout.
 * Worker-only.
 */
import { spawn } from 'node:child_process';
import { LabError } from '../errors';
import { demuxerFor, sniffMedia } from '../server/media-sniff';

export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes, row-major RGB. */
  pixels: Uint8Array;
}

export interface DecodeOptions {
  /** The configured ffmpeg (FFMPEG_PATH, `config.providers.ffmpegPath`); else `ffmpeg`. */
  ffmpegPath?: string;
  /** Downscale so neither side exceeds this (keeps detection fast on 4K frames). */
  maxSide?: number;
  /**
   * Refuse images with more pixels than this before ffmpeg sees them (default 40 MP, the
   * upload limit): the check is redone here, on the bytes about to be decoded, because a
   * stored image may predate the limit or come from a provider.
   */
  maxPixels?: number;
}

/** The upload pixel limit (engine/server/app.ts `maxImagePixels`). */
export const DEFAULT_MAX_DECODE_PIXELS = 40_000_000;

const DECODE_TIMEOUT_MS = 30_000;

/** Decodes the first frame of `bytes` to RGB, scaled down to fit `maxSide` if needed. */
export async function decodeToRgb(bytes: Buffer, options: DecodeOptions = {}): Promise<RgbImage> {
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const maxSide = options.maxSide ?? 1024;
  const demuxer = checkedImageDemuxer(bytes, options.maxPixels ?? DEFAULT_MAX_DECODE_PIXELS);
  const args = [
    '-v',
    'error',
    // Only this image demuxer, only stdin: never a playlist demuxer that opens other inputs.
    '-f',
    demuxer,
    '-protocol_whitelist',
    'pipe',
    '-i',
    'pipe:0',
    '-frames:v',
    '1',
    '-vf',
    `scale=w='min(${maxSide},iw)':h='min(${maxSide},ih)':force_original_aspect_ratio=decrease`,
    '-f',
    'image2pipe',
    '-c:v',
    'ppm',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
  const output = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), DECODE_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        new LabError(
          'ffmpeg_missing',
          `ffmpeg_missing: could not start ffmpeg at "${ffmpeg}" (${error.message}); install ffmpeg or set FFMPEG_PATH`,
          500,
        ),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(chunks));
      else
        reject(
          new LabError(
            'image_undecodable',
            `image_undecodable: ffmpeg could not decode the image (${stderr.trim().split('\n').pop() || `exit ${code}`}); ` +
              'upload a PNG or JPEG',
            400,
          ),
        );
    });
    // ffmpeg may stop reading early (one frame is enough); a broken pipe is not an error then.
    child.stdin.on('error', () => undefined);
    child.stdin.end(bytes);
  });
  return parsePpm(output);
}

/**
 * The demuxer for `bytes` when they are a PNG, JPEG or WebP within `maxPixels` (sizes read
 * from every frame header, engine/server/media-sniff.ts); refuses anything else.
 */
function checkedImageDemuxer(bytes: Buffer, maxPixels: number): string {
  const media = sniffMedia(bytes);
  if (!media || !media.mime.startsWith('image/')) {
    throw new LabError(
      'image_undecodable',
      'image_undecodable: the bytes are not a PNG, JPEG or WebP image; upload a PNG or JPEG',
      400,
    );
  }
  const { width, height } = media;
  if (!width || !height) {
    throw new LabError(
      'image_undecodable',
      `image_undecodable: the size of this ${media.mime} cannot be read; it is probably damaged, export it again`,
      400,
    );
  }
  if (width * height > maxPixels) {
    throw new LabError(
      'image_too_large',
      `image_too_large: the image is ${width}×${height} (${(width * height).toLocaleString('en')} pixels), ` +
        `over the ${maxPixels.toLocaleString('en')}-pixel limit; scale it down and upload it again`,
      413,
    );
  }
  return demuxerFor(media.mime);
}

/** Parses a binary PPM (P6, maxval 255). */
export function parsePpm(data: Buffer): RgbImage {
  let offset = 0;
  const fields: string[] = [];
  while (fields.length < 4) {
    while (offset < data.length && /\s/.test(String.fromCharCode(data[offset]))) offset++;
    if (data[offset] === 0x23) {
      while (offset < data.length && data[offset] !== 0x0a) offset++;
      continue;
    }
    const start = offset;
    while (offset < data.length && !/\s/.test(String.fromCharCode(data[offset]))) offset++;
    if (start === offset) break;
    fields.push(data.subarray(start, offset).toString('latin1'));
  }
  offset++; // the single whitespace byte after maxval
  const [magic, w, h, max] = fields;
  const width = Number(w);
  const height = Number(h);
  if (magic !== 'P6' || max !== '255' || !(width > 0) || !(height > 0)) {
    throw new LabError(
      'image_undecodable',
      'image_undecodable: ffmpeg did not return an RGB image; upload a PNG or JPEG',
      400,
    );
  }
  const size = width * height * 3;
  if (data.length < offset + size) {
    throw new LabError(
      'image_undecodable',
      'image_undecodable: the decoded image is truncated; upload the file again',
      400,
    );
  }
  return { width, height, pixels: new Uint8Array(data.buffer, data.byteOffset + offset, size) };
}
