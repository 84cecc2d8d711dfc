import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactRef, Storyboard } from '../../engine/graph/values';
import { probeVideo } from '../../engine/media/ffmpeg';
import { makeTestImage } from '../../engine/testing/media-clips';
import { providerConfigFromEnv } from '../../engine/config';
import { chooseProvider } from '../../engine/providers/choice';
import { makeMp4 } from '../../engine/testing/fakes/media';
import { FakeRunway } from './testing/fake-runway';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { runwayClip } from './definition';
import { activity as runwayClipActivity } from './activity';

let t: TestNodeContext | undefined;
let runway: FakeRunway | undefined;
let media: string;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'charlab-clip-media-'));
});

afterAll(async () => {
  await rm(media, { recursive: true, force: true });
});

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  await runway?.close();
  runway = undefined;
});

function storyboard(durations: number[]): Storyboard {
  return {
    title: 'Test',
    shots: durations.map((durationSec, index) => ({
      index,
      description: `shot ${index + 1}`,
      prompt: `prompt ${index + 1}`,
      negativePrompt: '',
      camera: (['push-in', 'pan-left', 'tilt-up'] as const)[index % 3],
      durationSec,
    })),
  };
}

async function storedFrame(
  ctx: TestNodeContext,
  name: string,
  width: number,
  height: number,
): Promise<ArtifactRef> {
  const file = await makeTestImage(media, name, width, height);
  return ctx.artifacts.putBytes(await readFile(file), 'image/png', { width, height });
}

describe('runway-clip activity, local provider', () => {
  it('animates the frame into an H.264 clip of the shot length (±1 frame) at the frame size', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const frame = await storedFrame(t, 'f0.png', 320, 180);
    const params = runwayClip.params.parse({ fps: 24 });

    const clip = (
      await runwayClipActivity({
        params,
        inputs: { frames: [frame], storyboard: storyboard([1.5]) },
        ctx: t.ctx,
      })
    ).clips as ArtifactRef;

    expect(clip).toMatchObject({ mime: 'video/mp4', width: 320, height: 180, durationSec: 1.5 });
    const info = await probeVideo(await t.artifacts.toLocalFile(clip), 'clip');
    expect(info).toMatchObject({
      videoCodec: 'h264',
      pixelFormat: 'yuv420p',
      width: 320,
      height: 180,
      fps: 24,
    });
    expect(Math.abs(info.durationSec - 1.5)).toBeLessThanOrEqual(1 / 24 + 1e-6);
    // The probe is kept with the clip, so the merge never runs ffprobe on it.
    expect(await t.artifacts.knownProbe(clip)).toEqual(info);
    expect(t.progress.at(-1)).toEqual({ fraction: 1, stage: 'clip 1: done' });
  });

  it('uses the last shot for extra frames, and rounds odd frame sizes down to even', async () => {
    t = await createTestNodeContext({ index: 2, total: 3 });
    const frames = [
      await storedFrame(t, 'a.png', 64, 36),
      await storedFrame(t, 'b.png', 64, 36),
      await storedFrame(t, 'odd.png', 161, 91),
    ];
    const params = runwayClip.params.parse({ fps: 12 });

    const clip = (
      await runwayClipActivity({
        params,
        inputs: { frames, storyboard: storyboard([1, 0.5]) },
        ctx: t.ctx,
      })
    ).clips as ArtifactRef;

    const info = await probeVideo(await t.artifacts.toLocalFile(clip), 'clip');
    expect(info).toMatchObject({ width: 160, height: 90, fps: 12 });
    expect(Math.abs(info.durationSec - 0.5)).toBeLessThanOrEqual(1 / 12 + 1e-6);
    expect(t.progress.some((p) => p.stage === 'clip 3: animating pan-left')).toBe(true);
  });

  it('kills ffmpeg within a second when the node is cancelled', async () => {
    t = await createTestNodeContext({ index: 0 });
    const frame = await storedFrame(t, 'big.png', 1280, 720);
    const params = runwayClip.params.parse({ fps: 60 });
    const run = runwayClipActivity({
      params,
      inputs: { frames: [frame], storyboard: storyboard([60]) },
      ctx: t.ctx,
    }).then(
      () => 'finished',
      (e: unknown) => e,
    );
    const deadline = Date.now() + 20_000;
    while (
      !t.progress.some((p) => p.fraction > 0 && p.stage?.includes('animating')) &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await ffmpegWritingInto(t.ctx.workDir)).toBe(true);

    const abortedAt = Date.now();
    t.abort(new Error('node cancelled'));
    const outcome = await run;
    expect((outcome as Error).message).toBe('node cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(await ffmpegWritingInto(t.ctx.workDir)).toBe(false);
  });
});

describe('runway-clip activity, Runway provider', () => {
  it('stores the MP4 of the Runway task and resumes that task on a retry instead of paying again', async () => {
    const mp4 = await makeMp4(1, 256, 144);
    runway = await FakeRunway.start({ mp4 });
    t = await createTestNodeContext({
      index: 0,
      // The shell resolves `auto` this way before the activity runs.
      provider: chooseProvider(
        runwayClip,
        'auto',
        providerConfigFromEnv({
          RUNWAY_API_KEY: runway.apiKey,
          RUNWAY_BASE_URL: runway.url,
          RUNWAY_POLL_MS: '5',
        }).services,
      ),
    });
    const frame = await storedFrame(t, 'rw.png', 128, 72);
    const params = runwayClip.params.parse({});
    const inputs = { frames: [frame], storyboard: storyboard([2]) };

    const clip = (await runwayClipActivity({ params, inputs, ctx: t.ctx })).clips as ArtifactRef;

    expect(clip).toMatchObject({ mime: 'video/mp4', width: 256, height: 144 });
    expect(clip.durationSec).toBeCloseTo(1, 1);
    expect((await t.artifacts.read(clip)).equals(mp4)).toBe(true);
    expect(await t.artifacts.knownProbe(clip)).toMatchObject({ width: 256, height: 144 });
    const [created] = runway.requestsTo('POST', '/v1/image_to_video');
    expect(created.json).toMatchObject({
      model: 'gen4_turbo',
      ratio: '1280:720',
      duration: 2,
      seed: 7,
    });
    expect(
      t.progress.some((p) => p.stage === 'clip 1: generating' && p.fraction > 0 && p.fraction < 1),
    ).toBe(true);

    // A retry of the same item (same run, node and index) follows the task already paid for.
    const retry = await t.child({ index: 0, attempt: 2, checkpoint: t.checkpoints.at(-1) });
    const again = (await runwayClipActivity({ params, inputs, ctx: retry })).clips as ArtifactRef;
    expect(again.sha256).toBe(clip.sha256);
    expect(runway.requestsTo('POST', '/v1/image_to_video')).toHaveLength(1);
  });
});

/** Whether any live process has an argument inside `dir` (the activity's scratch dir). */
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
