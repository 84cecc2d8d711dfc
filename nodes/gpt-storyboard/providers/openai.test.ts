import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { everythingIn, leakedSecrets } from '../../../engine/testing/secret-leaks';
import { LabError } from '../../../engine/errors';
import { storyboardSchema, type Character } from '../../../engine/graph/values';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { DEFAULT_FAKE_STORYBOARD, FakeOpenAI } from '../testing/fake-openai';
import type { ChatModel } from 'openai/resources/shared';
import { attemptsWithin, worstCaseMs } from '../../../engine/providers/openai-attempts';
import { gptStoryboard } from '../definition';
import {
  DEFAULT_STORYBOARD_MODEL,
  STORYBOARD_START_TO_CLOSE_SEC,
  generateStoryboardOpenAI,
  toCameraMove,
  type GenerateStoryboardArgs,
} from './openai';

const character: Character = {
  id: 'char_mara',
  name: 'Mara',
  description: 'a young woman with short black hair and a red coat',
  triggerWord: 'mara_tok',
  referenceImages: [],
};

const fast = { 'retry-after-ms': '1' };

describe('generateStoryboardOpenAI against a fake OpenAI server', () => {
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  function args(overrides: Partial<GenerateStoryboardArgs> = {}): GenerateStoryboardArgs {
    return {
      script: 'Mara climbs the lighthouse. She lights the lamp.',
      character,
      params: {
        model: 'gpt-5.4-mini',
        shots: 4,
        shotDurationSec: 3,
        style: 'cinematic, soft light',
      },
      config: { apiKey: fake.apiKey, baseURL: fake.baseURL },
      signal: new AbortController().signal,
      ...overrides,
    };
  }

  it('sends a strict json_schema request and maps the answer onto the storyboard value', async () => {
    const storyboard = await generateStoryboardOpenAI(args());

    expect(storyboardSchema.parse(storyboard)).toEqual(storyboard);
    expect(storyboard.title).toBe('The Lighthouse');
    expect(storyboard.shots.map((s) => s.index)).toEqual([0, 1]);
    expect(storyboard.shots.map((s) => s.camera)).toEqual(['push-in', 'pan-left']);
    expect(storyboard.shots[0].prompt).toMatch(/, cinematic, soft light$/);
    expect(storyboard.shots[0].negativePrompt).toContain('blurry');
    expect(storyboard.shots[0].dialogue).toBeUndefined();
    expect(storyboard.shots[1].dialogue).toBe('Someone has to keep the light.');

    const [request] = fake.completions;
    expect(fake.completions).toHaveLength(1);
    expect(request.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(request.headers['x-stainless-helper-method']).toBe('chat.completions.parse');
    const body = request.json as {
      model: string;
      messages: { role: string; content: string }[];
      response_format: {
        type: string;
        json_schema: { name: string; strict: boolean; schema: { required: string[] } };
      };
    };
    expect(body.model).toBe('gpt-5.4-mini');
    expect(body.response_format.type).toBe('json_schema');
    expect(body.response_format.json_schema.name).toBe('storyboard');
    expect(body.response_format.json_schema.strict).toBe(true);
    expect(body.response_format.json_schema.schema.required).toEqual(['title', 'shots']);
    expect(body.messages[0].content).toContain('at most 4 shots');
    expect(body.messages[1].content).toContain('Mara climbs the lighthouse.');
    expect(body.messages[1].content).toContain('short black hair');
  });

  it('re-indexes, caps the shot count and clamps durations', async () => {
    const shot = (n: number, durationSec: number) => ({
      description: `shot ${n}`,
      prompt: `prompt ${n}`,
      negativePrompt: null,
      camera: 'Dolly Out',
      durationSec,
      dialogue: null,
    });
    fake.reply({
      kind: 'json',
      content: {
        title: 'Many',
        shots: [shot(1, 0.2), shot(2, 30), shot(3, -1), shot(4, 2), shot(5, 2)],
      },
    });

    const storyboard = await generateStoryboardOpenAI(
      args({ params: { ...args().params, shots: 3 } }),
    );

    expect(storyboard.shots.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(storyboard.shots.map((s) => s.durationSec)).toEqual([1, 10, 3]);
    expect(storyboard.shots.every((s) => s.camera === 'pull-out')).toBe(true);
  });

  it('fails for good when the model refuses', async () => {
    fake.reply({ kind: 'refusal', refusal: "I can't help with that." });
    const error = await generateStoryboardOpenAI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_refused' });
    expect((error as Error).message).toContain("I can't help with that.");
  });

  it('fails for good on a truncated or filtered answer', async () => {
    fake.reply({ kind: 'text', content: '{"title":"Cut', finishReason: 'length' });
    await expect(generateStoryboardOpenAI(args())).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'openai_output_truncated',
    });
    fake.reply({ kind: 'text', content: '', finishReason: 'content_filter' });
    await expect(generateStoryboardOpenAI(args())).rejects.toMatchObject({
      code: 'openai_content_filtered',
    });
  });

  it('fails for good on 4xx without retrying', async () => {
    fake.reply({
      kind: 'error',
      status: 400,
      message: 'Invalid schema',
      type: 'invalid_request_error',
      param: 'response_format',
    });
    const error = await generateStoryboardOpenAI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_bad_request' });
    expect((error as Error).message).toContain('Invalid schema');
    expect(fake.completions).toHaveLength(1);

    await expect(
      generateStoryboardOpenAI(args({ config: { apiKey: 'sk-wrong', baseURL: fake.baseURL } })),
    ).rejects.toMatchObject({
      code: 'openai_auth',
      message: expect.stringContaining('OPENAI_API_KEY'),
    });
  });

  it('retries a 429 and succeeds on the second request', async () => {
    fake.reply({
      kind: 'error',
      status: 429,
      message: 'Rate limit reached',
      type: 'requests',
      code: 'rate_limit_exceeded',
      headers: fast,
    });

    const storyboard = await generateStoryboardOpenAI(args());

    expect(storyboard.shots).toHaveLength(2);
    expect(fake.completions).toHaveLength(2);
  });

  it('fails for good, after one request, on a 429 that no wait can fix (insufficient_quota)', async () => {
    fake.reply({
      kind: 'error',
      status: 429,
      message:
        'You exceeded your current quota, please check your plan and billing details. For more ' +
        'information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      headers: fast,
    });

    const error = await generateStoryboardOpenAI(args()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_quota_exceeded' });
    expect((error as Error).message).toContain('billing');
    expect(fake.completions).toHaveLength(1);
  });

  it('keeps every attempt inside the node: slow answers time out per attempt, then retryably', async () => {
    const slow = { kind: 'json', content: DEFAULT_FAKE_STORYBOARD, delayMs: 3_000 } as const;
    fake.reply(slow, slow);

    const error = await generateStoryboardOpenAI(
      args({ attempts: { maxAttempts: 2, attemptTimeoutMs: 150, maxBackoffMs: 10 } }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({ code: 'openai_timeout' });
    expect(fake.completions).toHaveLength(2);
  });

  it('gives up after three attempts at a 5xx, with a retryable error', async () => {
    const failure = { kind: 'error', status: 503, message: 'overloaded', headers: fast } as const;
    fake.reply(failure, failure, failure);
    const error = await generateStoryboardOpenAI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect(error).not.toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_unavailable' });
    expect(fake.completions).toHaveLength(3);
  });

  it('treats an answer that misses the schema as retryable', async () => {
    fake.reply({ kind: 'json', content: { title: 'No shots here' } });
    await expect(generateStoryboardOpenAI(args())).rejects.toMatchObject({
      name: 'LabError',
      code: 'openai_invalid_output',
    });
    fake.reply({ kind: 'json', content: { title: 'Empty', shots: [] } });
    await expect(generateStoryboardOpenAI(args())).rejects.toMatchObject({
      code: 'openai_empty_storyboard',
    });
  });

  it('stops waiting when the signal aborts', async () => {
    fake.reply({ kind: 'json', content: {}, delayMs: 5_000 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('node cancelled')), 50);
    await expect(generateStoryboardOpenAI(args({ signal: controller.signal }))).rejects.toThrow(
      'node cancelled',
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rejects a missing key and an empty script before calling out', async () => {
    await expect(generateStoryboardOpenAI(args({ config: { apiKey: '' } }))).rejects.toMatchObject({
      code: 'openai_not_configured',
    });
    await expect(generateStoryboardOpenAI(args({ script: '  ' }))).rejects.toMatchObject({
      code: 'storyboard_empty_script',
    });
    expect(fake.completions).toHaveLength(0);
  });
  it('scrubs a key the server echoes in its error before the error leaves the provider', async () => {
    const key = 'sk-echo-storyboard-0123456789abcdef';
    const echo = (await FakeOpenAI.start({ apiKey: key })).echoCredentialsInErrors();
    try {
      const error = await generateStoryboardOpenAI(
        args({ config: { apiKey: key, baseURL: echo.baseURL } }),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'openai_auth' });
      const text = everythingIn(error);
      expect(text).toContain('Incorrect API key provided');
      expect(leakedSecrets(text, [key, echo.baseURL])).toEqual([]);
    } finally {
      await echo.close();
    }
  });
});

describe('toCameraMove', () => {
  it('maps free wording onto the supported moves', () => {
    expect(toCameraMove('push-in')).toBe('push-in');
    expect(toCameraMove('Zoom In')).toBe('push-in');
    expect(toCameraMove('dolly_back')).toBe('pull-out');
    expect(toCameraMove('slow pan right')).toBe('pan-right');
    expect(toCameraMove('crane up')).toBe('tilt-up');
    expect(toCameraMove('Tilt down')).toBe('tilt-down');
    expect(toCameraMove('close-up')).toBe('static');
  });
});

describe('the fake OpenAI strict-schema check', () => {
  it('rejects what the real API rejects', async () => {
    const { checkResponseFormat } = await import('../testing/fake-openai');
    const format = (schema: unknown) => ({
      type: 'json_schema',
      json_schema: { name: 'storyboard', strict: true, schema },
    });
    const good = {
      type: 'object',
      properties: { a: { type: 'string' } },
      required: ['a'],
      additionalProperties: false,
    };
    expect(checkResponseFormat(format(good))).toBeUndefined();
    expect(checkResponseFormat(format({ ...good, required: [] }))).toContain("Missing 'a'");
    expect(checkResponseFormat(format({ ...good, additionalProperties: true }))).toContain(
      'additionalProperties',
    );
    expect(checkResponseFormat(format({ type: 'array', items: good }))).toContain('type: "object"');
  });
});

describe('the OpenAI call policy of the storyboard node', () => {
  it("fits every attempt, timeouts and pauses included, in the node's startToClose", () => {
    expect(STORYBOARD_START_TO_CLOSE_SEC).toBe(gptStoryboard.execution.startToCloseSec);
    const policy = attemptsWithin(gptStoryboard.execution.startToCloseSec);
    expect(policy.maxAttempts).toBeGreaterThanOrEqual(2);
    expect(worstCaseMs(policy)).toBeLessThan(gptStoryboard.execution.startToCloseSec * 1000);
  });

  it('defaults to a current model alias, not a dated snapshot', () => {
    // A ChatModel of the installed SDK: a model the SDK no longer lists fails typecheck here.
    const model: ChatModel = DEFAULT_STORYBOARD_MODEL;
    expect(gptStoryboard.params.parse({}).model).toBe(model);
    expect(model).not.toMatch(/\d{4}-\d{2}-\d{2}$/);
  });
});

describe('characterPresent from the model (the frames gate skips absent shots)', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('asks for it in the strict schema and carries booleans onto the shots', async () => {
    const shot = (description: string, characterPresent: boolean | null) => ({
      description,
      prompt: description,
      negativePrompt: null,
      camera: 'static',
      durationSec: 2,
      dialogue: null,
      characterPresent,
    });
    fake.reply({
      kind: 'json',
      content: {
        title: 'Presence',
        shots: [shot('The sea at dawn.', false), shot('Mara waves.', true), shot('Rain.', null)],
      },
    });
    const storyboard = await generateStoryboardOpenAI({
      script: 'The sea at dawn. Mara waves. Rain.',
      character,
      params: { model: 'gpt-5.4-mini', shots: 3, shotDurationSec: 2, style: '' },
      config: { apiKey: fake.apiKey, baseURL: fake.baseURL },
      signal: new AbortController().signal,
    });
    expect(storyboard.shots.map((s) => s.characterPresent)).toEqual([false, true, undefined]);
    const body = fake.requests.at(-1)!.json as {
      response_format: {
        json_schema: { schema: { properties: { shots: { items: { required: string[] } } } } };
      };
    };
    expect(body.response_format.json_schema.schema.properties.shots.items.required).toContain(
      'characterPresent',
    );
  });
});
