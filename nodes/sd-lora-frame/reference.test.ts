/**
 * The `reference` param (issue 8 item 5, SD side): the character's reference images reach the
 * Stable Diffusion server as IP-Adapter conditioning, in the servers' real wire formats, while
 * the local animatic keeps compositing the reference image.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactRef, Character, Storyboard } from '../../engine/graph/values';
import { providerConfigFromEnv } from '../../engine/config';
import { chooseProvider } from '../../engine/providers/choice';
import { makePng } from '../../engine/testing/fakes/media';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { FakeA1111 } from './testing/fake-a1111';
import { FakeComfyUI } from './testing/fake-comfyui';
import { sdLoraFrame } from './definition';
import { activity } from './activity';

let t: TestNodeContext | undefined;
let server: FakeA1111 | FakeComfyUI | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
  await server?.close();
  server = undefined;
});

const storyboard: Storyboard = {
  title: 'Ridge',
  shots: [
    {
      index: 0,
      description: 'Mara reaches the top of the ridge.',
      prompt: 'Mara on a ridge at sunset, wide shot',
      negativePrompt: 'blurry',
      camera: 'static',
      durationSec: 1,
    },
  ],
};

// The gate is off: these tests are about what reaches the server, not about face scores.
const params = sdLoraFrame.params.parse({
  width: 320,
  height: 176,
  reference: 'ip-adapter',
  referenceWeight: 0.8,
  gate: false,
});

function mara(referenceImages: ArtifactRef[]): Character {
  return { id: 'c1', name: 'Mara', description: 'an explorer', referenceImages };
}

async function contextOn(kind: 'a1111' | 'comfyui', url: string): Promise<TestNodeContext> {
  return createTestNodeContext({
    index: 0,
    provider: chooseProvider(
      sdLoraFrame,
      'auto',
      providerConfigFromEnv({ SD_API_URL: url, SD_API_KIND: kind }).services,
    ),
  });
}

describe('sd-lora-frame reference conditioning', () => {
  it('keeps old graphs unconditioned: the param defaults to none', () => {
    expect(sdLoraFrame.params.parse({})).toMatchObject({ reference: 'none' });
  });

  it("sends the character's reference images to A1111 as a ControlNet IP-Adapter unit", async () => {
    const png = await makePng(320, 176);
    const a1111 = await FakeA1111.start({
      png,
      controlnet: {
        models: ['ip-adapter-plus-face_sdxl_vit-h [50e650ac]'],
        modules: ['ip-adapter_clip_sdxl_plus_vith', 'ip-adapter_clip_sd15'],
      },
    });
    server = a1111;
    t = await contextOn('a1111', a1111.url);
    const face = await makePng(64, 64);
    const reference = await t.artifacts.putBytes(face, 'image/png', { width: 64, height: 64 });

    await activity({ params, inputs: { storyboard, character: mara([reference]) }, ctx: t.ctx });

    const unit = (a1111.jobs[0].alwaysOn as { controlnet: { args: Record<string, unknown>[] } })
      .controlnet.args[0];
    expect(unit).toMatchObject({
      enabled: true,
      module: 'ip-adapter_clip_sdxl_plus_vith',
      model: 'ip-adapter-plus-face_sdxl_vit-h [50e650ac]',
      weight: 0.8,
      image: face.toString('base64'),
    });
  });

  it('uploads the reference to ComfyUI and wires it through the IP-Adapter nodes', async () => {
    const png = await makePng(320, 176);
    const comfy = await FakeComfyUI.start({ png, ipAdapter: true });
    server = comfy;
    t = await contextOn('comfyui', comfy.url);
    const face = await makePng(64, 64);
    const reference = await t.artifacts.putBytes(face, 'image/png', { width: 64, height: 64 });

    await activity({ params, inputs: { storyboard, character: mara([reference]) }, ctx: t.ctx });

    const { prompt } = comfy.requestsTo('POST', '/prompt')[0].json as {
      prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
    };
    const load = Object.values(prompt).find((node) => node.class_type === 'LoadImage')!;
    expect(comfy.inputFile(load.inputs.image as string)?.equals(face)).toBe(true);
    expect(Object.values(prompt).map((node) => node.class_type)).toContain('IPAdapterAdvanced');
  });

  it('fails for good when the character has no reference image to condition on', async () => {
    const a1111 = await FakeA1111.start({ png: await makePng(32, 32) });
    server = a1111;
    t = await contextOn('a1111', a1111.url);

    await expect(
      activity({ params, inputs: { storyboard, character: mara([]) }, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'sd_reference_missing' });
    expect(a1111.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(0);
  });

  it('leaves the local animatic as it was: it composites the reference image itself', async () => {
    t = await createTestNodeContext({ index: 0 });
    const face = await makePng(64, 64);
    const reference = await t.artifacts.putBytes(face, 'image/png', { width: 64, height: 64 });
    const inputs = { storyboard, character: mara([reference]) };

    const conditioned = (await activity({ params, inputs, ctx: t.ctx })).frames as ArtifactRef;
    const plain = (
      await activity({
        params: { ...params, reference: 'none' },
        inputs,
        ctx: await t.child({ index: 0 }),
      })
    ).frames as ArtifactRef;

    expect(conditioned.sha256).toBe(plain.sha256);
  });
});
