import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
    fake = await FakeA1111.start({ png, loras: [{ name: 'mara_v2' }, { name: 'villain' }] });
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
    fake.setRenderMs(300);
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
      override_settings: { sd_model_checkpoint: 'sd_xl_base_1.0' },
      override_settings_restore_afterwards: true,
    });
    expect(fake.requestsTo('GET', '/sdapi/v1/loras')).toHaveLength(1);
    expect(fake.requestsTo('GET', '/sdapi/v1/progress').length).toBeGreaterThan(2);
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
