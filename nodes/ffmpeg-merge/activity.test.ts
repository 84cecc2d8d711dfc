import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef, Storyboard } from '../../engine/graph/values';
import { KEPT_PROBE_VERSION } from '../../engine/artifacts/artifact-service';
import { probe, probeVideo } from '../../engine/media/ffmpeg';
import { makeTestClip, makeTestImage, makeTestTone } from '../../engine/testing/media-clips';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { ffmpegMerge } from './definition';
import { activity as ffmpegMergeActivity } from './activity';

let media: string;
let files: { wide: string; tall: string; square: string; tone: string; still: string };
let t: TestNodeContext | undefined;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'charlab-merge-media-'));
  files = {
    wide: await makeTestClip(media, 'wide.mp4', {
      width: 320,
      height: 180,
      fps: 24,
      durationSec: 1,
    }),
    tall: await makeTestClip(media, 'tall.mp4', {
      width: 180,
      height: 320,
      fps: 30,
      durationSec: 1.5,
      withAudio: true,
    }),
    square: await makeTestClip(media, 'square.mp4', {
      width: 240,
      height: 240,
      fps: 25,
      durationSec: 1,
    }),
    tone: await makeTestTone(media, 'music.m4a', 10),
    still: await makeTestImage(media, 'still.png', 64, 64),
  };
});

afterAll(async () => {
  await rm(media, { recursive: true, force: true });
});

afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

async function store(file: string, mime: string): Promise<ArtifactRef> {
  return t!.artifacts.putBytes(await readFile(file), mime);
}

async function threeClips(): Promise<ArtifactRef[]> {
  return [
    await store(files.wide, 'video/mp4'),
    await store(files.tall, 'video/mp4'),
    await store(files.square, 'video/mp4'),
  ];
}

const storyboard: Storyboard = {
  title: 'Test',
  shots: [
    {
      index: 0,
      description: 'She reaches the ridge.',
      prompt: 'p',
      negativePrompt: '',
      camera: 'push-in',
      durationSec: 1,
    },
    {
      index: 1,
      description: 'She whispers.',
      prompt: 'p',
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
      dialogue: 'We made it: 100%, [really]!',
    },
  ],
};

describe('ffmpeg-merge activity', () => {
  it('merges clips of different sizes into one H.264 video of the requested size, as long as their sum', async () => {
    t = await createTestNodeContext();
    const params = ffmpegMerge.params.parse({
      width: 320,
      height: 180,
      fps: 24,
      subtitles: false,
      crf: 30,
    });

    const { video } = await ffmpegMergeActivity({
      params,
      inputs: { clips: await threeClips() },
      ctx: t.ctx,
    });

    const ref = video as ArtifactRef;
    const info = await probeVideo(await t.artifacts.toLocalFile(ref), 'merged');
    expect(info).toMatchObject({
      width: 320,
      height: 180,
      fps: 24,
      videoCodec: 'h264',
      pixelFormat: 'yuv420p',
      hasAudio: true,
    });
    expect(info.durationSec).toBeCloseTo(3.5, 1);
    expect(ref).toMatchObject({ mime: 'video/mp4', width: 320, height: 180 });
    expect(ref.durationSec).toBeCloseTo(3.5, 1);
    // +faststart: the index (moov) comes before the media data (mdat).
    const bytes = (await t.artifacts.read(ref)).toString('latin1');
    expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'));
    expect(t.progress.at(-1)).toEqual({ fraction: 1, stage: 'done' });
  });

  it('crossfades: the video is shorter by (n-1)·T', async () => {
    t = await createTestNodeContext();
    const params = ffmpegMerge.params.parse({
      width: 320,
      height: 180,
      fps: 24,
      crossfadeSec: 0.25,
      subtitles: false,
      crf: 30,
    });

    const { video } = await ffmpegMergeActivity({
      params,
      inputs: { clips: await threeClips() },
      ctx: t.ctx,
    });

    const info = await probeVideo(await t.artifacts.toLocalFile(video as ArtifactRef), 'merged');
    expect(info.durationSec).toBeGreaterThan(3.5 - 2 * 0.25 - 0.1);
    expect(info.durationSec).toBeLessThan(3.5 - 2 * 0.25 + 0.1);
  });

  it('burns subtitles timed by the clips and mixes music trimmed to the video', async () => {
    t = await createTestNodeContext();
    const inputs = {
      clips: await threeClips(),
      storyboard,
      audio: await store(files.tone, 'audio/mp4'),
    };
    const base = { width: 320, height: 180, fps: 24, crf: 30 };
    const plain = (
      await ffmpegMergeActivity({
        params: ffmpegMerge.params.parse({ ...base, subtitles: false }),
        inputs,
        ctx: await t.child({}),
      })
    ).video as ArtifactRef;

    const { video } = await ffmpegMergeActivity({
      params: ffmpegMerge.params.parse({ ...base, subtitles: true }),
      inputs,
      ctx: t.ctx,
    });

    // Only dialogue is subtitled: shot 1 has none, the third clip has no shot.
    expect(await readFile(join(t.ctx.workDir, 'subtitles.srt'), 'utf8')).toBe(
      '1\n00:00:01,000 --> 00:00:02,500\nWe made it: 100%, [really]!\n',
    );
    const ref = video as ArtifactRef;
    expect(ref.sha256).not.toBe(plain.sha256);
    const info = await probeVideo(await t.artifacts.toLocalFile(ref), 'merged');
    expect(info).toMatchObject({ hasAudio: true, audioCodec: 'aac', width: 320, height: 180 });
    // The 10 s tone is cut to the picture.
    expect(info.durationSec).toBeCloseTo(3.5, 1);
  });

  it('fails for good when a clip is not a video', async () => {
    t = await createTestNodeContext();
    const params = ffmpegMerge.params.parse({});
    const clips = [await store(files.wide, 'video/mp4'), await store(files.still, 'image/png')];
    await expect(
      ffmpegMergeActivity({ params, inputs: { clips }, ctx: t.ctx }),
    ).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'invalid_video',
      message: expect.stringMatching(/^clip 2 /),
    });
    await expect(
      ffmpegMergeActivity({ params, inputs: { clips: [] }, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('reads the probes kept with the clips and runs no ffprobe: clips, music and output', async () => {
    t = await createTestNodeContext();
    // Stored as a clip node or the upload route stores them: probed once, probe kept.
    const clips = await Promise.all(
      [files.wide, files.square].map(async (file) =>
        t!.artifacts.putFile(file, 'video/mp4', { probe: await probeVideo(file, 'clip') }),
      ),
    );
    const music = await t.artifacts.putFile(files.tone, 'audio/mp4', {
      probe: await probe(files.tone),
    });
    const noFfprobe = { ...t.ctx.media, ffprobePath: join(media, 'no-such-ffprobe') };
    const params = ffmpegMerge.params.parse({ width: 320, height: 180, fps: 24, crf: 30 });

    const { video } = await ffmpegMergeActivity({
      params,
      inputs: { clips, audio: music },
      ctx: { ...t.ctx, media: noFfprobe },
    });

    const ref = video as ArtifactRef;
    expect(ref).toMatchObject({ width: 320, height: 180, durationSec: 2 });
    const info = await probeVideo(await t.artifacts.toLocalFile(ref), 'merged');
    expect(info.durationSec).toBeCloseTo(2, 1);
    expect(info.hasAudio).toBe(true);
    // With ffprobe missing, a clip without a kept probe fails: the test above is not vacuous.
    const unprobed = await store(files.tall, 'video/mp4');
    await expect(
      ffmpegMergeActivity({
        params,
        inputs: { clips: [...clips, unprobed] },
        ctx: { ...t.ctx, media: noFfprobe },
      }),
    ).rejects.toThrow(/ffprobe/);
  });

  it('probes a clip stored without a probe once, and keeps the probe for the next merge', async () => {
    t = await createTestNodeContext();
    const clips = await threeClips();
    expect(await t.artifacts.knownProbe(clips[1])).toBeUndefined();
    const params = ffmpegMerge.params.parse({ width: 320, height: 180, fps: 24, crf: 30 });

    await ffmpegMergeActivity({ params, inputs: { clips }, ctx: t.ctx });

    const kept = await t.artifacts.knownProbe(clips[1]);
    expect(kept).toMatchObject({ width: 180, height: 320, hasAudio: true, videoCodec: 'h264' });
    expect(kept).toEqual(await probeVideo(files.tall, 'clip 2'));
    // A probe kept in an older shape is read as missing and replaced by a fresh one.
    const record = (await t.stores.documents.artifacts.get(clips[1].id))!;
    await t.stores.documents.artifacts.put({
      ...record,
      mediaProbe: { version: KEPT_PROBE_VERSION - 1, probe: { ...kept!, width: 1 } },
    });
    expect(await t.artifacts.knownProbe(clips[1])).toBeUndefined();
    await ffmpegMergeActivity({ params, inputs: { clips }, ctx: t.ctx });
    expect(await t.artifacts.knownProbe(clips[1])).toEqual(kept);
  });

  it('kills ffmpeg within a second when the node is cancelled', async () => {
    t = await createTestNodeContext();
    const long = await makeTestClip(media, 'long.mp4', {
      width: 320,
      height: 180,
      fps: 24,
      durationSec: 20,
    });
    const clips = [
      await store(long, 'video/mp4'),
      await store(long, 'video/mp4'),
      await store(long, 'video/mp4'),
    ];
    const params = ffmpegMerge.params.parse({
      width: 1920,
      height: 1080,
      fps: 60,
      crf: 10,
      subtitles: false,
    });
    const run = ffmpegMergeActivity({ params, inputs: { clips }, ctx: t.ctx }).then(
      () => 'finished',
      (e: unknown) => e,
    );
    const deadline = Date.now() + 20_000;
    while (
      !t.progress.some((p) => p.stage === 'encoding' && p.fraction > 0.02) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await ffmpegWritingInto(t.ctx.workDir)).toBe(true);

    const abortedAt = Date.now();
    t.abort(new Error('run cancelled'));
    expect(((await run) as Error).message).toBe('run cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(await ffmpegWritingInto(t.ctx.workDir)).toBe(false);
  });
});

/** Whether any live ffmpeg has an argument inside `dir` (the activity's scratch dir). */
async function ffmpegWritingInto(dir: string): Promise<boolean> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('ffmpeg') && cmdline.includes(dir)) return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}
