import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { everythingIn, leakedSecrets } from '../../../engine/testing/secret-leaks';
import { LabError } from '../../../engine/errors';
import type { Shot } from '../../../engine/graph/values';
import type { ExternalTaskRecord } from '../../../engine/stores/ports';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { makeMp4, makePng } from '../../../engine/testing/fakes/media';
import { MemoryCollection } from '../../../engine/testing/fakes/memory-collection';
import { DAILY_LIMIT_429, FakeRunway } from '../testing/fake-runway';
import {
  buildRequest,
  clipDuration,
  renderClipRunway,
  type RenderClipArgs,
  type RunwayCheckpoint,
} from './runway';

const shot: Shot = {
  index: 1,
  description: 'Mara lights the lamp',
  prompt: 'a young woman in a red coat lights a great lamp',
  negativePrompt: '',
  camera: 'pan-left',
  durationSec: 3.4,
};

const TASK_KEY = 'run_1:clips:1';

describe('renderClipRunway against a fake Runway API', () => {
  let png: Buffer;
  let mp4: Buffer;
  let fake: FakeRunway;
  let tasks: MemoryCollection<ExternalTaskRecord>;
  let checkpoints: RunwayCheckpoint[];

  beforeAll(async () => {
    [png, mp4] = await Promise.all([makePng(320, 180), makeMp4(1)]);
    fake = await FakeRunway.start({ mp4 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    tasks = new MemoryCollection<ExternalTaskRecord>();
    checkpoints = [];
  });

  function args(overrides: Partial<RenderClipArgs> = {}): RenderClipArgs {
    return {
      image: png,
      imageMime: 'image/png',
      shot,
      params: { model: 'gen4_turbo', ratio: '1280:720', seed: 7 },
      config: { apiKey: fake.apiKey, baseURL: fake.url, pollIntervalMs: 10 },
      signal: new AbortController().signal,
      onProgress: () => undefined,
      checkpoint: undefined,
      saveCheckpoint: (value) => checkpoints.push(value),
      externalTasks: tasks,
      taskKey: TASK_KEY,
      ...overrides,
    };
  }

  const creates = () => fake.requestsTo('POST', '/v1/image_to_video');
  const polls = () => fake.requestsTo('GET', /^\/v1\/tasks\//);

  it('submits with the right headers and body, saves the task at once, polls and downloads the MP4', async () => {
    const progress: number[] = [];
    // Where the first poll stood when each external-task record was written.
    const pollsAtWrite: number[] = [];
    const put = tasks.put.bind(tasks);
    tasks.put = async (record) => {
      pollsAtWrite.push(polls().length);
      await put(record);
    };

    const video = await renderClipRunway(args({ onProgress: (f) => progress.push(f) }));

    expect(video.equals(mp4)).toBe(true);
    const [create] = creates();
    expect(create.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(create.headers['x-runway-version']).toBe('2024-11-06');
    expect(create.headers['content-type']).toBe('application/json');
    expect(create.json).toEqual({
      model: 'gen4_turbo',
      promptImage: `data:image/png;base64,${png.toString('base64')}`,
      promptText: 'a young woman in a red coat lights a great lamp. camera pans slowly to the left',
      ratio: '1280:720',
      duration: 3,
      seed: 7,
    });
    const taskId = (fake.tasks.keys().next().value as string) ?? '';
    expect(checkpoints).toEqual([{ taskId }]);
    expect(pollsAtWrite[0]).toBe(0);
    expect(tasks.records.get(TASK_KEY)).toMatchObject({
      provider: 'runway',
      taskId,
      status: 'SUCCEEDED',
    });
    expect(polls().length).toBe(4);
    const [download] = fake.requestsTo('GET', /^\/cdn\//);
    expect(download.headers.authorization).toBeUndefined();
    expect(progress.at(-1)).toBe(1);
    expect(progress).toContain(0.38);
    expect(progress.every((f, i, all) => i === 0 || f >= all[i - 1])).toBe(true);
  });

  it('resumes the task from the checkpoint without submitting again', async () => {
    const taskId = fake.seedTask([{ status: 'RUNNING', progress: 0.5 }, { status: 'SUCCEEDED' }]);

    const video = await renderClipRunway(args({ checkpoint: { taskId } }));

    expect(video.equals(mp4)).toBe(true);
    expect(creates()).toHaveLength(0);
    expect(polls().every((r) => r.path === `/v1/tasks/${taskId}`)).toBe(true);
  });

  it('resumes the task from the external-task record when the checkpoint was lost', async () => {
    const taskId = fake.seedTask([{ status: 'SUCCEEDED' }]);
    const now = new Date().toISOString();
    await tasks.put({
      id: TASK_KEY,
      provider: 'runway',
      taskId,
      status: 'RUNNING',
      createdAt: now,
      updatedAt: now,
    });

    const video = await renderClipRunway(args());

    expect(video.equals(mp4)).toBe(true);
    expect(creates()).toHaveLength(0);
    expect(polls()).toHaveLength(1);
  });

  it('submits a new task when the remembered one is gone, failed or cancelled', async () => {
    const deleted = fake.seedTask([{ status: 'SUCCEEDED' }]);
    fake.tasks.get(deleted)!.deleted = true;
    await expect(
      renderClipRunway(args({ checkpoint: { taskId: deleted } })),
    ).resolves.toBeInstanceOf(Buffer);
    expect(creates()).toHaveLength(1);

    const failed = fake.seedTask([{ status: 'FAILED', failureCode: 'INTERNAL.BAD_OUTPUT.CODE01' }]);
    await expect(
      renderClipRunway(args({ checkpoint: { taskId: failed } })),
    ).resolves.toBeInstanceOf(Buffer);
    expect(creates()).toHaveLength(2);

    const now = new Date().toISOString();
    await tasks.put({
      id: TASK_KEY,
      provider: 'runway',
      taskId: failed,
      status: 'FAILED',
      createdAt: now,
      updatedAt: now,
    });
    await expect(renderClipRunway(args())).resolves.toBeInstanceOf(Buffer);
    expect(creates()).toHaveLength(3);
  });

  it('fails for good on a moderation failure', async () => {
    fake.scriptNextTask(
      { status: 'PENDING' },
      { status: 'FAILED', failure: 'Input rejected', failureCode: 'SAFETY.INPUT.TEXT' },
    );
    const error = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({
      code: 'runway_content_rejected',
      message: expect.stringContaining('SAFETY.INPUT.TEXT'),
    });
    expect(tasks.records.get(TASK_KEY)?.status).toBe('REJECTED');
  });

  // Runway's /errors/task-failures: "INPUT_PREPROCESSING.SAFETY.TEXT … You should not retry".
  it('fails for good when the prompt is rejected before processing', async () => {
    fake.scriptNextTask({
      status: 'FAILED',
      failure: 'Prompt rejected',
      failureCode: 'INPUT_PREPROCESSING.SAFETY.TEXT',
    });
    const error = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({
      code: 'runway_content_rejected',
      message: expect.stringContaining('INPUT_PREPROCESSING.SAFETY.TEXT'),
    });
    expect(creates()).toHaveLength(1);

    // The retry Temporal would not make, or a worker that lost the error: still no new task.
    const again = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'runway_content_rejected' });
    expect(creates()).toHaveLength(1);
  });

  it('does not resubmit a resumed task that failed for good', async () => {
    const taskId = fake.seedTask([
      {
        status: 'FAILED',
        failure: 'Prompt rejected',
        failureCode: 'INPUT_PREPROCESSING.SAFETY.TEXT',
      },
    ]);
    const error = await renderClipRunway(args({ checkpoint: { taskId } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'runway_content_rejected' });
    expect(creates()).toHaveLength(0);
    expect(tasks.records.get(TASK_KEY)).toMatchObject({ taskId, status: 'REJECTED' });
  });

  it('retries a failure of the moderation system itself (INPUT_PREPROCESSING.INTERNAL)', async () => {
    fake.scriptNextTask({ status: 'FAILED', failureCode: 'INPUT_PREPROCESSING.INTERNAL' });
    const error = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'runway_task_failed' });
  });

  it('reports an internal failure of a fresh task as retryable', async () => {
    fake.scriptNextTask({
      status: 'FAILED',
      failure: 'Bad output',
      failureCode: 'INTERNAL.BAD_OUTPUT.CODE01',
    });
    const error = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({ code: 'runway_task_failed' });
  });

  it('backs off and retries 502 and 503 on submit', async () => {
    fake.failNextCreate(
      { status: 502, body: { error: 'Bad gateway' } },
      { status: 503, body: { error: 'Shedding load' } },
    );
    await expect(renderClipRunway(args())).resolves.toBeInstanceOf(Buffer);
    expect(creates()).toHaveLength(3);
  });

  // /usage/tiers: no per-minute limit; over the daily generation limit, creation answers 429.
  it('does not retry a 429 on submit: the daily generation limit is used up', async () => {
    fake.failNextCreate(DAILY_LIMIT_429);
    const error = await renderClipRunway(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({
      code: 'runway_daily_limit',
      message: expect.stringContaining('daily generation quota'),
    });
    expect(creates()).toHaveLength(1);
  });

  it('refuses a combination the model cannot make before any call', async () => {
    for (const params of [
      { model: 'veo3.1', ratio: '960:960', seed: 7 },
      { model: 'gen4_turbo', ratio: '1280:720', seed: 7, duration: 12 },
      { model: 'gen3a_turbo', ratio: '1280:720', seed: 7 },
      { model: 'veo3', ratio: '1280:720', seed: 7 },
    ]) {
      const error = await renderClipRunway(args({ params })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonRetryableNodeError);
      expect(error).toMatchObject({ code: 'runway_bad_params' });
    }
    expect(
      await renderClipRunway(
        args({ params: { model: 'veo3.1', ratio: '960:960', seed: 7 } }),
      ).catch((e: Error) => e.message),
    ).toContain('1280:720, 720:1280, 1080:1920, 1920:1080');
    expect(fake.requests).toHaveLength(0);
  });

  it('sends a Veo request its schema takes: a Veo ratio and duration 4, 6 or 8', async () => {
    await renderClipRunway(args({ params: { model: 'veo3.1_fast', ratio: '1080:1920', seed: 9 } }));
    expect(creates()[0].json).toMatchObject({
      model: 'veo3.1_fast',
      ratio: '1080:1920',
      duration: 4,
      seed: 9,
    });
  });

  it('sends an explicit duration instead of the shot length', async () => {
    await renderClipRunway(
      args({ params: { model: 'gen4_turbo', ratio: '960:960', seed: 7, duration: 7 } }),
    );
    expect(creates()[0].json).toMatchObject({ duration: 7, ratio: '960:960' });
  });

  it('retries a 429 while polling (no new task is paid for)', async () => {
    const taskId = fake.seedTask([{ status: 'SUCCEEDED' }]);
    fake.failNextPoll(DAILY_LIMIT_429);
    await expect(renderClipRunway(args({ checkpoint: { taskId } }))).resolves.toBeInstanceOf(
      Buffer,
    );
    expect(creates()).toHaveLength(0);
    expect(polls()).toHaveLength(2);
  });

  it('fails for good on 4xx: invalid body, bad key', async () => {
    await expect(
      renderClipRunway(
        args({ config: { apiKey: 'key_wrong', baseURL: fake.url, pollIntervalMs: 10 } }),
      ),
    ).rejects.toMatchObject({
      code: 'runway_auth',
      message: expect.stringContaining('RUNWAY_API_KEY'),
    });
  });

  it('cancels the task on Runway when the node is cancelled', async () => {
    fake.scriptNextTask({ status: 'PENDING' }, { status: 'RUNNING', progress: 0.1 });
    const controller = new AbortController();
    const run = renderClipRunway(args({ signal: controller.signal }));
    await waitUntil(() => polls().length >= 3);
    controller.abort(new Error('CANCELLED'));

    await expect(run).rejects.toThrow('CANCELLED');
    const taskId = checkpoints[0].taskId;
    expect(fake.requestsTo('DELETE', `/v1/tasks/${taskId}`)).toHaveLength(1);
    expect(fake.tasks.get(taskId)?.cancelled).toBe(true);
    expect(tasks.records.get(TASK_KEY)?.status).toBe('CANCELLED');
  });

  it('keeps the task alive when the worker shuts down, so the retry resumes it', async () => {
    fake.scriptNextTask({ status: 'RUNNING', progress: 0.1 }, { status: 'SUCCEEDED' });
    const controller = new AbortController();
    const run = renderClipRunway(args({ signal: controller.signal }));
    await waitUntil(() => checkpoints.length === 1);
    controller.abort(new Error('WORKER_SHUTDOWN'));
    await expect(run).rejects.toThrow('WORKER_SHUTDOWN');
    expect(fake.requestsTo('DELETE', /^\/v1\/tasks\//)).toHaveLength(0);

    const video = await renderClipRunway(args({ checkpoint: checkpoints[0] }));
    expect(video.equals(mp4)).toBe(true);
    expect(creates()).toHaveLength(1);
  });

  it('fetches the task again for a fresh URL when the output link has expired', async () => {
    fake.scriptNextTask({ status: 'SUCCEEDED' });
    fake.expireNextDownloads(1);
    const video = await renderClipRunway(args());
    expect(video.equals(mp4)).toBe(true);
    expect(fake.requestsTo('GET', /^\/cdn\//)).toHaveLength(2);
    expect(polls()).toHaveLength(2);
  });

  it('rejects frames Runway cannot take before calling out', async () => {
    await expect(renderClipRunway(args({ imageMime: 'image/gif' }))).rejects.toMatchObject({
      code: 'runway_bad_image',
    });
    await expect(
      renderClipRunway(args({ image: Buffer.alloc(4 * 1024 * 1024) })),
    ).rejects.toMatchObject({
      code: 'runway_image_too_large',
    });
    expect(fake.requests).toHaveLength(0);
  });
  it('scrubs a key the server echoes in its error before the error leaves the provider', async () => {
    const key = `key_${'e1'.repeat(32)}`;
    const echo = (await FakeRunway.start({ mp4, apiKey: key })).echoCredentialsInErrors();
    try {
      const error = await renderClipRunway(
        args({ config: { apiKey: key, baseURL: echo.url, pollIntervalMs: 10 } }),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'runway_auth' });
      const text = everythingIn(error);
      expect(text).toContain('Invalid API key');
      expect(leakedSecrets(text, [key, echo.url])).toEqual([]);
    } finally {
      await echo.close();
    }
  });
});

describe('clipDuration', () => {
  it('fits the shot length to what the model can make', () => {
    expect(clipDuration('gen4_turbo', 0.5)).toBe(2);
    expect(clipDuration('gen4_turbo', 3.4)).toBe(3);
    expect(clipDuration('gen4_turbo', 30)).toBe(10);
    expect(clipDuration('veo3.1', 7.2)).toBe(8);
    expect(clipDuration('veo3.1', 2)).toBe(4);
    expect(clipDuration('veo3.1_fast', 5.5)).toBe(6);
  });

  it('knows no model Runway has dropped', () => {
    expect(() => clipDuration('gen3a_turbo', 8)).toThrow('unknown Runway model');
    expect(() => clipDuration('future_model', 12)).toThrow('unknown Runway model');
  });
});

describe('buildRequest', () => {
  const png = Buffer.from('89504e470d0a1a0a', 'hex');

  it('cuts promptText to 1000 UTF-16 code units without splitting a surrogate pair', () => {
    // 998 letters then an emoji (2 code units) and more: the cut at 1000 lands inside nothing,
    // 999 letters then the emoji: the cut at 1000 would split it, so it stops at 999.
    for (const letters of [998, 999]) {
      const prompt = `${'a'.repeat(letters)}😀😀 the rest`;
      const { promptText } = buildRequest({
        image: png,
        imageMime: 'image/png',
        shot: { ...shot, prompt },
        params: { model: 'gen4_turbo', ratio: '1280:720', seed: 1 },
      });
      expect(promptText.length).toBeLessThanOrEqual(1000);
      // No lone surrogate: a high half without its low half.
      expect(promptText).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
      expect(promptText.length).toBe(letters === 998 ? 1000 : 999);
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
