import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FfmpegError,
  parseTime,
  pinnedInputOptions,
  probe,
  probeVideo,
  readImageInfo,
  runFfmpeg,
} from './ffmpeg';
import { filterValue } from './filter-escape';
import { makeCorruptImage, makeTestClip, makeTestImage } from '../testing/media-clips';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlab-ffmpeg-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Pids of live processes whose command line mentions `needle` (Linux /proc). */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

describe('parseTime', () => {
  it('reads the stats line and -progress output, and ignores other lines', () => {
    expect(
      parseTime('frame=   48 fps=0.0 q=-1.0 size=  12kB time=00:00:02.04 bitrate=  47.1kbits/s'),
    ).toBeCloseTo(2.04);
    expect(parseTime('out_time=00:01:05.458415')).toBeCloseTo(65.458415);
    expect(parseTime('size=N/A time=-00:00:00.04 bitrate=N/A')).toBe(0);
    expect(parseTime('Stream #0:0: Video: h264')).toBeUndefined();
    expect(parseTime('time=N/A')).toBeUndefined();
  });
});

describe('runFfmpeg', () => {
  it('reports progress from ffmpeg time against the expected duration, ending at 1', async () => {
    const fractions: number[] = [];
    const output = join(dir, 'progress.mp4');
    await runFfmpeg({
      what: 'encoding a test pattern',
      expectedDurationSec: 4,
      onProgress: (f) => fractions.push(f),
      build: (command) =>
        command
          .input('testsrc2=size=320x180:rate=24:duration=4')
          // Read at 4× real time so ffmpeg reports a few times before it finishes.
          .inputOptions(['-f', 'lavfi', '-readrate', '4'])
          .output(output)
          .outputOptions(['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']),
    });
    expect(fractions.at(-1)).toBe(1);
    expect(fractions.some((f) => f > 0 && f < 1)).toBe(true);
    expect(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f > fractions[i - 1]))).toBe(
      true,
    );
    const info = await probeVideo(output, 'the output');
    expect(info.durationSec).toBeCloseTo(4, 1);
  });

  it('explains a failing command with the tail of ffmpeg stderr', async () => {
    const error = await runFfmpeg({
      what: 'filtering',
      build: (command) =>
        command
          .input('testsrc2=size=64x64:rate=1:duration=1')
          .inputOptions(['-f', 'lavfi'])
          .complexFilter('[0:v]nosuchfilter[x]')
          .output(join(dir, 'never.png'))
          .outputOptions(['-map', '[x]']),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegError);
    expect((error as FfmpegError).message).toMatch(
      /^filtering failed: ffmpeg exited with code \d+ \(.*No such filter: 'nosuchfilter'/,
    );
    expect((error as FfmpegError).code).toBe('ffmpeg_failed');
  });

  it('kills ffmpeg within a second of an abort and rejects with the abort reason', async () => {
    const output = join(dir, 'cancelled-long-render.mp4');
    const controller = new AbortController();
    let started = false;
    const run = runFfmpeg({
      signal: controller.signal,
      expectedDurationSec: 600,
      onProgress: () => {
        started = true;
      },
      build: (command) =>
        command
          .input('testsrc2=size=640x360:rate=24:duration=600')
          .inputOptions(['-f', 'lavfi'])
          .output(output)
          .outputOptions(['-c:v', 'libx264', '-preset', 'medium']),
    });
    const outcome = run.then(
      () => 'finished',
      (e: unknown) => e,
    );
    const deadline = Date.now() + 10_000;
    while (!started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(started).toBe(true);
    expect(await processesMentioning(output)).not.toHaveLength(0);

    const abortedAt = Date.now();
    controller.abort(new Error('node cancelled'));
    const error = await outcome;
    expect((error as Error).message).toBe('node cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(await processesMentioning(output)).toEqual([]);
  });

  it('refuses to start when already aborted', async () => {
    await expect(
      runFfmpeg({
        signal: AbortSignal.abort(),
        build: (c) => c.input('x').output(join(dir, 'y.mp4')),
      }),
    ).rejects.toThrow();
  });

  it('names FFMPEG_PATH when the binary cannot be started', async () => {
    await expect(
      runFfmpeg({
        binaries: { ffmpegPath: join(dir, 'no-such-ffmpeg'), ffprobePath: 'ffprobe' },
        build: (c) => c.input('x').output(join(dir, 'y.mp4')),
      }),
    ).rejects.toMatchObject({
      code: 'ffmpeg_not_found',
      message: expect.stringContaining('FFMPEG_PATH'),
    });
  });
});

describe('probe', () => {
  it('reports size, duration, codec, frame rate and audio', async () => {
    const silent = await makeTestClip(dir, 'silent.mp4', {
      width: 320,
      height: 180,
      fps: 24,
      durationSec: 1,
    });
    const loud = await makeTestClip(dir, 'loud.mp4', {
      width: 180,
      height: 320,
      fps: 30,
      durationSec: 1,
      withAudio: true,
    });
    expect(await probe(silent)).toMatchObject({
      width: 320,
      height: 180,
      fps: 24,
      videoCodec: 'h264',
      hasAudio: false,
    });
    expect(await probeVideo(loud, 'clip')).toMatchObject({
      width: 180,
      height: 320,
      fps: 30,
      hasAudio: true,
      audioCodec: 'aac',
    });
    expect((await probeVideo(silent, 'clip')).durationSec).toBeCloseTo(1, 1);
  });

  it('rejects a still image where a video is needed', async () => {
    const image = await makeTestImage(dir, 'still.png', 64, 64);
    await expect(probeVideo(image, 'clip 2')).rejects.toMatchObject({
      code: 'invalid_video',
      message: expect.stringMatching(/^clip 2 /),
    });
  });
});

describe('readImageInfo', () => {
  it('returns the size of a decodable image', async () => {
    const image = await makeTestImage(dir, 'ok.png', 96, 54, { alpha: true });
    expect(await readImageInfo(image, 'reference image')).toEqual({
      width: 96,
      height: 54,
      codec: 'png',
    });
  });

  it('rejects bytes that are not an image, readably and for good', async () => {
    const corrupt = await makeCorruptImage(dir, 'corrupt.png');
    await expect(readImageInfo(corrupt, 'reference image')).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'invalid_image',
      message: expect.stringMatching(
        /^reference image is not a readable image \((ffprobe|ffmpeg): .+\)$/,
      ),
    });
  });

  it('rejects a PNG whose pixel data is cut off', async () => {
    const whole = await readFile(await makeTestImage(dir, 'big.png', 320, 180));
    const cut = join(dir, 'cut.png');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(readImageInfo(cut, 'frame 1')).rejects.toMatchObject({ code: 'invalid_image' });
  });
});

describe('filterValue', () => {
  it('lets a path with quotes, colons, commas and brackets through a filtergraph', async () => {
    const odd = join(dir, "it's: a,[weird];dir");
    const { mkdir } = await import('node:fs/promises');
    await mkdir(odd);
    const srt = join(odd, 'subs.srt');
    await writeFile(srt, '1\n00:00:00,000 --> 00:00:01,000\nhello\n');
    const output = join(odd, 'out.png');
    await runFfmpeg({
      build: (command) =>
        command
          .complexFilter(`color=c=black:s=160x90:d=1,subtitles=filename=${filterValue(srt)}[v]`)
          .output(output)
          .outputOptions(['-map', '[v]', '-frames:v', '1', '-update', '1']),
    });
    expect(await readImageInfo(output)).toMatchObject({ width: 160, height: 90 });
  });
});

describe('probe errors', () => {
  it('name the file problem once, for good', async () => {
    const missing = join(dir, 'missing.mp4');
    await expect(probe(missing)).rejects.toMatchObject({
      code: 'unreadable_media',
      message: expect.stringMatching(
        /^media file is not readable \(ffprobe: .*No such file or directory\)$/,
      ),
    });
    await expect(probeVideo(missing, 'clip 1')).rejects.toMatchObject({
      code: 'invalid_video',
      message: expect.stringMatching(
        /^clip 1 is not a readable video \(ffprobe: .*No such file or directory\)$/,
      ),
    });
  });
});

describe('ffprobe on user files is pinned to the sniffed demuxer', () => {
  /** Files that start like an accepted type and go on as a playlist naming another file. */
  const playlists = (target: string): [string, Buffer][] => [
    [
      'ID3 + HLS',
      Buffer.from(`ID3\x04\x00\x00\x00\x00\x00\x00\n#EXTM3U\n#EXTINF:1,\n${target}\n`, 'latin1'),
    ],
    [
      'MPEG sync + HLS',
      Buffer.concat([
        Buffer.from([0xff, 0xfb, 0x90, 0x00]),
        Buffer.from(`\n#EXTM3U\n#EXTINF:1,\n${target}\n`),
      ]),
    ],
    [
      'ftyp + DASH',
      Buffer.from(
        `\x00\x00\x00\x18ftypisom<?xml version="1.0"?><MPD><Period><AdaptationSet><Representation><BaseURL>${target}</BaseURL></Representation></AdaptationSet></Period></MPD>`,
        'latin1',
      ),
    ],
    [
      'RIFF + ffconcat',
      Buffer.from(`RIFF\x24\x00\x00\x00WAVE\nffconcat version 1.0\nfile '${target}'\n`, 'latin1'),
    ],
    [
      'OggS + SDP',
      Buffer.from(
        `OggS\x00\x02\nv=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n`,
        'latin1',
      ),
    ],
  ];

  it.each([0, 1, 2, 3, 4])(
    'never reads a playlist (case %i) with its own demuxer',
    async (index) => {
      const target = join(dir, 'target.mp4');
      await makeTestClip(dir, 'target.mp4', { width: 64, height: 64, fps: 10, durationSec: 1 });
      const [, bytes] = playlists(target)[index];
      const file = join(dir, `playlist-${index}.bin`);
      await writeFile(file, bytes);
      const result = await probe(file).then(
        (info) => ({ info }),
        (error: unknown) => ({ error }),
      );
      if ('info' in result) {
        // Read as what it claims to be: no playlist demuxer, and no video from the file it names.
        expect(result.info.formatName).not.toMatch(/hls|dash|concat|sdp|applehttp/);
        expect(result.info.hasVideo).toBe(false);
      } else {
        expect((result.error as Error).message).not.toContain(dir);
      }
    },
  );

  it('shows no server path in a probe error', async () => {
    const file = join(dir, 'broken.mp4');
    await writeFile(
      file,
      Buffer.from('\x00\x00\x00\x18ftypisom garbage that is not a movie', 'latin1'),
    );
    const error = await probe(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(dir);
    expect((error as Error).message).not.toContain(tmpdir());
  });

  it('refuses to probe bytes that are none of the accepted types', async () => {
    const file = join(dir, 'list.m3u8');
    await writeFile(file, '#EXTM3U\n#EXTINF:1,\n/etc/hostname\n');
    await expect(probe(file)).rejects.toMatchObject({ code: 'unreadable_media' });
  });

  it('passes the demuxer and the file-only protocol list', async () => {
    const file = join(dir, 'id3.mp3');
    await writeFile(file, Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'));
    expect(await pinnedInputOptions(file)).toEqual(['-f', 'mp3', '-protocol_whitelist', 'file']);
  });
});
