/**
 * A fake OpenAI text-to-speech endpoint, `POST /v1/audio/speech`, speaking the wire format of
 * openai-node 6.x (src/resources/audio/speech.ts, checked against 6.49.0): the SDK posts JSON
 * `SpeechCreateParams` — `model`, `input` (at most 4,096 characters), `voice` (a built-in name
 * or `{ id }`), and optionally `instructions`, `response_format` (`mp3 | opus | aac | flac |
 * wav | pcm`), `speed` (0.25–4) and `stream_format` (`sse | audio`) — with
 * `Authorization: Bearer <key>` and `Accept: application/octet-stream`, and reads the audio
 * bytes of the body. Errors use OpenAI's JSON shape `{ error: { message, type, param, code } }`
 * (reference/providers.md A.4) with a 400 for unknown fields and bad values, worded like the
 * API's own validation messages, and a 401 for a wrong key. The audio is real: a WAV (or raw
 * PCM) sine tone, 24 kHz mono 16-bit like OpenAI's, whose length grows with the input and
 * shrinks with `speed`. The fake encodes only `wav` and `pcm`; it refuses the compressed
 * formats rather than pretend. The body's shape is also checked by `speechRequestSchema`, held
 * to the SDK's `SpeechCreateParams` at compile time. Test-only code.
 */
import type { ServerResponse } from 'node:http';
import type { SpeechCreateParams } from 'openai/resources/audio/speech';
import { z } from 'zod';
import {
  FakeHttpServer,
  delay,
  sendBytes,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';
import { OPENAI_VOICES } from '../definition';
import {
  FakeOpenAIEndpoint,
  echoedCredentials,
  openAIAuthProblem,
  sendOpenAIError,
} from '../../../engine/testing/fakes/openai-wire';

/** The sample rate of OpenAI's wav and pcm output. */
export const SPEECH_SAMPLE_RATE = 24_000;
/** The longest `input` the API accepts. */
export const MAX_SPEECH_INPUT = 4096;

/** One scripted answer; unscripted requests get synthesized audio, as `audio` replies do. */
export type FakeSpeechReply =
  | { kind: 'audio'; delayMs?: number }
  | {
      kind: 'error';
      status: number;
      message: string;
      type?: string;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
      delayMs?: number;
    };

export interface FakeOpenAISpeechOptions {
  apiKey?: string;
  /** Seconds of audio per input character at speed 1 (default 1/15: about 150 words a minute). */
  secondsPerChar?: number;
}

const FIELDS = [
  'model',
  'input',
  'voice',
  'instructions',
  'response_format',
  'speed',
  'stream_format',
] as const;
const RESPONSE_FORMATS = ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'];
const STREAM_FORMATS = ['sse', 'audio'];

export class FakeOpenAISpeech extends FakeOpenAIEndpoint<FakeSpeechReply> {
  private constructor(
    http: FakeHttpServer,
    private readonly options: FakeOpenAISpeechOptions,
  ) {
    super(http, options.apiKey ?? 'sk-test-fake-speech');
  }

  static async start(options: FakeOpenAISpeechOptions = {}): Promise<FakeOpenAISpeech> {
    return new FakeOpenAISpeech(await FakeHttpServer.start(), options);
  }

  /** Every request to /v1/audio/speech, in order (refused ones included). */
  get speeches(): RecordedRequest[] {
    return this.http.requestsTo('POST', '/v1/audio/speech');
  }

  /**
   * From now on every request is refused with the credentials it carried quoted in the error
   * body (the Authorization header and the full request URL), as several real upstreams and
   * proxies do (OpenAI-compatible gateways such as LiteLLM print the received key in their 401s;
   * reverse proxies echo the request line). Tests use it to prove no key survives to a store.
   */
  echoCredentialsInErrors(): this {
    this.echoCredentials = true;
    return this;
  }

  private echoCredentials = false;

  protected async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const requestId = `req_fake_speech_${++this.counter}`;
    if (this.echoCredentials) {
      sendOpenAIError(res, 401, echoedCredentials(req), requestId);
      return;
    }
    const fail = (
      status: number,
      message: string,
      code: string | null,
      param: string | null = null,
      type = 'invalid_request_error',
    ) => sendOpenAIError(res, status, { message, type, param, code }, requestId);

    if (req.method !== 'POST' || req.path !== '/v1/audio/speech') {
      fail(404, `Unknown request URL: ${req.method} ${req.path}.`, 'unknown_url');
      return;
    }
    const unauthorized = openAIAuthProblem(req.headers.authorization, this.apiKey);
    if (unauthorized) {
      sendOpenAIError(res, 401, unauthorized, requestId);
      return;
    }
    if (req.json === undefined || typeof req.json !== 'object' || Array.isArray(req.json)) {
      fail(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        null,
      );
      return;
    }
    const problem = checkSpeechRequest(req.json as Record<string, unknown>);
    if (problem) {
      fail(400, problem.message, problem.code, problem.param);
      return;
    }

    const reply = this.replies.shift();
    if (reply?.delayMs) await delay(reply.delayMs);
    if (reply?.kind === 'error') {
      sendJson(
        res,
        reply.status,
        {
          error: {
            message: reply.message,
            type: reply.type ?? 'server_error',
            param: reply.param ?? null,
            code: reply.code ?? null,
          },
        },
        { 'x-request-id': requestId, ...reply.headers },
      );
      return;
    }

    const body = req.json as { input: string; speed?: number; response_format?: string };
    const seconds =
      Math.max(0.3, body.input.length * (this.options.secondsPerChar ?? 1 / 15)) /
      (body.speed ?? 1);
    const format = body.response_format ?? 'mp3';
    const pcm = sineTone(seconds);
    if (format === 'pcm') sendBytes(res, 200, pcm, 'audio/pcm');
    else sendBytes(res, 200, wavFile(pcm), 'audio/wav');
  }
}

/** A problem the API reports with a 400, or undefined for a request it accepts. */
export interface SpeechRequestProblem {
  message: string;
  param: string | null;
  code: string | null;
}

/** Checks a request body against openai-node 6.x's `SpeechCreateParams` as the API does. */
export function checkSpeechRequest(
  body: Record<string, unknown>,
): SpeechRequestProblem | undefined {
  const unknown = Object.keys(body).find((key) => !(FIELDS as readonly string[]).includes(key));
  if (unknown) {
    return {
      message: `Unrecognized request argument supplied: ${unknown}`,
      param: null,
      code: null,
    };
  }
  for (const field of ['model', 'input', 'voice'] as const) {
    if (body[field] === undefined) {
      return {
        message: `Missing required parameter: '${field}'.`,
        param: field,
        code: 'missing_required_parameter',
      };
    }
  }
  for (const field of ['model', 'input', 'instructions'] as const) {
    if (body[field] !== undefined && typeof body[field] !== 'string') {
      return invalidType(field, 'a string', body[field]);
    }
  }
  const input = body.input as string;
  if (input.length > MAX_SPEECH_INPUT) {
    return {
      message: `Invalid 'input': string too long. Expected a string with maximum length ${MAX_SPEECH_INPUT}, but got a string with length ${input.length} instead.`,
      param: 'input',
      code: 'string_above_max_length',
    };
  }
  const voice = body.voice;
  const customVoice =
    typeof voice === 'object' &&
    voice !== null &&
    typeof (voice as { id?: unknown }).id === 'string' &&
    Object.keys(voice).length === 1;
  if (!customVoice && !(OPENAI_VOICES as readonly unknown[]).includes(voice)) {
    return {
      message: `Invalid value for 'voice': ${JSON.stringify(voice)}. Supported values are: ${OPENAI_VOICES.map((v) => `'${v}'`).join(', ')}, or an object with an 'id'.`,
      param: 'voice',
      code: 'invalid_value',
    };
  }
  if (
    body.response_format !== undefined &&
    !RESPONSE_FORMATS.includes(body.response_format as string)
  ) {
    return invalidValue('response_format', body.response_format, RESPONSE_FORMATS);
  }
  if (
    body.response_format !== undefined &&
    !['wav', 'pcm'].includes(body.response_format as string)
  ) {
    // Not the API's behaviour: it would encode these. The fake only makes wav and pcm.
    return {
      message: `fake speech server: response_format '${String(body.response_format)}' is valid but not produced here; ask for 'wav' or 'pcm'.`,
      param: 'response_format',
      code: null,
    };
  }
  if (body.response_format === undefined) {
    return {
      message:
        "fake speech server: the API's default response_format is 'mp3', which is not produced here; ask for 'wav' or 'pcm'.",
      param: 'response_format',
      code: null,
    };
  }
  if (body.stream_format !== undefined && !STREAM_FORMATS.includes(body.stream_format as string)) {
    return invalidValue('stream_format', body.stream_format, STREAM_FORMATS);
  }
  if (body.stream_format === 'sse' && /^tts-1(-hd)?$/.test(body.model as string)) {
    return {
      message: `stream_format 'sse' is not supported for model '${String(body.model)}'.`,
      param: 'stream_format',
      code: 'invalid_value',
    };
  }
  if (body.stream_format === 'sse') {
    return {
      message:
        "fake speech server: stream_format 'sse' is valid but not produced here; omit it or ask for 'audio'.",
      param: 'stream_format',
      code: null,
    };
  }
  if (body.speed !== undefined) {
    if (typeof body.speed !== 'number') return invalidType('speed', 'a decimal', body.speed);
    if (body.speed < 0.25) {
      return {
        message: `Invalid 'speed': decimal below minimum value. Expected a value >= 0.25, but got ${body.speed} instead.`,
        param: 'speed',
        code: 'decimal_below_min_value',
      };
    }
    if (body.speed > 4) {
      return {
        message: `Invalid 'speed': decimal above maximum value. Expected a value <= 4, but got ${body.speed} instead.`,
        param: 'speed',
        code: 'decimal_above_max_value',
      };
    }
  }
  // Last, the shape as the SDK's own type has it (catches what the worded checks above miss).
  const shape = speechRequestSchema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0]!;
    const param = issue.path.map(String).join('.') || null;
    return {
      message: `Invalid value for '${param ?? 'body'}': ${issue.message}.`,
      param,
      code: issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value',
    };
  }
  return undefined;
}

/**
 * The request body in the shape of openai-node 6.49.0's `SpeechCreateParams`
 * (src/resources/audio/speech.ts), held to it at compile time both ways: an SDK upgrade that
 * changes the wire shape fails typecheck here. Value limits the type cannot state (input
 * length, speed range, known voices) are the worded checks in checkSpeechRequest.
 */
export const speechRequestSchema = z
  .object({
    input: z.string(),
    model: z.string(),
    voice: z.union([z.string(), z.object({ id: z.string() }).strict()]),
    instructions: z.string().optional(),
    response_format: z.enum(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm']).optional(),
    speed: z.number().optional(),
    stream_format: z.enum(['sse', 'audio']).optional(),
  })
  .strict();

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameAsSdk: Same<z.infer<typeof speechRequestSchema>, SpeechCreateParams> = true;
void sameAsSdk;

function invalidType(param: string, expected: string, value: unknown): SpeechRequestProblem {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  return {
    message: `Invalid type for '${param}': expected ${expected}, but got ${got} instead.`,
    param,
    code: 'invalid_type',
  };
}

function invalidValue(param: string, value: unknown, allowed: string[]): SpeechRequestProblem {
  return {
    message: `Invalid value: ${JSON.stringify(value)}. Supported values are: ${allowed.map((v) => `'${v}'`).join(', ')}.`,
    param,
    code: 'invalid_value',
  };
}

/** `sk-abcdefghij` → `sk-ab****ghij`, the way the API shows a wrong key. */
/** A 440 Hz tone as 24 kHz mono signed 16-bit little-endian samples, faded in and out. */
export function sineTone(seconds: number, frequency = 440): Buffer {
  const count = Math.round(seconds * SPEECH_SAMPLE_RATE);
  const fade = Math.min(count / 4, SPEECH_SAMPLE_RATE * 0.02);
  const pcm = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) {
    const envelope = Math.min(1, i / fade, (count - 1 - i) / fade);
    const value = Math.sin((2 * Math.PI * frequency * i) / SPEECH_SAMPLE_RATE) * 0.5 * envelope;
    pcm.writeInt16LE(Math.round(value * 32767), i * 2);
  }
  return pcm;
}

/** Wraps 24 kHz mono 16-bit PCM in a RIFF/WAVE header. */
export function wavFile(pcm: Buffer, sampleRate = SPEECH_SAMPLE_RATE): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + pcm.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([header, pcm]);
}
