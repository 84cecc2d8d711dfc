/**
 * The real storyboard provider: OpenAI Chat Completions with a strict JSON schema (structured
 * outputs), mapped onto the graph's storyboard value. Worker-only.
 */
// HTTP errors come from the package's entry point, like the SDK's README shows. The two
// finish-reason errors are not re-exported there; `openai/core/error` is their public home in
// 6.x (package.json exports `./core/*`; `openai/error` is the deprecated alias, CHANGELOG
// 5.0.0: "move misc public files to new `core/` directory, deprecate old paths").
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';
import { ContentFilterFinishReasonError, LengthFinishReasonError } from 'openai/core/error';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { LabError } from '../../../engine/errors';
import {
  CAMERA_MOVES,
  storyboardSchema,
  type Camera,
  type Character,
  type Storyboard,
} from '../../../engine/graph/values';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import {
  bodyExcerpt,
  providerScrub,
  scrubError,
  type Scrub,
} from '../../../engine/providers/scrub';
import {
  attemptsWithin,
  isFinalQuotaError,
  withOpenAIAttempts,
  type OpenAIAttemptPolicy,
} from '../../../engine/providers/openai-attempts';

export interface StoryboardParams {
  model: string;
  /** The most shots to keep; the model is asked for at most this many. */
  shots: number;
  /** The target length of one shot; the model may vary it a little per shot. */
  shotDurationSec: number;
  /** Visual style appended to every image prompt. */
  style: string;
}

export interface OpenAIConfig {
  apiKey: string;
  /** e.g. `http://127.0.0.1:PORT/v1` for a local OpenAI-compatible server. */
  baseURL?: string;
}

export interface GenerateStoryboardArgs {
  script: string;
  character?: Character;
  params: StoryboardParams;
  config: OpenAIConfig;
  signal: AbortSignal;
  /** Attempts and per-attempt timeout; default: fits the node's 180 s startToClose. */
  attempts?: OpenAIAttemptPolicy;
}

/**
 * The current default model: an alias OpenAI keeps pointing at a live snapshot (openai-node
 * 6.49 `ChatModel`), not a dated snapshot that is shut down under saved graphs.
 */
export const DEFAULT_STORYBOARD_MODEL = 'gpt-5.4-mini';

/** The gpt-storyboard node's startToClose (definition.ts execution). */
export const STORYBOARD_START_TO_CLOSE_SEC = 180;

/** Shortest and longest shot we hand downstream (Runway clips last 2–10 s). */
export const SHOT_DURATION_RANGE = { min: 1, max: 10 } as const;

/**
 * The schema the model must fill. Strict structured outputs need every property present, so
 * "optional" fields are nullable. Camera is a free string mapped onto CAMERA_MOVES afterwards,
 * because OpenAI-compatible servers without strict mode write "dolly in" as readily as "push-in".
 */
export const storyboardResponseSchema = z.object({
  title: z.string().describe('A short title for the whole piece'),
  shots: z.array(
    z.object({
      description: z.string().describe('What happens in the shot, one or two sentences'),
      prompt: z
        .string()
        .describe('A text-to-image prompt for the key frame: subject, action, setting, lighting'),
      negativePrompt: z.string().nullable().describe('What the image must not contain, or null'),
      camera: z.string().describe(`The camera move, one of: ${CAMERA_MOVES.join(', ')}`),
      durationSec: z.number().describe('Shot length in seconds'),
      dialogue: z.string().nullable().describe('Spoken line or caption, or null'),
      // Required by the strict schema the model sees; optional here only so answers recorded
      // before it existed still parse. The frames node's consistency gate skips absent shots.
      characterPresent: z
        .boolean()
        .nullable()
        .optional()
        .describe('Whether the main character is visible in this shot (null when there is none)'),
    }),
  ),
});
type StoryboardResponse = z.infer<typeof storyboardResponseSchema>;

const DEFAULT_NEGATIVE_PROMPT = 'blurry, lowres, deformed, extra fingers, watermark, text';

/**
 * Asks an OpenAI model for a storyboard of the script. Refusals, truncated or filtered answers,
 * 4xx responses and an exhausted quota fail for good (NonRetryableNodeError); 429/5xx,
 * timeouts and connection errors get up to three attempts that together fit the node's
 * startToClose, then a retryable LabError.
 */
export async function generateStoryboardOpenAI(args: GenerateStoryboardArgs): Promise<Storyboard> {
  const { script, character, params, config, signal } = args;
  if (!config.apiKey) {
    throw new NonRetryableNodeError(
      'openai_not_configured: no OpenAI API key; set OPENAI_API_KEY or choose the local provider',
      'openai_not_configured',
    );
  }
  if (!script.trim()) {
    throw new NonRetryableNodeError(
      'storyboard_empty_script: the script is empty; write a script or connect a text node',
      'storyboard_empty_script',
    );
  }
  const client = new OpenAI({
    apiKey: config.apiKey,
    ...(config.baseURL ? { baseURL: config.baseURL } : {}),
    maxRetries: 0,
  });
  const policy = args.attempts ?? attemptsWithin(STORYBOARD_START_TO_CLOSE_SEC);

  let response: StoryboardResponse;
  try {
    const completion = await withOpenAIAttempts(policy, signal, (options) =>
      client.chat.completions.parse(
        {
          model: params.model,
          messages: [
            { role: 'system', content: systemPrompt(params) },
            { role: 'user', content: userPrompt(script, character, params) },
          ],
          response_format: zodResponseFormat(storyboardResponseSchema, 'storyboard'),
        },
        options,
      ),
    );
    const message = completion.choices[0]?.message;
    if (!message) {
      throw new LabError(
        'openai_empty_response',
        'openai_empty_response: OpenAI answered without a choice; the run will retry',
        502,
      );
    }
    if (message.refusal) {
      throw new NonRetryableNodeError(
        `openai_refused: the model declined to write this storyboard ("${message.refusal}"); ` +
          'rephrase the script or use the local provider',
        'openai_refused',
      );
    }
    if (!message.parsed) {
      throw new LabError(
        'openai_invalid_output',
        'openai_invalid_output: the model returned no storyboard JSON; the run will retry',
        502,
      );
    }
    response = message.parsed;
  } catch (error) {
    // Scrubbed before it leaves the provider: some OpenAI-compatible servers echo the key or
    // the Authorization header in their error bodies, and this error is stored and logged.
    const scrub = providerScrub('openai', config);
    throw scrubError(translateError(error, signal, policy, scrub), scrub);
  }
  return toStoryboard(response, params);
}

/**
 * Maps the model's answer onto the storyboard value: shots re-indexed from 0, at most
 * `params.shots` of them, durations clamped, camera words mapped onto CAMERA_MOVES and the
 * style appended to every prompt.
 */
export function toStoryboard(response: StoryboardResponse, params: StoryboardParams): Storyboard {
  const shots = response.shots.slice(0, params.shots).map((shot, index) => {
    const prompt = shot.prompt.trim() || shot.description.trim();
    const dialogue = shot.dialogue?.trim();
    return {
      index,
      description: shot.description.trim() || prompt,
      prompt: withStyle(prompt, params.style),
      negativePrompt: shot.negativePrompt?.trim() || DEFAULT_NEGATIVE_PROMPT,
      camera: toCameraMove(shot.camera),
      durationSec: clampDuration(shot.durationSec, params.shotDurationSec),
      ...(dialogue ? { dialogue } : {}),
      ...(typeof shot.characterPresent === 'boolean'
        ? { characterPresent: shot.characterPresent }
        : {}),
    };
  });
  if (shots.length === 0) {
    throw new LabError(
      'openai_empty_storyboard',
      'openai_empty_storyboard: the model returned a storyboard without shots; the run will retry',
      502,
    );
  }
  const parsed = storyboardSchema.safeParse({
    title: response.title.trim() || 'Untitled',
    shots,
  });
  if (!parsed.success) {
    throw new NonRetryableNodeError(
      `openai_invalid_output: the storyboard does not fit the storyboard schema (${parsed.error.message}); ` +
        'try another model',
      'openai_invalid_output',
    );
  }
  return parsed.data;
}

/** Maps free camera wording ("dolly in", "Pan Left", "zoom out") onto a supported move. */
export function toCameraMove(text: string): Camera {
  const normalized = text
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  if ((CAMERA_MOVES as readonly string[]).includes(normalized)) return normalized as Camera;
  const rules: [RegExp, Camera][] = [
    [/(push|dolly|zoom|track|truck|move)-?(in|forward)/, 'push-in'],
    [/(pull|dolly|zoom|track|truck|move)-?(out|back)/, 'pull-out'],
    [/pan-?left/, 'pan-left'],
    [/pan-?right/, 'pan-right'],
    [/(tilt|crane|pedestal|boom)-?up/, 'tilt-up'],
    [/(tilt|crane|pedestal|boom)-?down/, 'tilt-down'],
    [/pan/, 'pan-right'],
  ];
  return rules.find(([pattern]) => pattern.test(normalized))?.[1] ?? 'static';
}

function clampDuration(value: number, fallback: number): number {
  const seconds = Number.isFinite(value) && value > 0 ? value : fallback;
  const clamped = Math.min(SHOT_DURATION_RANGE.max, Math.max(SHOT_DURATION_RANGE.min, seconds));
  return Math.round(clamped * 10) / 10;
}

function withStyle(prompt: string, style: string): string {
  const trimmed = style.trim();
  if (!trimmed || prompt.toLowerCase().includes(trimmed.toLowerCase())) return prompt;
  return `${prompt}, ${trimmed}`;
}

function systemPrompt(params: StoryboardParams): string {
  return [
    'You are a storyboard artist for short AI-generated videos.',
    `Split the user's script into at most ${params.shots} shots, in story order.`,
    `Each shot lasts about ${params.shotDurationSec} seconds (between ${SHOT_DURATION_RANGE.min} and ${SHOT_DURATION_RANGE.max}).`,
    'For each shot write: a plain description; a self-contained text-to-image prompt for its key',
    'frame (subject, action, setting, lighting, framing) that describes the character by looks,',
    'never by name alone; a negative prompt or null; one camera move from the allowed list;',
    'and the spoken line or caption, or null.',
  ].join(' ');
}

function userPrompt(
  script: string,
  character: Character | undefined,
  params: StoryboardParams,
): string {
  const parts = [`Script:\n${script.trim()}`];
  if (character) {
    parts.push(
      `Main character: ${character.name}. ${character.description}`.trim() +
        '\nKeep this character recognisable and consistent in every shot where they appear.',
    );
  }
  if (params.style.trim()) parts.push(`Visual style: ${params.style.trim()}`);
  return parts.join('\n\n');
}

/** Turns SDK errors into errors a node can act on: fail for good, or retry later. */
function translateError(
  error: unknown,
  signal: AbortSignal,
  policy: OpenAIAttemptPolicy,
  scrub: Scrub,
): unknown {
  // An APIError's message may be the whole upstream body: only a short excerpt is kept.
  const said = (e: Error) => bodyExcerpt(e.message, scrub);
  if (error instanceof NonRetryableNodeError || error instanceof LabError) return error;
  if (error instanceof APIUserAbortError || signal.aborted) return signal.reason ?? error;
  if (isFinalQuotaError(error)) {
    return new NonRetryableNodeError(
      `openai_quota_exceeded: OpenAI refused the request because the account cannot pay for it ` +
        `(${error.code ?? error.type}); add credit or raise the limit at ` +
        'https://platform.openai.com/settings/organization/billing, then run again',
      'openai_quota_exceeded',
    );
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new LabError(
      'openai_timeout',
      `openai_timeout: OpenAI did not answer within ${Math.round(policy.attemptTimeoutMs / 1000)} s, ` +
        `${policy.maxAttempts} times; the run will retry later (fewer shots answer faster)`,
      503,
    );
  }
  if (error instanceof LengthFinishReasonError) {
    return new NonRetryableNodeError(
      "openai_output_truncated: the storyboard did not fit in the model's output limit; " +
        'ask for fewer shots or shorten the script',
      'openai_output_truncated',
    );
  }
  if (error instanceof ContentFilterFinishReasonError) {
    return new NonRetryableNodeError(
      "openai_content_filtered: OpenAI's content filter stopped the storyboard; " +
        'rephrase the script or use the local provider',
      'openai_content_filtered',
    );
  }
  if (error instanceof APIConnectionError) {
    return new LabError(
      'openai_unreachable',
      `openai_unreachable: could not reach OpenAI (${said(error)}); check OPENAI_BASE_URL and the network, the run will retry`,
      503,
    );
  }
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new LabError(
        status === 429 ? 'openai_rate_limited' : 'openai_unavailable',
        `${status === 429 ? 'openai_rate_limited' : 'openai_unavailable'}: OpenAI answered ${said(error)} ` +
          'after retries; the run will retry later',
        503,
      );
    }
    const [code, hint] =
      status === 401
        ? ['openai_auth', 'check OPENAI_API_KEY']
        : status === 403
          ? ['openai_forbidden', 'check that the key may use this model']
          : status === 404
            ? ['openai_model_not_found', 'check the model name in the node params']
            : ['openai_bad_request', 'check the model name and params'];
    return new NonRetryableNodeError(
      `${code}: OpenAI rejected the request (${said(error)}); ${hint}`,
      code,
    );
  }
  if (error instanceof z.ZodError || error instanceof SyntaxError) {
    return new LabError(
      'openai_invalid_output',
      `openai_invalid_output: the model's answer did not match the storyboard schema (${said(error)}); the run will retry`,
      502,
    );
  }
  return error;
}
