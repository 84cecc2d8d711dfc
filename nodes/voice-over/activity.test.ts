import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { providerConfigFromEnv } from '../../engine/config';
import type { ArtifactRef, Storyboard } from '../../engine/graph/values';
import { probe } from '../../engine/media/ffmpeg';
import { chooseProvider } from '../../engine/providers/choice';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { activity as voiceOverActivity } from './activity';
import { voiceOver } from './definition';
import { FakeOpenAISpeech } from './testing/fake-openai-speech';

let t: TestNodeContext | undefined;
let openai: FakeOpenAISpeech | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  await openai?.close();
  openai = undefined;
});

const storyboard: Storyboard = {
  title: 'The Ridge',
  shots: [
    {
      index: 0,
      description: 'Mira reaches the ridge.',
      prompt: 'a woman on a ridge at dawn',
      negativePrompt: '',
      camera: 'push-in',
      durationSec: 1.5,
    },
    {
      index: 1,
      description: 'She looks out over the valley.',
      prompt: 'a glowing valley',
      negativePrompt: '',
      camera: 'pan-left',
      durationSec: 2,
      dialogue: 'We made it.',
    },
    {
      index: 2,
      description: 'The wind pulls at her scarf.',
      prompt: 'a red scarf in the wind',
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    },
  ],
};
const TOTAL = 4.5;

/** The loudest sample between `from` and `from + length` seconds, in dB (-91: silence). */
async function loudness(file: string, from: number, length: number): Promise<number> {
  const { stderr } = await promisify(execFile)(process.env.FFMPEG_PATH || 'ffmpeg', [
    '-hide_banner',
    '-ss',
    String(from),
    '-t',
    String(length),
    '-i',
    file,
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const match = /max_volume:\s*(-?[\d.]+) dB/.exec(stderr);
  return match ? Number(match[1]) : -Infinity;
}

async function narration(ref: ArtifactRef) {
  const file = await t!.artifacts.toLocalFile(ref);
  return { file, info: await probe(file) };
}

async function withFakeOpenAI(): Promise<TestNodeContext> {
  openai = await FakeOpenAISpeech.start();
  return createTestNodeContext({
    // The shell resolves `auto` this way before the activity runs.
    provider: chooseProvider(
      voiceOver,
      'auto',
      providerConfigFromEnv({ OPENAI_API_KEY: openai.apiKey, OPENAI_BASE_URL: openai.baseURL })
        .services,
    ),
  });
}

describe('voice-over activity', () => {
  it('speaks a 3-shot storyboard with espeak-ng into one track as long as the shots', async () => {
    t = await createTestNodeContext();
    const { audio } = await voiceOverActivity({
      params: voiceOver.params.parse({}),
      inputs: { storyboard },
      ctx: t.ctx,
    });

    const ref = audio as ArtifactRef;
    expect(ref.mime).toBe('audio/mp4');
    const { info } = await narration(ref);
    expect(info).toMatchObject({ hasAudio: true, hasVideo: false, audioCodec: 'aac' });
    expect(Math.abs(info.durationSec! - TOTAL)).toBeLessThanOrEqual(0.15);
    expect(Math.abs(ref.durationSec! - TOTAL)).toBeLessThanOrEqual(0.15);
    const stages = t.progress.map((p) => p.stage ?? '');
    expect(stages[0]).toBe('speaking 3 shots with espeak-ng');
    for (const n of [1, 2, 3]) expect(stages.some((s) => s.startsWith(`shot ${n}/3`))).toBe(true);
    expect(t.progress.at(-1)).toEqual({ fraction: 1, stage: '3 of 3 shots spoken' });
    const fractions = t.progress.map((p) => p.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  });

  it('starts each line with its shot and keeps silent shots silent', async () => {
    t = await createTestNodeContext();
    // Only shot 2 has dialogue: the track is silent for shot 1's 1.5 s, then speaks.
    const { audio } = await voiceOverActivity({
      params: voiceOver.params.parse({ text: 'dialogue', provider: 'local' }),
      inputs: { storyboard },
      ctx: t.ctx,
    });
    const { file, info } = await narration(audio as ArtifactRef);
    expect(Math.abs(info.durationSec! - TOTAL)).toBeLessThanOrEqual(0.15);
    expect(await loudness(file, 0, 1.4)).toBeLessThan(-60);
    expect(await loudness(file, 1.5, 1)).toBeGreaterThan(-30);
    expect(await loudness(file, 3.6, 0.8)).toBeLessThan(-60);
    expect(t.progress.some((p) => p.stage === 'shot 1/3: silent')).toBe(true);
  });

  it('speeds up and cuts a line longer than its shot, keeping the timing', async () => {
    t = await createTestNodeContext();
    const long: Storyboard = {
      title: 'Long',
      shots: [
        {
          ...storyboard.shots[0],
          durationSec: 1,
          dialogue:
            'The wind pulls at her red scarf as she walks toward the light, and the valley below glows gold.',
        },
        { ...storyboard.shots[2], index: 1, durationSec: 1 },
      ],
    };
    const { audio } = await voiceOverActivity({
      params: voiceOver.params.parse({}),
      inputs: { storyboard: long },
      ctx: t.ctx,
    });
    const { file, info } = await narration(audio as ArtifactRef);
    expect(Math.abs(info.durationSec! - 2)).toBeLessThanOrEqual(0.15);
    expect(
      t.progress.some((p) => /^shot 1\/2: sped up 2\.00x and cut to 1 s$/.test(p.stage!)),
    ).toBe(true);
    // Speech runs to the cut, right up to where shot 2 starts.
    expect(await loudness(file, 0.7, 0.25)).toBeGreaterThan(-30);
  });

  it('asks the OpenAI server when auto resolves to openai, with the same timing', async () => {
    t = await withFakeOpenAI();
    const { audio } = await voiceOverActivity({
      params: voiceOver.params.parse({ voice: 'nova', speed: 1.5, language: 'de' }),
      inputs: { storyboard },
      ctx: t.ctx,
    });

    expect(openai!.speeches.map((r) => (r.json as { input: string }).input)).toEqual([
      'Mira reaches the ridge.',
      'We made it.',
      'The wind pulls at her scarf.',
    ]);
    expect(openai!.speeches[0].json).toMatchObject({
      model: 'gpt-4o-mini-tts',
      voice: 'nova',
      speed: 1.5,
      response_format: 'wav',
      instructions: 'Speak in German.',
    });
    const { file, info } = await narration(audio as ArtifactRef);
    expect(info).toMatchObject({ hasAudio: true, audioCodec: 'aac' });
    expect(Math.abs(info.durationSec! - TOTAL)).toBeLessThanOrEqual(0.15);
    // Each shot's tone starts with its shot (the fake's tone fades in over 20 ms).
    expect(await loudness(file, 1.55, 0.2)).toBeGreaterThan(-20);
    expect(t.progress[0].stage).toBe('speaking 3 shots with OpenAI gpt-4o-mini-tts');
  });

  it('does not pay again on a retry for lines an earlier attempt bought', async () => {
    t = await withFakeOpenAI();
    const fake = openai!;
    // Two lines are spoken, then the third fails with a 500 the SDK may not retry.
    fake.reply(
      { kind: 'audio' },
      { kind: 'audio' },
      { kind: 'error', status: 500, message: 'boom', headers: { 'x-should-retry': 'false' } },
    );
    const params = voiceOver.params.parse({});
    await expect(
      voiceOverActivity({ params, inputs: { storyboard }, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'openai_unavailable' });
    expect(fake.speeches).toHaveLength(3);
    expect(t.checkpoints).toHaveLength(2);

    const retry = await t.child({ attempt: 2, checkpoint: t.checkpoints.at(-1) });
    const { audio } = await voiceOverActivity({ params, inputs: { storyboard }, ctx: retry });
    expect(fake.speeches).toHaveLength(4); // only the third line again
    expect((fake.speeches[3].json as { input: string }).input).toBe('The wind pulls at her scarf.');
    const { info } = await narration(audio as ArtifactRef);
    expect(Math.abs(info.durationSec! - TOTAL)).toBeLessThanOrEqual(0.15);

    // Changed settings are not served from the checkpoint.
    const louder = await t.child({ attempt: 3, checkpoint: t.checkpoints.at(-1) });
    await voiceOverActivity({
      params: voiceOver.params.parse({ voice: 'echo' }),
      inputs: { storyboard },
      ctx: louder,
    });
    expect(fake.speeches).toHaveLength(7);
  });

  it('fails for good when openai is asked for but not configured', () => {
    expect(() => chooseProvider(voiceOver, 'openai', providerConfigFromEnv({}).services)).toThrow(
      expect.objectContaining({ code: 'provider_not_configured' }),
    );
  });

  it('fails for good without a storyboard', async () => {
    t = await createTestNodeContext();
    await expect(
      voiceOverActivity({ params: voiceOver.params.parse({}), inputs: {}, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('stops when the run is cancelled', async () => {
    t = await createTestNodeContext();
    t.abort(new Error('run cancelled'));
    await expect(
      voiceOverActivity({ params: voiceOver.params.parse({}), inputs: { storyboard }, ctx: t.ctx }),
    ).rejects.toThrow('run cancelled');
  });
});
