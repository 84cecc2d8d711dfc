/**
 * Decodes any image ffmpeg understands (PNG, JPEG, WebP, …) into packed RGB pixels, without
 * native Node addons: the bytes go to ffmpeg on stdin and come back as a binary PPM on stdout.
 * Worker-only.
 */
import { spawn } from 'node:child_process';
import { LabError } from '../errors';

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
}

const DECODE_TIMEOUT_MS = 30_000;

/** Decodes the first frame of `bytes` to RGB, scaled down to fit `maxSide` if needed. */
export async function decodeToRgb(bytes: Buffer, options: DecodeOptions = {}): Promise<RgbImage> {
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const maxSide = options.maxSide ?? 1024;
  const args = [
    '-v',
    'error',
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
