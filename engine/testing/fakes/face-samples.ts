/**
 * Face images for consistency tests, cut by ffmpeg from a sample photo that ships inside
 * @vladmandic/face-api (demo/sample1.jpg, 1920×1280, three different people). No fixtures in
 * the repo, nothing downloaded. Test-only code.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The photo the crops come from. */
export const SAMPLE_PHOTO = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
  'sample1.jpg',
);

/** The three faces in SAMPLE_PHOTO (full-size pixels, as face-api 1.7.15 detects them). */
export const SAMPLE_FACES = [
  { x: 1474, y: 199, width: 204, height: 240 },
  { x: 838, y: 418, width: 188, height: 229 },
  { x: 414, y: 353, width: 176, height: 240 },
] as const;

export interface FaceCropOptions {
  /** Mirror, shrink, re-light and re-encode as JPEG: the same person, different pixels. */
  variant?: boolean;
}

/** A PNG (or, for a variant, JPEG) head-and-shoulders crop of face `index` (0–2). */
export async function sampleFaceCrop(
  index: number,
  options: FaceCropOptions = {},
): Promise<Buffer> {
  const face = SAMPLE_FACES[index];
  const margin = 0.6;
  const x = Math.max(0, Math.round(face.x - face.width * margin));
  const y = Math.max(0, Math.round(face.y - face.height * margin));
  const w = Math.round(face.width * (1 + 2 * margin));
  const h = Math.round(face.height * (1 + 2 * margin));
  const filters = [`crop=${w}:${h}:${x}:${y}`];
  if (options.variant) filters.push('hflip', 'scale=iw*0.7:-2', 'eq=brightness=0.06:contrast=1.1');
  const codec = options.variant ? 'mjpeg' : 'png';
  const { stdout } = await run(
    process.env.FFMPEG_PATH || 'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      SAMPLE_PHOTO,
      '-vf',
      filters.join(','),
      '-f',
      'image2pipe',
      '-c:v',
      codec,
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}
