/**
 * The fake A1111 behaves like AUTOMATIC1111 v1.10 where that differs from what a client would
 * assume (see the fake's header): these tests pin those behaviours, so a client can only pass
 * against the fake by handling them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makePng } from '../../../engine/testing/fakes/media';
import { FakeA1111 } from './fake-a1111';

let fake: FakeA1111 | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const request = { prompt: 'a lighthouse', steps: 10, width: 64, height: 64, seed: 1 };

async function post(path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${fake!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: await response.json() };
}

describe('FakeA1111', () => {
  it('rejects what the API models reject: FastAPI 422 for a type, 500 {errors} for a ControlNet unit', async () => {
    fake = await FakeA1111.start({
      png: await makePng(8, 8),
      controlnet: { models: ['ip-adapter_sd15 [6a3f6166]'], modules: ['ip-adapter_clip_sd15'] },
    });
    const typed = await post('/sdapi/v1/txt2img', { ...request, steps: 'many' });
    expect(typed.status).toBe(422);
    expect(typed.json).toEqual({
      detail: [
        { loc: ['body', 'steps'], msg: 'value is not a valid integer', type: 'type_error.integer' },
      ],
    });

    const unit = await post('/sdapi/v1/txt2img', {
      ...request,
      alwayson_scripts: {
        controlnet: {
          args: [{ enabled: true, module: 'canny', model: 'ip-adapter_sd15 [6a3f6166]' }],
        },
      },
    });
    expect(unit.status).toBe(500);
    expect(unit.json).toMatchObject({
      error: 'ValidationError',
      detail: '',
      errors: 'module(canny) not found in supported modules.',
    });
  });

  it('drops an unknown checkpoint override without a word and renders with the loaded model', async () => {
    fake = await FakeA1111.start({ png: await makePng(8, 8), checkpoints: ['base', 'other'] });
    const unknown = await post('/sdapi/v1/txt2img', {
      ...request,
      override_settings: { sd_model_checkpoint: 'nope' },
    });
    expect(unknown.status).toBe(200);
    expect(JSON.parse((unknown.json as { info: string }).info).sd_model_name).toBe('base');
    const known = await post('/sdapi/v1/txt2img', {
      ...request,
      override_settings: { sd_model_checkpoint: 'other' },
    });
    expect(JSON.parse((known.json as { info: string }).info).sd_model_name).toBe('other');
  });

  it("interrupts whoever's job runs, answers that job 200 with its partial image, and keeps running abandoned jobs", async () => {
    const png = await makePng(8, 8);
    const partialPng = await makePng(4, 4);
    fake = await FakeA1111.start({ png, partialPng, renderMs: 2_000 });
    const pending = post('/sdapi/v1/txt2img', { ...request, force_task_id: 'task(a)' });
    await fake.whenRunning((job) => job.taskId === 'task(a)');
    expect((await post('/internal/progress', { id_task: 'task(a)' })).json).toMatchObject({
      active: true,
    });
    await post('/sdapi/v1/interrupt');

    const answer = await pending;
    expect(answer.status).toBe(200);
    expect((answer.json as { images: string[] }).images[0]).toBe(partialPng.toString('base64'));
    const { state } = (await fetch(`${fake.url}/sdapi/v1/progress`).then((r) => r.json())) as {
      state: { interrupted: boolean; job_count: number };
    };
    expect(state).toMatchObject({ interrupted: true, job_count: 0 });

    // A client that goes away does not take its job with it.
    fake.setRenderMs(100);
    const controller = new AbortController();
    const abandoned = fetch(`${fake.url}/sdapi/v1/txt2img`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...request, force_task_id: 'task(b)' }),
      signal: controller.signal,
    }).catch(() => undefined);
    await fake.whenRunning((job) => job.taskId === 'task(b)');
    controller.abort();
    await abandoned;
    await expect
      .poll(() => fake!.jobs.find((job) => job.taskId === 'task(b)')?.finished)
      .toBe(true);
    expect(fake.jobs.find((job) => job.taskId === 'task(b)')?.interrupted).toBe(false);
  });
});
