import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { everythingIn, leakedSecrets } from '../../../engine/testing/secret-leaks';
import { LabError } from '../../../engine/errors';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { FakeComfyUI } from '../testing/fake-comfyui';
import { makePng } from '../../../engine/testing/fakes/media';
import type { RenderFrameArgs } from './a1111';
import { renderFrameComfyUI, type ComfyGraph } from './comfyui';
import { sampleCharacter, sampleShot } from '../../../engine/testing/fakes/sample-shot';

const shot = sampleShot;
const character = sampleCharacter;

const params = {
  width: 320,
  height: 184,
  steps: 10,
  cfgScale: 6.5,
  sampler: 'DPM++ 2M',
  seed: 42,
  checkpoint: '',
};

describe('renderFrameComfyUI against a fake ComfyUI server', () => {
  let png: Buffer;
  let fake: FakeComfyUI;

  beforeAll(async () => {
    png = await makePng(320, 184);
    fake = await FakeComfyUI.start({
      png,
      checkpoints: ['sd_xl_base_1.0.safetensors', 'dreamshaper_8.safetensors'],
      loras: ['characters/mara_v2.safetensors', 'villain.safetensors'],
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.setRenderMs(0);
    fake.setWebsocket(true);
  });

  function args(overrides: Partial<RenderFrameArgs> = {}): RenderFrameArgs {
    return {
      shot,
      character,
      params,
      config: { url: fake.url, pollIntervalMs: 20 },
      signal: new AbortController().signal,
      onProgress: () => undefined,
      ...overrides,
    };
  }

  function submitted(): { prompt: ComfyGraph; client_id: string } {
    const [request] = fake.requestsTo('POST', '/prompt');
    return request.json as { prompt: ComfyGraph; client_id: string };
  }

  it('queues a LoRA graph, follows the WebSocket and fetches the PNG from /view', async () => {
    fake.setRenderMs(200);
    const progress: number[] = [];

    const frame = await renderFrameComfyUI(args({ onProgress: (f) => progress.push(f) }));

    expect(frame.equals(png)).toBe(true);
    const body = submitted();
    expect(fake.socketClientIds.at(-1)).toBe(body.client_id);
    const graph = body.prompt;
    expect(graph['4'].inputs.ckpt_name).toBe('sd_xl_base_1.0.safetensors');
    expect(graph['10']).toEqual({
      class_type: 'LoraLoader',
      inputs: {
        model: ['4', 0],
        clip: ['4', 1],
        lora_name: 'characters/mara_v2.safetensors',
        strength_model: 0.8,
        strength_clip: 0.8,
      },
    });
    expect(graph['6'].inputs).toEqual({ clip: ['10', 1], text: `mara_tok, ${shot.prompt}` });
    expect(graph['7'].inputs).toEqual({ clip: ['10', 1], text: 'blurry, watermark' });
    expect(graph['3'].inputs).toMatchObject({
      model: ['10', 0],
      seed: 44,
      steps: 10,
      cfg: 6.5,
      sampler_name: 'dpmpp_2m',
      scheduler: 'karras',
    });
    expect(graph['9'].inputs.filename_prefix).toBe('charlab_shot_002');
    expect(fake.requestsTo('GET', '/view')).toHaveLength(1);
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect(progress.at(-1)).toBe(1);
    expect(progress.slice(0, -1).every((f, i, all) => i === 0 || f >= all[i - 1])).toBe(true);
  });

  it('wires the checkpoint straight into the sampler without a character', async () => {
    await renderFrameComfyUI(
      args({
        character: undefined,
        params: { ...params, checkpoint: 'dreamshaper_8', sampler: 'Euler a' },
      }),
    );
    const graph = submitted().prompt;
    expect(graph['10']).toBeUndefined();
    expect(graph['4'].inputs.ckpt_name).toBe('dreamshaper_8.safetensors');
    expect(graph['3'].inputs).toMatchObject({
      model: ['4', 0],
      sampler_name: 'euler_ancestral',
      scheduler: 'normal',
    });
    expect(graph['6'].inputs).toEqual({ clip: ['4', 1], text: shot.prompt });
  });

  it('fails for good, before queueing, on an unknown LoRA, checkpoint or sampler', async () => {
    const cases: [Partial<RenderFrameArgs>, string][] = [
      [{ character: { ...character, lora: { name: 'nobody', weight: 1 } } }, 'sd_lora_not_found'],
      [{ params: { ...params, checkpoint: 'missing.safetensors' } }, 'sd_checkpoint_not_found'],
      [{ params: { ...params, sampler: 'Imaginary' } }, 'sd_sampler_not_found'],
    ];
    for (const [overrides, code] of cases) {
      const error = await renderFrameComfyUI(args(overrides)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonRetryableNodeError);
      expect(error).toMatchObject({ code });
    }
    expect(
      (await renderFrameComfyUI(args(cases[0][0])).catch((e: Error) => e.message)) as string,
    ).toContain('characters/mara_v2.safetensors');
    expect(fake.requestsTo('POST', '/prompt')).toHaveLength(0);
  });

  it('turns a 400 with node_errors into a readable, final error', async () => {
    const error = await renderFrameComfyUI(args({ params: { ...params, width: 333.3 } })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect((error as Error).message).toContain(
      'EmptyLatentImage 5: Failed to convert an input value to a INT value (width, 333.3)',
    );
  });

  it('falls back to polling /history when the WebSocket is unavailable', async () => {
    fake.setWebsocket(false);
    const before = fake.socketClientIds.length;
    const frame = await renderFrameComfyUI(args());
    expect(frame.equals(png)).toBe(true);
    expect(fake.socketClientIds.length).toBe(before);
    expect(fake.requestsTo('GET', /^\/history\//).length).toBeGreaterThan(0);
  });

  it('carries on by polling when the WebSocket drops mid-render', async () => {
    fake.setRenderMs(150);
    fake.dropSocketsOnNextRun();
    const frame = await renderFrameComfyUI(args());
    expect(frame.equals(png)).toBe(true);
    expect(fake.requestsTo('GET', /^\/history\//).length).toBeGreaterThan(1);
  });

  it('reports an execution error as retryable with the exception message', async () => {
    fake.failNextExecution('CUDA out of memory. Tried to allocate 2.00 GiB');
    const error = await renderFrameComfyUI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({ code: 'sd_execution_failed' });
    expect((error as Error).message).toContain('KSampler (node 3): CUDA out of memory');
  });

  it('interrupts its own prompt when the node is cancelled', async () => {
    fake.setRenderMs(10_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('node cancelled')), 150);

    await expect(renderFrameComfyUI(args({ signal: controller.signal }))).rejects.toThrow(
      'node cancelled',
    );

    const promptId = fake.promptIds.at(-1)!;
    const [interrupt] = fake.requestsTo('POST', '/interrupt');
    expect(interrupt.json).toEqual({ prompt_id: promptId });
    await vi.waitFor(() =>
      expect(fake.history.get(promptId)?.status.messages.map(([type]) => type)).toContain(
        'execution_interrupted',
      ),
    );
  });

  describe('with IP-Adapter reference conditioning', () => {
    let ip: FakeComfyUI;
    beforeAll(async () => {
      ip = await FakeComfyUI.start({
        png,
        ipAdapter: true,
        loras: ['characters/mara_v2.safetensors'],
      });
    });
    afterAll(async () => {
      await ip.close();
    });

    it('uploads the reference and patches the sampler model through IPAdapterAdvanced', async () => {
      const face = await makePng(64, 64);
      const frame = await renderFrameComfyUI(
        args({
          config: { url: ip.url, pollIntervalMs: 20 },
          reference: { mode: 'ip-adapter', weight: 0.75, images: [face] },
        }),
      );

      expect(frame.equals(png)).toBe(true);
      const { prompt } = ip.requestsTo('POST', '/prompt')[0].json as { prompt: ComfyGraph };
      const load = Object.entries(prompt).find(([, node]) => node.class_type === 'LoadImage')!;
      const loader = Object.entries(prompt).find(
        ([, node]) => node.class_type === 'IPAdapterUnifiedLoader',
      )!;
      const apply = Object.entries(prompt).find(
        ([, node]) => node.class_type === 'IPAdapterAdvanced',
      )!;
      const sampler = Object.values(prompt).find((node) => node.class_type === 'KSampler')!;
      expect(ip.inputFile(load[1].inputs.image as string)?.equals(face)).toBe(true);
      expect(loader[1].inputs).toMatchObject({ model: ['10', 0], preset: 'PLUS FACE (portraits)' });
      expect(apply[1].inputs).toMatchObject({
        model: [loader[0], 0],
        ipadapter: [loader[0], 1],
        image: [load[0], 0],
        weight: 0.75,
        weight_type: 'linear',
      });
      expect(sampler.inputs.model).toEqual([apply[0], 0]);
    });

    it('fails for good, naming the extension, when the server lacks the IP-Adapter nodes', async () => {
      const error = await renderFrameComfyUI(
        args({ reference: { mode: 'ip-adapter', weight: 0.7, images: [png] } }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonRetryableNodeError);
      expect(error).toMatchObject({ code: 'sd_ip_adapter_missing' });
      expect((error as Error).message).toContain('ComfyUI_IPAdapter_plus');
      expect(fake.requestsTo('POST', '/prompt')).toHaveLength(0);
    });
  });

  describe('on a ComfyUI build whose /interrupt ignores prompt_id', () => {
    let old: FakeComfyUI;
    beforeAll(async () => {
      old = await FakeComfyUI.start({ png, targetedInterrupt: false });
    });
    afterAll(async () => {
      await old.close();
    });

    it('dequeues its waiting prompt and leaves the running one (someone else’s) alone', async () => {
      old.setRenderMs(600);
      const theirs = old.otherUsersPrompt();
      const controller = new AbortController();
      const render = renderFrameComfyUI(
        args({
          character: undefined,
          signal: controller.signal,
          config: { url: old.url, pollIntervalMs: 20 },
        }),
      );
      await vi.waitFor(() => expect(old.promptIds).toHaveLength(1));
      controller.abort(new Error('node cancelled'));
      await expect(render).rejects.toThrow('node cancelled');

      const ours = old.promptIds[0];
      expect(old.requestsTo('POST', '/interrupt')).toHaveLength(0);
      expect(old.requestsTo('POST', '/queue')[0].json).toEqual({ delete: [ours] });
      await vi.waitFor(() => expect(old.history.get(theirs)?.status.status_str).toBe('success'), {
        timeout: 3_000,
      });
      expect(old.history.has(ours)).toBe(false);
    });

    it('interrupts when its own prompt is the one running', async () => {
      old.setRenderMs(10_000);
      const controller = new AbortController();
      const render = renderFrameComfyUI(
        args({
          character: undefined,
          signal: controller.signal,
          config: { url: old.url, pollIntervalMs: 20 },
        }),
      );
      await vi.waitFor(() => expect(old.runningId).toBeDefined());
      const ours = old.runningId!;
      controller.abort(new Error('node cancelled'));
      await expect(render).rejects.toThrow('node cancelled');

      await vi.waitFor(() =>
        expect(old.history.get(ours)?.status.messages.map(([type]) => type)).toContain(
          'execution_interrupted',
        ),
      );
    });
  });
  it('scrubs credentials and the server URL the server echoes in its errors', async () => {
    const echo = (await FakeComfyUI.start({ png })).echoCredentialsInErrors();
    const password = 'echo-s3cret-password';
    const url = echo.url.replace('http://', `http://lab:${password}@`);
    try {
      const error = await renderFrameComfyUI(args({ config: { url, pollIntervalMs: 20 } })).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NonRetryableNodeError);
      const text = everythingIn(error);
      expect(text).toContain('SD_API_URL');
      const basic = Buffer.from(`lab:${password}`).toString('base64');
      expect(leakedSecrets(text, [password, basic, echo.url, new URL(echo.url).host])).toEqual([]);
    } finally {
      await echo.close();
    }
  });
});
