import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { everythingIn, leakedSecrets } from '../../../engine/testing/secret-leaks';
import { LabError } from '../../../engine/errors';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { FakeA1111 } from '../testing/fake-a1111';
import { FakeHttpServer } from '../../../engine/testing/fakes/http-fake';
import { makePng } from '../../../engine/testing/fakes/media';
import { buildPrompt, renderFrameA1111, txt2imgA1111, type RenderFrameArgs } from './a1111';
import { sampleCharacter, sampleShot } from '../../../engine/testing/fakes/sample-shot';

const shot = sampleShot;
const character = sampleCharacter;

const params = {
  width: 320,
  height: 184,
  steps: 20,
  cfgScale: 6.5,
  sampler: 'DPM++ 2M',
  seed: 42,
  checkpoint: 'sd_xl_base_1.0',
};

describe('renderFrameA1111 against a fake A1111 server', () => {
  let png: Buffer;
  let fake: FakeA1111;

  beforeAll(async () => {
    png = await makePng(320, 184);
    fake = await FakeA1111.start({
      png,
      loras: [{ name: 'mara_v2' }, { name: 'villain' }],
      checkpoints: ['sd_xl_base_1.0', 'dreamshaper_8'],
    });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.setRenderMs(0);
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

  it('puts the LoRA and trigger word in the prompt, offsets the seed and reports progress', async () => {
    fake.setRenderMs(600);
    const progress: number[] = [];

    const result = await txt2imgA1111(args({ onProgress: (f) => progress.push(f) }));

    expect(result.png.equals(png)).toBe(true);
    expect(result.seed).toBe(44);
    expect(result.info.sampler_name).toBe('DPM++ 2M');
    const [request] = fake.requestsTo('POST', '/sdapi/v1/txt2img');
    expect(request.json).toMatchObject({
      prompt: 'mara_tok, a young woman in a red coat on a cliff at dawn <lora:mara_v2:0.8>',
      negative_prompt: 'blurry, watermark',
      seed: 44,
      sampler_name: 'DPM++ 2M',
      steps: 20,
      cfg_scale: 6.5,
      width: 320,
      height: 184,
      override_settings: {
        sd_model_checkpoint: expect.stringMatching(/^sd_xl_base_1\.0\.safetensors \[/),
      },
      force_task_id: expect.stringMatching(/^task\(.+\)$/),
      override_settings_restore_afterwards: true,
    });
    expect(fake.requestsTo('GET', '/sdapi/v1/loras')).toHaveLength(1);
    expect(fake.requestsTo('POST', '/internal/progress').length).toBeGreaterThan(2);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(1);
    expect(
      progress.slice(0, -1).every((f, i, all) => f > 0 && f < 1 && (i === 0 || f > all[i - 1])),
    ).toBe(true);
  });

  it('sends no LoRA, trigger word or checkpoint override when there is none', async () => {
    const frame = await renderFrameA1111(
      args({ character: undefined, params: { ...params, checkpoint: '' } }),
    );

    expect(frame.equals(png)).toBe(true);
    const body = fake.requestsTo('POST', '/sdapi/v1/txt2img')[0].json as Record<string, unknown>;
    expect(body.prompt).toBe(shot.prompt);
    expect(body).not.toHaveProperty('override_settings');
    expect(fake.requestsTo('GET', '/sdapi/v1/loras')).toHaveLength(0);
  });

  it('fails for good, before rendering, when the LoRA is not installed', async () => {
    const missing = { ...character, lora: { name: 'nobody', weight: 1 } };
    const error = await renderFrameA1111(args({ character: missing })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'sd_lora_not_found' });
    expect((error as Error).message).toContain('installed: mara_v2, villain');
    expect(fake.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(0);
  });

  it('checks the checkpoint against /sdapi/v1/sd-models instead of letting A1111 drop it', async () => {
    const error = await renderFrameA1111(
      args({ params: { ...params, checkpoint: 'sd_xl_bsae_1.0' } }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'sd_checkpoint_not_found' });
    expect((error as Error).message).toContain('available: sd_xl_base_1.0, dreamshaper_8');
    expect(fake.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(0);
  });

  it('renders with the named checkpoint, sent by its exact title, and caches the list', async () => {
    fake.requests.length = 0;
    const first = await txt2imgA1111(args({ params: { ...params, checkpoint: 'dreamshaper_8' } }));
    const listed = fake.requestsTo('GET', '/sdapi/v1/sd-models').length;
    await txt2imgA1111(args({ params: { ...params, checkpoint: 'dreamshaper_8' } }));

    expect(first.info.sd_model_name).toBe('dreamshaper_8');
    const body = fake.requestsTo('POST', '/sdapi/v1/txt2img')[0].json as {
      override_settings: { sd_model_checkpoint: string };
    };
    expect(body.override_settings.sd_model_checkpoint).toMatch(/^dreamshaper_8\.safetensors \[/);
    expect(fake.requestsTo('GET', '/sdapi/v1/sd-models')).toHaveLength(listed);
    // override_settings_restore_afterwards: the server's own model is back.
    expect(fake.model).toBe('sd_xl_base_1.0');
  });

  it('keeps the cause A1111 puts only in `errors` of a 500 body', async () => {
    fake.failNext({
      status: 500,
      body: {
        error: 'OutOfMemoryError',
        detail: '',
        body: '',
        errors: 'CUDA out of memory. Tried to allocate 2.00 GiB',
      },
    });
    const error = await renderFrameA1111(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect((error as Error).message).toContain(
      'OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB',
    );
  });

  it('does not accept the half-finished image of a job someone else interrupted', async () => {
    fake.setRenderMs(2_000);
    const render = renderFrameA1111(args()).catch((e: unknown) => e);
    await fake.whenRunning(() => true);
    // Another user presses Interrupt in the web UI: A1111 answers our request with 200.
    await fetch(`${fake.url}/sdapi/v1/interrupt`, { method: 'POST' });

    const error = await render;
    expect(error).toBeInstanceOf(LabError);
    expect(error).not.toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'sd_interrupted' });
  });

  it('spots an interrupt that lands after its last progress poll', async () => {
    fake.setRenderMs(300);
    const render = renderFrameA1111(
      args({ config: { url: fake.url, pollIntervalMs: 60_000 } }),
    ).catch((e: unknown) => e);
    await fake.whenRunning(() => true);
    await fetch(`${fake.url}/sdapi/v1/interrupt`, { method: 'POST' });

    await expect(render).resolves.toMatchObject({ code: 'sd_interrupted' });
  });

  it('cancelling while another user renders leaves their job alone and stops ours when it starts', async () => {
    const before = fake.jobs.length;
    const theirs = fake.otherUsersJob(400);
    await fake.whenRunning(() => true);
    fake.setRenderMs(5_000);
    const controller = new AbortController();
    const render = renderFrameA1111(args({ signal: controller.signal }));
    await vi.waitFor(() => expect(fake.jobs).toHaveLength(before + 2));
    controller.abort(new Error('node cancelled'));
    await expect(render).rejects.toThrow('node cancelled');

    const other = await theirs;
    expect(other.interrupted).toBe(false);
    // A1111 still runs our queued job (the aborted request did not dequeue it); it is
    // interrupted as soon as it starts instead of rendering for nobody.
    const ours = fake.jobs[before + 1];
    await vi.waitFor(() => expect(ours.finished).toBe(true), { timeout: 3_000 });
    expect(ours.interrupted).toBe(true);
  });

  it('does not interrupt when the server cannot say whose job is running', async () => {
    const blind = await FakeA1111.start({ png, internalProgress: false });
    try {
      blind.setRenderMs(5_000);
      const controller = new AbortController();
      const render = renderFrameA1111(
        args({
          character: undefined,
          signal: controller.signal,
          config: { url: blind.url, pollIntervalMs: 20 },
        }),
      );
      await blind.whenRunning(() => true);
      controller.abort(new Error('node cancelled'));
      await expect(render).rejects.toThrow('node cancelled');
      expect(blind.requestsTo('POST', '/sdapi/v1/interrupt')).toHaveLength(0);
    } finally {
      await blind.close();
    }
  });

  it('says the Lora extension is disabled when /sdapi/v1/loras is a 404 but the API is up', async () => {
    const noLora = await FakeA1111.start({ png, loraExtension: false });
    try {
      const error = await renderFrameA1111(
        args({ config: { url: noLora.url, pollIntervalMs: 20 } }),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonRetryableNodeError);
      expect(error).toMatchObject({ code: 'sd_lora_extension_disabled' });
      expect((error as Error).message).not.toContain('--api');
    } finally {
      await noLora.close();
    }
  });

  describe('IP-Adapter references through the ControlNet extension', () => {
    const controlnet = {
      models: ['control_v11p_sd15_openpose [cab727d4]', 'ip-adapter-plus-face_sd15 [7f7a633a]'],
      modules: ['none', 'openpose', 'ip-adapter_clip_sd15', 'ip-adapter_face_id_plus'],
    };

    it('adds one enabled IP-Adapter unit with the references to alwayson_scripts', async () => {
      const cn = await FakeA1111.start({ png, loras: [{ name: 'mara_v2' }], controlnet });
      try {
        const faces = [await makePng(64, 64), await makePng(48, 64)];
        await renderFrameA1111(
          args({
            config: { url: cn.url, pollIntervalMs: 20 },
            reference: { mode: 'ip-adapter', weight: 0.8, images: faces },
          }),
        );
        const [job] = cn.jobs;
        expect(job.alwaysOn).toEqual({
          controlnet: {
            args: [
              {
                enabled: true,
                module: 'ip-adapter_clip_sd15',
                model: 'ip-adapter-plus-face_sd15 [7f7a633a]',
                weight: 0.8,
                image: faces.map((face) => ({ image: face.toString('base64') })),
                resize_mode: 'Crop and Resize',
                control_mode: 'Balanced',
                pixel_perfect: false,
                guidance_start: 0,
                guidance_end: 1,
              },
            ],
          },
        });
      } finally {
        await cn.close();
      }
    });

    it('names the missing extension, or the missing IP-Adapter model, before rendering', async () => {
      const reference = { mode: 'ip-adapter' as const, weight: 0.7, images: [png] };
      const missing = await renderFrameA1111(args({ reference })).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(NonRetryableNodeError);
      expect(missing).toMatchObject({ code: 'sd_controlnet_missing' });
      expect((missing as Error).message).toContain('sd-webui-controlnet');

      const noModel = await FakeA1111.start({
        png,
        loras: [{ name: 'mara_v2' }],
        controlnet: { models: ['control_v11p_sd15_openpose [cab727d4]'], modules: ['openpose'] },
      });
      try {
        const error = await renderFrameA1111(
          args({ reference, config: { url: noModel.url, pollIntervalMs: 20 } }),
        ).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'sd_ip_adapter_missing' });
        expect((error as Error).message).toContain('control_v11p_sd15_openpose');
        expect(noModel.requestsTo('POST', '/sdapi/v1/txt2img')).toHaveLength(0);
      } finally {
        await noModel.close();
      }
    });
  });

  it('retries server errors and fails for good on rejected values', async () => {
    fake.failNext({
      status: 500,
      body: { error: 'OutOfMemoryError', detail: 'CUDA out of memory', body: '', errors: '' },
    });
    const oom = await renderFrameA1111(args()).catch((e: unknown) => e);
    expect(oom).toBeInstanceOf(LabError);
    expect(oom).toMatchObject({
      code: 'sd_server_error',
      message: expect.stringContaining('CUDA out of memory'),
    });

    const badSampler = await renderFrameA1111(
      args({ params: { ...params, sampler: 'Nope' } }),
    ).catch((e: unknown) => e);
    expect(badSampler).toBeInstanceOf(NonRetryableNodeError);
    expect((badSampler as Error).message).toContain('Sampler not found');
    expect((badSampler as Error).message).toContain('check the node params');

    fake.failNext({
      status: 422,
      body: {
        detail: [
          {
            loc: ['body', 'steps'],
            msg: 'value is not a valid integer',
            type: 'type_error.integer',
          },
        ],
      },
    });
    await expect(renderFrameA1111(args())).rejects.toMatchObject({
      code: 'sd_request_rejected',
      message: expect.stringContaining('body.steps: value is not a valid integer'),
    });
  });

  it('says to start the server with --api when /sdapi is missing', async () => {
    const error = await renderFrameA1111(
      args({ character: undefined, config: { url: `${fake.url}/not-a1111` } }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect((error as Error).message).toContain('--api');
  });

  it('waits its turn when the server is busy with another frame', async () => {
    fake.setRenderMs(100);
    const started = Date.now();
    const frames = await Promise.all([
      renderFrameA1111(args()),
      renderFrameA1111(args({ shot: { ...shot, index: 3 } })),
    ]);
    expect(frames.every((frame) => frame.equals(png))).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('interrupts the server when the node is cancelled', async () => {
    fake.setRenderMs(10_000);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('node cancelled')), 150);

    await expect(renderFrameA1111(args({ signal: controller.signal }))).rejects.toThrow(
      'node cancelled',
    );

    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake.requestsTo('POST', '/sdapi/v1/interrupt')).toHaveLength(1);
  });

  it('sends credentials from the URL as Basic auth and keeps them out of messages', async () => {
    const withAuth = fake.url.replace('http://', 'http://lab:s3cret@');
    fake.failNext({
      status: 500,
      body: { error: 'RuntimeError', detail: 'boom', body: '', errors: '' },
    });
    const error = await renderFrameA1111(
      args({ character: undefined, config: { url: withAuth } }),
    ).catch((e: unknown) => e);

    expect((error as Error).message).not.toContain('s3cret');
    const [request] = fake.requestsTo('POST', '/sdapi/v1/txt2img');
    expect(request.headers.authorization).toBe(
      `Basic ${Buffer.from('lab:s3cret').toString('base64')}`,
    );
  });

  it('reports an unreachable server as retryable', async () => {
    const gone = await FakeHttpServer.start(() => undefined);
    const url = gone.url;
    await gone.close();
    const error = await renderFrameA1111(args({ config: { url } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({
      code: 'sd_unreachable',
      message: expect.stringContaining('SD_API_URL'),
    });
  });
  it('scrubs credentials and the server URL the server echoes in its errors', async () => {
    const echo = (await FakeA1111.start({ png })).echoCredentialsInErrors();
    const password = 'echo-s3cret-password';
    const url = echo.url.replace('http://', `http://lab:${password}@`);
    try {
      const error = await renderFrameA1111(args({ config: { url, pollIntervalMs: 20 } })).catch(
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

describe('buildPrompt', () => {
  it('does not repeat a trigger word the prompt already has', () => {
    expect(buildPrompt({ ...shot, prompt: 'mara_tok walking' }, character)).toBe(
      'mara_tok walking <lora:mara_v2:0.8>',
    );
    expect(
      buildPrompt(shot, { ...character, lora: { name: 'loras/mara_v2.safetensors', weight: 1 } }),
    ).toContain('<lora:mara_v2:1>');
  });
});
