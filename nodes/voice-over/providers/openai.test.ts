import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { everythingIn, leakedSecrets } from '../../../engine/testing/secret-leaks';
import { LabError } from '../../../engine/errors';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { wavDurationSec } from '../narration';
import {
  FakeOpenAISpeech,
  MAX_SPEECH_INPUT,
  speechRequestSchema,
} from '../testing/fake-openai-speech';
import { clipInput, languageInstruction, speakOpenAI, type SpeakOpenAIArgs } from './openai';

describe('speakOpenAI against a fake OpenAI speech server', () => {
  let fake: FakeOpenAISpeech;
  let dir: string;

  beforeAll(async () => {
    fake = await FakeOpenAISpeech.start();
    dir = await mkdtemp(join(tmpdir(), 'charlab-voice-openai-'));
  });
  afterAll(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  function args(overrides: Partial<SpeakOpenAIArgs> = {}): SpeakOpenAIArgs {
    return {
      text: 'We made it.',
      model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      speed: 1,
      language: 'en-us',
      output: join(dir, 'line.wav'),
      config: { apiKey: fake.apiKey, baseURL: fake.baseURL },
      signal: new AbortController().signal,
      ...overrides,
    };
  }

  it('posts the SDK request shape and writes the WAV it gets back', async () => {
    await speakOpenAI(args({ speed: 1.25, voice: 'coral' }));

    expect(fake.speeches).toHaveLength(1);
    const [request] = fake.speeches;
    expect(request.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(request.headers.accept).toBe('application/octet-stream');
    expect(request.headers['content-type']).toContain('application/json');
    expect(request.json).toEqual({
      model: 'gpt-4o-mini-tts',
      voice: 'coral',
      input: 'We made it.',
      speed: 1.25,
      response_format: 'wav',
      instructions: 'Speak in American English.',
    });
    const wav = await readFile(join(dir, 'line.wav'));
    expect(wav.toString('latin1', 0, 4)).toBe('RIFF');
    expect(wavDurationSec(wav)).toBeGreaterThan(0.3);
  });

  it('sends no instructions to tts-1, which does not take them', async () => {
    await speakOpenAI(args({ model: 'tts-1' }));
    expect(fake.speeches[0].json).not.toHaveProperty('instructions');
    expect(languageInstruction('tts-1-hd', 'de')).toBeUndefined();
    expect(languageInstruction('gpt-4o-mini-tts', 'de')).toBe('Speak in German.');
  });

  it('cuts a line to the API limit at a word', () => {
    const long = 'word '.repeat(1000);
    const clipped = clipInput(long);
    expect(clipped.length).toBeLessThanOrEqual(MAX_SPEECH_INPUT);
    expect(clipped.endsWith('word')).toBe(true);
    expect(clipInput('short')).toBe('short');
  });

  it('fails for good on a wrong key (401) and never shows the key', async () => {
    const key = 'sk-proj-wrong-secret-0123456789';
    const error = await speakOpenAI(args({ config: { apiKey: key, baseURL: fake.baseURL } })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_auth' });
    const message = (error as Error).message;
    expect(message).toMatch(/OPENAI_API_KEY/);
    expect(message).not.toContain(key);
    expect(message).not.toContain(key.slice(-4));
    expect(message).not.toContain(key.slice(0, 8));
    expect(fake.speeches).toHaveLength(1); // not retried
  });

  it('is refused like the real API when the speed is out of range', async () => {
    const error = await speakOpenAI(args({ speed: 5 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_bad_request' });
    expect((error as Error).message).toContain(
      "Invalid 'speed': decimal above maximum value. Expected a value <= 4, but got 5 instead.",
    );
    expect(fake.speeches).toHaveLength(1);
  });

  it('is refused for an unknown voice, naming the params to check', async () => {
    const error = await speakOpenAI(args({ voice: 'f3' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'openai_bad_request' });
    expect((error as Error).message).toMatch(/Invalid value for 'voice'.*check the model, voice/);
  });

  it('retries a 5xx and a 429, then succeeds', async () => {
    fake.reply(
      { kind: 'error', status: 500, message: 'boom', headers: { 'retry-after-ms': '1' } },
      { kind: 'error', status: 429, message: 'slow down', headers: { 'retry-after-ms': '1' } },
    );
    await speakOpenAI(args());
    expect(fake.speeches).toHaveLength(3);
    expect(fake.speeches).toHaveLength(3);
  });

  it('fails for good, after one request, when the quota is exhausted (insufficient_quota)', async () => {
    fake.reply({
      kind: 'error',
      status: 429,
      message: 'You exceeded your current quota, please check your plan and billing details.',
      type: 'insufficient_quota',
      code: 'insufficient_quota',
      headers: { 'retry-after-ms': '1' },
    });
    const error = await speakOpenAI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'openai_quota_exceeded' });
    expect(fake.speeches).toHaveLength(1);
  });

  it('gives up retrying as a retryable LabError that the run retries later', async () => {
    const busy = {
      kind: 'error',
      status: 503,
      message: 'overloaded',
      headers: { 'retry-after-ms': '1' },
    } as const;
    fake.reply(busy, busy, busy);
    const error = await speakOpenAI(args()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabError);
    expect(error).toMatchObject({ code: 'openai_unavailable' });
  });

  it('stops when the signal aborts', async () => {
    fake.reply({ kind: 'error', status: 500, message: 'slow', delayMs: 2_000 });
    const controller = new AbortController();
    const pending = speakOpenAI(args({ signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('cancelled by the user')), 50);
    await expect(pending).rejects.toThrow('cancelled by the user');
  });
  it('scrubs a key the server echoes in its error before the error leaves the provider', async () => {
    const key = 'sk-echo-speech-0123456789abcdef';
    const echo = (await FakeOpenAISpeech.start({ apiKey: key })).echoCredentialsInErrors();
    try {
      const error = await speakOpenAI(
        args({ config: { apiKey: key, baseURL: echo.baseURL } }),
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'openai_auth' });
      expect(leakedSecrets(everythingIn(error), [key, echo.baseURL])).toEqual([]);
    } finally {
      await echo.close();
    }
  });
});

describe('the fake speech server', () => {
  let fake: FakeOpenAISpeech;
  beforeAll(async () => {
    fake = await FakeOpenAISpeech.start();
  });
  afterAll(async () => {
    await fake.close();
  });

  const post = (body: unknown, key = fake.apiKey) =>
    fetch(`${fake.baseURL}/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const valid = { model: 'tts-1', input: 'Hello.', voice: 'alloy', response_format: 'wav' };

  it("checks the body's shape with a schema held to the SDK's SpeechCreateParams", () => {
    expect(speechRequestSchema.safeParse(valid).success).toBe(true);
    expect(speechRequestSchema.safeParse({ ...valid, voice: { id: 'voice_1' } }).success).toBe(
      true,
    );
    expect(speechRequestSchema.safeParse({ ...valid, voice: 7 }).success).toBe(false);
    expect(speechRequestSchema.safeParse({ ...valid, stream_format: 'chunks' }).success).toBe(
      false,
    );
    expect(speechRequestSchema.safeParse({ ...valid, language: 'en' }).success).toBe(false);
  });

  it('refuses unknown fields and bad values with the OpenAI error shape', async () => {
    const cases: [Record<string, unknown>, string | null, string | null][] = [
      [{ ...valid, language: 'en' }, null, null],
      [{ ...valid, input: 'x'.repeat(4097) }, 'input', 'string_above_max_length'],
      [{ ...valid, speed: 0.1 }, 'speed', 'decimal_below_min_value'],
      [{ ...valid, speed: '1' }, 'speed', 'invalid_type'],
      [{ ...valid, response_format: 'ogg' }, 'response_format', 'invalid_value'],
      [{ model: 'tts-1', voice: 'alloy' }, 'input', 'missing_required_parameter'],
      [{ ...valid, voice: { id: 'voice_1', extra: 1 } }, 'voice', 'invalid_value'],
    ];
    for (const [body, param, code] of cases) {
      const response = await post(body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      const json = (await response.json()) as { error: Record<string, unknown> };
      expect(json.error).toMatchObject({ type: 'invalid_request_error', param, code });
      expect(typeof json.error.message).toBe('string');
    }
  });

  it('answers a valid request with WAV bytes whose length follows the text and speed', async () => {
    const short = await post(valid);
    expect(short.headers.get('content-type')).toBe('audio/wav');
    const long = await post({ ...valid, input: 'Hello. '.repeat(20) });
    const fast = await post({ ...valid, input: 'Hello. '.repeat(20), speed: 2 });
    const seconds = async (r: Response) => wavDurationSec(Buffer.from(await r.arrayBuffer()))!;
    const [a, b, c] = [await seconds(short), await seconds(long), await seconds(fast)];
    expect(b).toBeGreaterThan(a);
    expect(c).toBeCloseTo(b / 2, 2);
  });

  it('answers 401 to a missing or wrong key', async () => {
    expect((await post(valid, 'sk-nope')).status).toBe(401);
    const anonymous = await fetch(`${fake.baseURL}/audio/speech`, {
      method: 'POST',
      body: JSON.stringify(valid),
    });
    expect(anonymous.status).toBe(401);
  });
});
