import { readFile } from 'node:fs/promises';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactRef, Character, Storyboard } from '../../engine/graph/values';
import { probe } from '../../engine/media/ffmpeg';
import { makeCorruptImage, makeTestImage } from '../../engine/testing/media-clips';
import { providerConfigFromEnv } from '../../engine/config';
import { chooseProvider } from '../../engine/providers/choice';
import { FakeA1111 } from './testing/fake-a1111';
import { FakeComfyUI } from './testing/fake-comfyui';
import { makePng } from '../../engine/testing/fakes/media';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { sdLoraFrame } from './definition';
import { activity as sdLoraFrameActivity } from './activity';

let t: TestNodeContext | undefined;
let sd: FakeA1111 | FakeComfyUI | undefined;
let media: string;

beforeAll(async () => {
  media = await mkdtemp(join(tmpdir(), 'charlab-frame-media-'));
});

afterAll(async () => {
  await rm(media, { recursive: true, force: true });
});

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  await sd?.close();
  sd = undefined;
});

const storyboard: Storyboard = {
  title: 'Ridge',
  shots: [
    {
      index: 0,
      description: 'Mara reaches the top of the ridge at sunset.',
      prompt: 'mara_v1, Mara on a ridge at sunset, wide shot',
      negativePrompt: 'blurry',
      camera: 'pan-right',
      durationSec: 1,
    },
    {
      index: 1,
      description: '"We made it," she whispers: 100% sure, [finally]; no \\ doubt.',
      prompt: 'mara_v1, Mara close-up, night',
      negativePrompt: 'blurry',
      camera: 'push-in',
      durationSec: 1,
      dialogue: 'We made it.',
    },
  ],
};

const params = sdLoraFrame.params.parse({ width: 320, height: 176 });

function character(referenceImages: ArtifactRef[]): Character {
  return {
    id: 'c1',
    name: 'Mara',
    description: 'an explorer',
    triggerWord: 'mara_v1',
    referenceImages,
  };
}

async function bytesOf(ref: ArtifactRef): Promise<Buffer> {
  return t!.artifacts.read(ref);
}

describe('sd-lora-frame activity, local provider', () => {
  it('renders a PNG at the requested size, the same bytes every time', async () => {
    t = await createTestNodeContext({ index: 0, total: 2 });
    const first = (await sdLoraFrameActivity({ params, inputs: { storyboard }, ctx: t.ctx }))
      .frames as ArtifactRef;
    expect(first).toMatchObject({ mime: 'image/png', width: 320, height: 176 });
    const file = await t.artifacts.toLocalFile(first);
    expect(await probe(file)).toMatchObject({ width: 320, height: 176, videoCodec: 'png' });

    const again = (
      await sdLoraFrameActivity({
        params,
        inputs: { storyboard },
        ctx: await t.child({ index: 0 }),
      })
    ).frames as ArtifactRef;
    expect(again.sha256).toBe(first.sha256);
    expect(t.progress.at(-1)).toEqual({ fraction: 1, stage: 'shot 1: done' });
  });

  it('renders the shot of its fan-out index, escaping caption text safely', async () => {
    t = await createTestNodeContext({ index: 1, total: 2 });
    const second = (await sdLoraFrameActivity({ params, inputs: { storyboard }, ctx: t.ctx }))
      .frames as ArtifactRef;
    const first = (
      await sdLoraFrameActivity({
        params,
        inputs: { storyboard },
        ctx: await t.child({ index: 0 }),
      })
    ).frames as ArtifactRef;
    expect(second.sha256).not.toBe(first.sha256);
    expect(t.progress.some((p) => p.stage?.startsWith('shot 2'))).toBe(true);
  });

  it("composites the character's first reference image", async () => {
    t = await createTestNodeContext({ index: 0 });
    const image = await makeTestImage(media, 'reference.png', 120, 160, { alpha: true });
    const reference = await t.artifacts.putBytes(await readFile(image), 'image/png', {
      width: 120,
      height: 160,
    });

    const withRef = (
      await sdLoraFrameActivity({
        params,
        inputs: { storyboard, character: character([reference]) },
        ctx: t.ctx,
      })
    ).frames as ArtifactRef;
    const without = (
      await sdLoraFrameActivity({
        params,
        inputs: { storyboard, character: character([]) },
        ctx: await t.child({ index: 0 }),
      })
    ).frames as ArtifactRef;

    expect(withRef).toMatchObject({ width: 320, height: 176 });
    expect(withRef.sha256).not.toBe(without.sha256);
    const again = (
      await sdLoraFrameActivity({
        params,
        inputs: { storyboard, character: character([reference]) },
        ctx: await t.child({ index: 0 }),
      })
    ).frames as ArtifactRef;
    expect(again.sha256).toBe(withRef.sha256);
    expect((await bytesOf(withRef)).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('fails for good, readably, on a corrupt reference image', async () => {
    t = await createTestNodeContext({ index: 0 });
    const corrupt = await t.artifacts.putBytes(
      await readFile(await makeCorruptImage(media, 'bad.png')),
      'image/png',
    );
    await expect(
      sdLoraFrameActivity({
        params,
        inputs: { storyboard, character: character([corrupt]) },
        ctx: t.ctx,
      }),
    ).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'invalid_image',
      message: expect.stringMatching(
        /^the character's reference image is not a readable image \(.+\)$/,
      ),
    });
  });

  it('fails for good when the storyboard input is missing', async () => {
    t = await createTestNodeContext({ index: 0 });
    await expect(sdLoraFrameActivity({ params, inputs: {}, ctx: t.ctx })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });
});

describe('sd-lora-frame activity, A1111 provider', () => {
  it('stores the PNG the server returns, measured, when auto resolves to a1111', async () => {
    const png = await makePng(64, 48);
    sd = await FakeA1111.start({ png });
    t = await createTestNodeContext({
      index: 1,
      // The shell resolves `auto` this way before the activity runs.
      provider: chooseProvider(
        sdLoraFrame,
        'auto',
        providerConfigFromEnv({ SD_API_URL: sd.url, SD_API_KIND: 'a1111' }).services,
      ),
    });

    const frame = (await sdLoraFrameActivity({ params, inputs: { storyboard }, ctx: t.ctx }))
      .frames as ArtifactRef;

    const [request] = sd.requestsTo('POST', '/sdapi/v1/txt2img');
    expect(request.json).toMatchObject({
      prompt: 'mara_v1, Mara close-up, night',
      width: 320,
      height: 176,
      seed: 43,
    });
    expect(frame).toMatchObject({ mime: 'image/png', width: 64, height: 48 });
    expect((await bytesOf(frame)).equals(png)).toBe(true);
  });
});

describe('sd-lora-frame activity, ComfyUI provider', () => {
  it('renders on ComfyUI when SD_API_KIND=comfyui', async () => {
    const png = await makePng(48, 32);
    const comfy = await FakeComfyUI.start({ png, checkpoints: ['dreamshaper_8.safetensors'] });
    sd = comfy;
    t = await createTestNodeContext({
      index: 0,
      // The shell resolves `auto` this way before the activity runs.
      provider: chooseProvider(
        sdLoraFrame,
        'auto',
        providerConfigFromEnv({ SD_API_URL: comfy.url, SD_API_KIND: 'comfyui' }).services,
      ),
    });

    const frame = (await sdLoraFrameActivity({ params, inputs: { storyboard }, ctx: t.ctx }))
      .frames as ArtifactRef;

    expect(comfy.requestsTo('POST', '/prompt')).toHaveLength(1);
    expect(frame).toMatchObject({ mime: 'image/png', width: 48, height: 32 });
    expect((await bytesOf(frame)).equals(png)).toBe(true);
  });
});
