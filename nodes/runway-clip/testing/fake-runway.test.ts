/**
 * The fake Runway API over HTTP: it refuses what @runwayml/sdk 4.20.1's types refuse (each
 * body below is also a compile error against the SDK type), and it behaves like Runway where
 * our client depends on it (estimatedCost on create, 429 for the daily limit, task deletion).
 */
import type RunwayML from '@runwayml/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMp4 } from '../../../engine/testing/fakes/media';
import { DAILY_LIMIT_429, FakeRunway } from './fake-runway';

let fake: FakeRunway;
const png = `data:image/png;base64,${Buffer.from('png bytes').toString('base64')}`;

beforeAll(async () => {
  fake = await FakeRunway.start({ mp4: await makeMp4(1) });
});
afterAll(async () => {
  await fake.close();
});

function call(method: string, path: string, body?: unknown) {
  return fetch(`${fake.url}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${fake.apiKey}`,
      'X-Runway-Version': '2024-11-06',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe('the fake Runway API', () => {
  it('answers 400 to bodies the official types reject', async () => {
    const rejected: unknown[] = [];
    const veoSquare: RunwayML.ImageToVideoCreateParams.Veo3_1 = {
      model: 'veo3.1',
      promptImage: png,
      // @ts-expect-error Veo 3.1 makes no 960:960.
      ratio: '960:960',
    };
    rejected.push(veoSquare);
    const gen4Audio: RunwayML.ImageToVideoCreateParams.Gen4Turbo = {
      model: 'gen4_turbo',
      promptImage: png,
      ratio: '1280:720',
      // @ts-expect-error gen4_turbo has no audio field.
      audio: true,
    };
    rejected.push(gen4Audio);
    for (const body of rejected) {
      const response = await call('POST', '/v1/image_to_video', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'Validation of body failed' });
    }
    // @ts-expect-error gen4_image requires promptText.
    const noPrompt: RunwayML.TextToImageCreateParams = { model: 'gen4_image', ratio: '1280:720' };
    expect((await call('POST', '/v1/text_to_image', noPrompt)).status).toBe(400);
    expect(fake.tasks.size).toBe(0);
  });

  it('creates a task with its estimated cost, and deletes a finished one', async () => {
    const body: RunwayML.ImageToVideoCreateParams = {
      model: 'gen4_turbo',
      promptImage: png,
      ratio: '1280:720',
      duration: 4,
    };
    fake.scriptNextTask({ status: 'SUCCEEDED' });
    const created = (await (await call('POST', '/v1/image_to_video', body)).json()) as {
      id: string;
      estimatedCost: { credits: number };
    };
    expect(created.estimatedCost).toEqual({ credits: 20 });
    expect(await (await call('GET', `/v1/tasks/${created.id}`)).json()).toMatchObject({
      status: 'SUCCEEDED',
      output: [expect.stringContaining('/video.mp4?')],
    });
    expect((await call('DELETE', `/v1/tasks/${created.id}`)).status).toBe(204);
    expect((await call('GET', `/v1/tasks/${created.id}`)).status).toBe(404);
  });

  it('answers 429 with Runway’s body when the daily limit is scripted', async () => {
    fake.failNextCreate(DAILY_LIMIT_429);
    const response = await call('POST', '/v1/image_to_video', {});
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual(DAILY_LIMIT_429.body);
  });
});
