/**
 * Real, tiny media for the fakes to return: a PNG/JPEG frame and an MP4 clip made by ffmpeg
 * from its lavfi test source (no fixtures in the repo). Memoised per process, so a test file
 * pays for each at most once. Test-only code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cache = new Map<string, Promise<Buffer>>();

function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

function memo(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
  let value = cache.get(key);
  if (!value) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

async function render(extension: string, args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'charlab-fake-media-'));
  const file = join(dir, `out.${extension}`);
  try {
    await run(ffmpegPath(), ['-v', 'error', '-y', ...args, file]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A one-frame PNG of ffmpeg's colour test pattern. */
export function makePng(width = 320, height = 180): Promise<Buffer> {
  return memo(`png:${width}x${height}`, () =>
    render('png', [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=1`,
      '-frames:v',
      '1',
    ]),
  );
}

/** A one-frame JPEG of the same pattern. */
export function makeJpeg(width = 320, height = 180): Promise<Buffer> {
  return memo(`jpeg:${width}x${height}`, () =>
    render('jpg', [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=1`,
      '-frames:v',
      '1',
    ]),
  );
}

/** A short silent H.264 MP4. */
export function makeMp4(seconds = 1, width = 320, height = 180): Promise<Buffer> {
  return memo(`mp4:${seconds}:${width}x${height}`, () =>
    render('mp4', [
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${width}x${height}:rate=24:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
    ]),
  );
}
