/**
 * The stream-copy path of mergeClips, with real ffmpeg: clips that already share the output's
 * format are joined packet for packet (nothing decoded or re-encoded), and anything that needs
 * a filter still goes through the encoder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo } from './ffmpeg';
import type { VideoProbe } from './media-probe';
import { canStreamCopy, concatList, mergeClips, type MergeClip } from './merge';
import { makeTestClip } from '../testing/media-clips';

const run = promisify(execFile);
let dir: string;
let clips: MergeClip[];

const binaries = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };
const size = { width: 320, height: 180, fps: 24 };

/**
 * MD5s of a file's decoded frames (ffmpeg's framemd5 muxer). A copy decodes to the very same
 * frames; any lossy re-encode would not. (Packets are not compared: the muxer may put the
 * parameter sets into key frames, which changes their bytes but not the picture.)
 */
async function frameHashes(file: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', [
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0:v',
    '-f',
    'framemd5',
    '-',
  ]);
  return stdout
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlab-merge-copy-'));
  clips = [];
  for (const [i, durationSec] of [1, 0.5, 1].entries()) {
    const file = await makeTestClip(dir, `clip${i}.mp4`, { ...size, durationSec });
    clips.push({ file, probe: await probeVideo(file, `clip ${i}`) });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mergeClips stream copy', () => {
  it('joins clips of the output format frame for frame, without re-encoding', async () => {
    const output = join(dir, 'copied.mp4');
    const plan = await mergeClips({
      ...size,
      clips,
      crossfadeSec: 0,
      crf: 30,
      output,
      workDir: dir,
      binaries,
    });
    expect(plan.streamCopy).toBe(true);
    const expected = (await Promise.all(clips.map((c) => frameHashes(c.file)))).flat();
    expect(await frameHashes(output)).toEqual(expected);
    const merged = await probeVideo(output, 'merged');
    expect(merged).toMatchObject({ videoCodec: 'h264', width: 320, height: 180 });
    expect(merged.durationSec).toBeCloseTo(2.5, 1);
  });

  it('re-encodes when the size differs from the requested one', async () => {
    const output = join(dir, 'encoded.mp4');
    const plan = await mergeClips({
      ...size,
      width: 160,
      height: 90,
      clips,
      crossfadeSec: 0,
      crf: 30,
      output,
      workDir: dir,
      binaries,
    });
    expect(plan.streamCopy).toBeUndefined();
    expect(await probeVideo(output, 'merged')).toMatchObject({ width: 160, height: 90 });
  });
});

describe('canStreamCopy', () => {
  const probe: VideoProbe = {
    formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
    durationSec: 1,
    hasVideo: true,
    hasAudio: false,
    width: 320,
    height: 180,
    fps: 24,
    videoCodec: 'h264',
    pixelFormat: 'yuv420p',
    videoProfile: 'High',
    videoLevel: 13,
    timeBase: '1/12288',
    sampleAspectRatio: '1:1',
  };
  const clip = (changes: Partial<VideoProbe> = {}): MergeClip => ({
    file: '/c.mp4',
    probe: { ...probe, ...changes },
  });
  const base = { ...size, crossfadeSec: 0 };

  it('copies only when every clip matches the output and the others, with nothing to add', () => {
    expect(canStreamCopy({ ...base, clips: [clip(), clip()] })).toBe(true);
    expect(canStreamCopy({ ...base, clips: [clip(), clip({ width: 640 })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip(), clip({ fps: 25 })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip(), clip({ timeBase: '1/90000' })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip(), clip({ videoProfile: 'Main' })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip({ videoCodec: 'hevc' })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip({ pixelFormat: 'yuv444p' })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip({ sampleAspectRatio: '4:3' })] })).toBe(false);
    expect(canStreamCopy({ ...base, clips: [clip(), clip({ hasAudio: true })] })).toBe(false);
    expect(canStreamCopy({ ...base, crossfadeSec: 0.5, clips: [clip(), clip()] })).toBe(false);
    const music = { file: '/m.mp3', probe: { formatName: 'mp3', hasVideo: false, hasAudio: true } };
    expect(canStreamCopy({ ...base, clips: [clip()], audio: music })).toBe(false);
  });

  it('writes a concat list that survives quotes in paths', () => {
    expect(concatList(['/a/b.mp4', "/it's/c.mp4"])).toBe(
      "file '/a/b.mp4'\nfile '/it'\\''s/c.mp4'\n",
    );
  });
});
