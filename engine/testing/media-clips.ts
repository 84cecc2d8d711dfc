/**
 * Tiny media made by ffmpeg's lavfi sources, for tests: no fixtures in git, each under a
 * second to make on two cores.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from '../media/ffmpeg';

export interface TestClipOptions {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
  /** Adds a 440 Hz tone as an AAC track. */
  withAudio?: boolean;
}

/** Writes an H.264 test-pattern clip and returns its path. */
export async function makeTestClip(
  dir: string,
  name: string,
  options: TestClipOptions,
): Promise<string> {
  const file = join(dir, name);
  const { width, height, fps, durationSec } = options;
  await runFfmpeg({
    what: `making test clip ${name}`,
    build: (command) => {
      command
        .input(`testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSec}`)
        .inputOptions(['-f', 'lavfi']);
      if (options.withAudio) {
        command
          .input(`sine=frequency=440:sample_rate=48000:duration=${durationSec}`)
          .inputOptions(['-f', 'lavfi']);
      }
      command
        .output(file)
        .outputOptions([
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-pix_fmt',
          'yuv420p',
          ...(options.withAudio ? ['-c:a', 'aac', '-shortest'] : []),
        ]);
    },
  });
  return file;
}

/** Writes a PNG test pattern (with an alpha channel when asked) and returns its path. */
export async function makeTestImage(
  dir: string,
  name: string,
  width: number,
  height: number,
  options: { alpha?: boolean } = {},
): Promise<string> {
  const file = join(dir, name);
  await runFfmpeg({
    what: `making test image ${name}`,
    build: (command) =>
      command
        .input(`testsrc2=size=${width}x${height}:rate=1:duration=1`)
        .inputOptions(['-f', 'lavfi'])
        .output(file)
        .outputOptions([
          '-frames:v',
          '1',
          '-update',
          '1',
          '-pix_fmt',
          options.alpha ? 'rgba' : 'rgb24',
        ]),
  });
  return file;
}

/** Writes an audio file (a tone) and returns its path. */
export async function makeTestTone(
  dir: string,
  name: string,
  durationSec: number,
): Promise<string> {
  const file = join(dir, name);
  await runFfmpeg({
    what: `making test tone ${name}`,
    build: (command) =>
      command
        .input(`sine=frequency=330:sample_rate=48000:duration=${durationSec}`)
        .inputOptions(['-f', 'lavfi'])
        .output(file)
        .outputOptions(['-c:a', 'aac']),
  });
  return file;
}

/** Writes bytes that are not an image at all, under an image's name. */
export async function makeCorruptImage(dir: string, name: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('not really a png'),
    ]),
  );
  return file;
}
