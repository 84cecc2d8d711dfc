import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../../engine/media/ffmpeg';
import { providerConfigFromEnv } from '../../../engine/config';
import type { ArtifactRef, Character, Shot } from '../../../engine/graph/values';
import { chooseProvider } from '../../../engine/providers/choice';
import type { ExternalTaskRecord } from '../../../engine/stores/ports';
import { makeMp4, makePng } from '../../../engine/testing/fakes/media';
import { MemoryCollection } from '../../../engine/testing/fakes/memory-collection';
import { createTestNodeContext, type TestNodeContext } from '../../../engine/testing/node-context';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { FakeRunway } from '../../runway-clip/testing/fake-runway';
import { activity } from '../activity';
import { sdLoraFrame } from '../definition';
import {
  buildImageRequest,
  closestRatio,
  referenceTags,
  renderFrameRunway,
  type RunwayFrameArgs,
} from './runway-image';

const shot: Shot = {
  index: 0,
  description: 'Mara at the lighthouse',
  prompt: 'a young woman in a red coat at the lighthouse door, dusk',
  negativePrompt: 'blurry',
  camera: 'static',
  durationSec: 3,
};

let fake: FakeRunway;
let png: Buffer;
let refPng: Buffer;

beforeAll(async () => {
  [png, refPng] = await Promise.all([makePng(256, 144), makePng(64, 64)]);
  fake = await FakeRunway.start({ mp4: await makeMp4(1), png });
});
afterAll(async () => {
  await fake.close();
});

describe('renderFrameRunway against the fake Runway API (text_to_image)', () => {
  let tasks: MemoryCollection<ExternalTaskRecord>;
  beforeEach(() => {
    fake.requests.length = 0;
    tasks = new MemoryCollection<ExternalTaskRecord>();
  });

  function args(overrides: Partial<RunwayFrameArgs> = {}): RunwayFrameArgs {
    return {
      shot,
      character: { name: 'Mara' },
      references: [{ bytes: refPng, mime: 'image/png' }],
      params: { width: 768, height: 432, seed: 11 },
      config: { apiKey: fake.apiKey, baseURL: fake.url, pollIntervalMs: 5 },
      signal: new AbortController().signal,
      onProgress: () => undefined,
      checkpoint: undefined,
      saveCheckpoint: () => undefined,
      externalTasks: tasks,
      taskKey: 'run_1:frames:0:frame-1-11',
      ...overrides,
    };
  }

  it('sends gen4_image with the tagged references named in the prompt, and returns the image', async () => {
    const frame = await renderFrameRunway(
      args({
        references: [0, 1, 2, 3].map(() => ({ bytes: refPng, mime: 'image/png' })),
      }),
    );

    expect(frame).toEqual({ bytes: png, mime: 'image/png' });
    const [create] = fake.requestsTo('POST', '/v1/text_to_image');
    expect(create.headers['x-runway-version']).toBe('2024-11-06');
    const uri = `data:image/png;base64,${refPng.toString('base64')}`;
    // The fake validated this body against the SDK's Gen4Image schema (it answers 400 otherwise).
    expect(create.json).toEqual({
      model: 'gen4_image',
      promptText: `@Mara (also @Mara_2, @Mara_3): ${shot.prompt}`,
      ratio: '1280:720',
      referenceImages: [
        { uri, tag: 'Mara' },
        { uri, tag: 'Mara_2' },
        { uri, tag: 'Mara_3' },
      ],
      seed: 11,
    });
    expect(tasks.records.get('run_1:frames:0:frame-1-11')?.status).toBe('SUCCEEDED');
  });

  it('resumes the task of an earlier attempt instead of paying again', async () => {
    await renderFrameRunway(args());
    await renderFrameRunway(args());
    expect(fake.requestsTo('POST', '/v1/text_to_image')).toHaveLength(1);
  });

  it('refuses a reference image over Runway’s 5 MB data-URI limit before any call', async () => {
    const huge = { bytes: Buffer.alloc(4 * 1024 * 1024), mime: 'image/png' };
    const error = await renderFrameRunway(args({ references: [huge] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({
      code: 'runway_image_too_large',
      message: expect.stringContaining('reference image 1 of Mara'),
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('fails for good on a moderation failure of the image task', async () => {
    fake.scriptNextTask({ status: 'FAILED', failureCode: 'SAFETY.INPUT.IMAGE' });
    await expect(renderFrameRunway(args())).rejects.toMatchObject({
      code: 'runway_content_rejected',
    });
  });
});

describe('the text_to_image request', () => {
  it('picks the gen4_image ratio closest in shape, the cheaper size on ties', () => {
    expect(closestRatio(768, 432)).toBe('1280:720');
    expect(closestRatio(432, 768)).toBe('720:1280');
    expect(closestRatio(512, 512)).toBe('720:720');
    expect(closestRatio(1920, 1080)).toBe('1920:1080');
    expect(closestRatio(1024, 768)).toBe('960:720');
  });

  it('makes tags Runway accepts from any character name', () => {
    for (const name of ['Mara', 'Zoë O’Neil', '42', 'Li', 'A very long character name indeed']) {
      for (const tag of referenceTags(name, 3)) expect(tag).toMatch(/^[A-Za-z][A-Za-z0-9_]{2,15}$/);
    }
    expect(referenceTags('Zoë O’Neil', 2)).toEqual(['ZoeONeil', 'ZoeONeil_2']);
  });

  it('sends no references (and names none) for a shot without a character', () => {
    const body = buildImageRequest({
      shot,
      references: [],
      params: { width: 64, height: 64, seed: 1 },
    });
    expect(body).toEqual({
      model: 'gen4_image',
      promptText: shot.prompt,
      ratio: '720:720',
      seed: 1,
    });
  });
});

describe('sd-lora-frame with provider runway', () => {
  let t: TestNodeContext | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('renders the frame on Runway from the character’s reference images', async () => {
    fake.requests.length = 0;
    const services = providerConfigFromEnv({
      RUNWAY_API_KEY: fake.apiKey,
      RUNWAY_BASE_URL: fake.url,
      RUNWAY_POLL_MS: '5',
    }).services;
    // Runway bills every image: auto keeps the local animatic even with a Runway key.
    expect(chooseProvider(sdLoraFrame, 'auto', services)).toEqual({ name: 'local' });
    t = await createTestNodeContext({
      index: 0,
      provider: chooseProvider(sdLoraFrame, 'runway', services),
    });
    const reference = await t.artifacts.putBytes(refPng, 'image/png', { width: 64, height: 64 });
    const character: Character = {
      id: 'char_mara',
      name: 'Mara',
      description: '',
      referenceImages: [reference],
    };
    const params = sdLoraFrame.params.parse({ provider: 'runway', gate: false, seed: 5 });

    const out = await activity({
      params,
      inputs: { storyboard: { title: 'T', shots: [shot] }, character },
      ctx: t.ctx,
    });

    const frame = out.frames as ArtifactRef;
    expect(frame).toMatchObject({ mime: 'image/png', width: 256, height: 144 });
    expect((await t.artifacts.read(frame)).equals(png)).toBe(true);
    const [create] = fake.requestsTo('POST', '/v1/text_to_image');
    expect(create.json).toMatchObject({
      model: 'gen4_image',
      referenceImages: [{ uri: `data:image/png;base64,${refPng.toString('base64')}`, tag: 'Mara' }],
      seed: 5,
    });
  });

  it('re-encodes a reference too large for a data URI instead of failing the frame', async () => {
    fake.requests.length = 0;
    const services = providerConfigFromEnv({
      RUNWAY_API_KEY: fake.apiKey,
      RUNWAY_BASE_URL: fake.url,
      RUNWAY_POLL_MS: '5',
    }).services;
    t = await createTestNodeContext({
      index: 0,
      provider: chooseProvider(sdLoraFrame, 'runway', services),
    });
    // Random colour noise does not compress: a PNG over Runway's 5 MB data-URI limit.
    const noisy = join(t.ctx.workDir, 'noise.png');
    await runFfmpeg({
      build: (command) =>
        command
          .input("nullsrc=s=2000x2000,geq=r='random(1)*255':g='random(2)*255':b='random(3)*255'")
          .inputOptions(['-f', 'lavfi'])
          .output(noisy)
          .outputOptions(['-frames:v', '1', '-pix_fmt', 'rgb24', '-y']),
    });
    const big = await readFile(noisy);
    expect((big.length * 4) / 3).toBeGreaterThan(5 * 1024 * 1024);
    const reference = await t.artifacts.putBytes(big, 'image/png', { width: 2000, height: 2000 });
    const character: Character = {
      id: 'c',
      name: 'Mara',
      description: '',
      referenceImages: [reference],
    };

    await activity({
      params: sdLoraFrame.params.parse({ provider: 'runway', gate: false }),
      inputs: { storyboard: { title: 'T', shots: [shot] }, character },
      ctx: t.ctx,
    });

    const [create] = fake.requestsTo('POST', '/v1/text_to_image');
    const [sent] = (create.json as { referenceImages: { uri: string }[] }).referenceImages;
    expect(sent.uri.startsWith('data:image/jpeg;base64,')).toBe(true);
    expect(sent.uri.length).toBeLessThan(5 * 1024 * 1024);
  });
});
