/**
 * The real voice-over provider: OpenAI text-to-speech (`POST /v1/audio/speech`) through the
 * openai SDK v6, one request per line, answered as WAV. Worker-only.
 */
import { writeFile } from 'node:fs/promises';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { LabError } from '../../../engine/errors';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import {
  bodyExcerpt,
  providerScrub,
  scrubError,
  type Scrub,
} from '../../../engine/providers/scrub';
import {
  isFinalQuotaError,
  withOpenAIAttempts,
  type OpenAIAttemptPolicy,
} from '../../../engine/providers/openai-attempts';

export interface OpenAISpeechConfig {
  apiKey: string;
  /** e.g. `http://127.0.0.1:PORT/v1` for a local OpenAI-compatible server. */
  baseURL?: string;
}

export interface SpeakOpenAIArgs {
  /** One line; at most MAX_INPUT_CHARS characters are sent (longer lines are cut at a word). */
  text: string;
  model: string;
  voice: string;
  /** 0.25–4, as the API accepts. */
  speed: number;
  /** A language tag (`en`, `de-ch`); sent as an instruction to models that take instructions. */
  language: string;
  /** Where the WAV goes. */
  output: string;
  config: OpenAISpeechConfig;
  signal: AbortSignal;
}

/** The API's limit on `input`. */
export const MAX_INPUT_CHARS = 4096;
/**
 * Per line: three attempts of at most 60 s each. Our own loop rather than the SDK's retries,
 * so an exhausted quota is not retried (engine/providers/openai-attempts.ts).
 */
const ATTEMPTS: OpenAIAttemptPolicy = {
  maxAttempts: 3,
  attemptTimeoutMs: 60_000,
  maxBackoffMs: 4_000,
};

/**
 * Speaks `text` into a WAV file at `output`. 4xx answers other than 408/409/429, and a 429 for
 * an exhausted quota, fail for good (NonRetryableNodeError naming the fix); 408/409/429/5xx and
 * connection errors get three attempts, then a retryable LabError. No message ever carries the
 * key.
 */
export async function speakOpenAI(args: SpeakOpenAIArgs): Promise<void> {
  const { config, signal } = args;
  if (!config.apiKey) {
    throw new NonRetryableNodeError(
      'openai_not_configured: no OpenAI API key; set OPENAI_API_KEY or choose the local provider',
      'openai_not_configured',
    );
  }
  const client = new OpenAI({
    apiKey: config.apiKey,
    ...(config.baseURL ? { baseURL: config.baseURL } : {}),
    maxRetries: 0,
  });
  const instructions = languageInstruction(args.model, args.language);
  let audio: Buffer;
  try {
    const response = await withOpenAIAttempts(ATTEMPTS, signal, (options) =>
      client.audio.speech.create(
        {
          model: args.model,
          voice: args.voice,
          input: clipInput(args.text),
          speed: args.speed,
          response_format: 'wav',
          ...(instructions ? { instructions } : {}),
        },
        options,
      ),
    );
    audio = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    // Scrubbed before it leaves the provider: some OpenAI-compatible servers echo the key or
    // the Authorization header in their error bodies, and this error is stored and logged.
    const scrub = providerScrub('openai', config);
    throw scrubError(translateError(error, signal, scrub), scrub);
  }
  if (audio.length < 44 || audio.toString('latin1', 8, 12) !== 'WAVE') {
    throw new LabError(
      'openai_invalid_audio',
      `openai_invalid_audio: OpenAI answered ${audio.length} bytes that are not a WAV file; the run will retry`,
      502,
    );
  }
  await writeFile(args.output, audio);
}

/**
 * The `instructions` that carry the language, or undefined. The API has no language field: it
 * reads the language from the text, and `tts-1`/`tts-1-hd` take no instructions at all
 * (openai-node 6.x, `SpeechCreateParams.instructions`), so those get none.
 */
export function languageInstruction(model: string, language: string): string | undefined {
  if (/^tts-1(-hd)?($|-)/.test(model) || !language) return undefined;
  return `Speak in ${languageName(language)}.`;
}

/** `en-us` → "American English"; a tag the runtime cannot name stays as it is. */
function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** The line cut to the API's limit, at the last space before it when there is one. */
export function clipInput(text: string): string {
  if (text.length <= MAX_INPUT_CHARS) return text;
  const cut = text.slice(0, MAX_INPUT_CHARS);
  const space = cut.lastIndexOf(' ');
  return space > MAX_INPUT_CHARS / 2 ? cut.slice(0, space) : cut;
}

/** Turns SDK errors into errors a node can act on: fail for good, or retry later. */
function translateError(error: unknown, signal: AbortSignal, scrubText: Scrub): unknown {
  if (error instanceof NonRetryableNodeError || error instanceof LabError) return error;
  if (error instanceof APIUserAbortError || signal.aborted) return signal.reason ?? error;
  // An APIError's message may be the whole upstream body: only a short scrubbed excerpt.
  const scrub = (text: string) => bodyExcerpt(text, scrubText);
  if (isFinalQuotaError(error)) {
    return new NonRetryableNodeError(
      `openai_quota_exceeded: OpenAI refused text-to-speech because the account cannot pay for it ` +
        `(${error.code ?? error.type}); add credit or raise the limit at ` +
        'https://platform.openai.com/settings/organization/billing, or choose the local voice',
      'openai_quota_exceeded',
    );
  }
  if (error instanceof APIConnectionError) {
    return new LabError(
      'openai_unreachable',
      `openai_unreachable: could not reach OpenAI text-to-speech (${scrub(error.message)}); ` +
        'check OPENAI_BASE_URL and the network, the run will retry',
      503,
    );
  }
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    if (status === 408 || status === 409 || status === 429 || status >= 500 || status === 0) {
      const code = status === 429 ? 'openai_rate_limited' : 'openai_unavailable';
      return new LabError(
        code,
        `${code}: OpenAI text-to-speech answered ${scrub(error.message)} after retries; the run will retry later`,
        503,
      );
    }
    if (status === 401) {
      // The API's 401 message repeats part of the key: leave it out.
      return new NonRetryableNodeError(
        'openai_auth: OpenAI rejected the API key (401); check OPENAI_API_KEY in the worker environment',
        'openai_auth',
      );
    }
    const [code, hint] =
      status === 403
        ? ['openai_forbidden', 'check that the key may use this model']
        : status === 404
          ? ['openai_model_not_found', 'check the model name in the node params']
          : ['openai_bad_request', 'check the model, voice and speed in the node params'];
    return new NonRetryableNodeError(
      `${code}: OpenAI text-to-speech rejected the request (${scrub(error.message)}); ${hint}`,
      code,
    );
  }
  return error;
}
