/**
 * What each Runway image-to-video model accepts, so an impossible combination is a validation
 * error (naming the allowed values) before any paid call, and the client sends only fields the
 * model's schema has. Browser-safe: the definition, the validator, the client and the README's
 * provider table read this one table.
 *
 * Source: the per-model request types of @runwayml/sdk 4.20.1
 * (`resources/image-to-video.d.ts`: `ImageToVideoCreateParams.Gen4Turbo`, `.Gen4_5`, `.Veo3_1`,
 * `.Veo3_1Fast`) and docs.dev.runwayml.com (`/assets/inputs`). `gen3a_turbo` and `veo3` are not
 * offered: both left the image_to_video union (sdk-node commit 72f96f2 for gen3a_turbo; 4.20.1
 * has no `veo3` member), so Runway would refuse them.
 *
 * Reference images: none of these four takes any. Their `promptImage` array accepts only
 * positioned keyframes (`position: 'first'`, Veo also `'last'`). The models whose arrays take
 * reference images (seedance2*, wan3*: "omit position for reference images") say "the two modes
 * cannot be mixed", so they cannot take our gated frame as the first frame and references
 * together. The clip therefore keeps our frame as the first frame (the character's identity
 * comes in through that frame), and `referenceImages` is false for every model here.
 */

/** A duration rule: integers in a range, or a fixed set. */
export type DurationRule = { min: number; max: number } | { values: readonly number[] };

export interface RunwayVideoModel {
  id: string;
  title: string;
  ratios: readonly string[];
  durations: DurationRule;
  /** The model's schema has a `seed` field. */
  seed: boolean;
  /** The model takes character reference images together with our first frame. */
  referenceImages: boolean;
  /** Runway's published price, credits per output second (1 credit = US$0.01). */
  creditsPerSecond: string;
}

const GEN4_RATIOS = ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'];
const VEO_RATIOS = ['1280:720', '720:1280', '1080:1920', '1920:1080'];

/** The image-to-video models the clip node offers, by id (first = default). */
export const RUNWAY_VIDEO_MODELS = {
  gen4_turbo: {
    id: 'gen4_turbo',
    title: 'Gen-4 Turbo',
    ratios: GEN4_RATIOS,
    // The SDK type says only `duration?: number`; the docs give integers 2–10 like gen4.5.
    durations: { min: 2, max: 10 },
    seed: true,
    referenceImages: false,
    creditsPerSecond: '5',
  },
  'gen4.5': {
    id: 'gen4.5',
    title: 'Gen-4.5',
    ratios: GEN4_RATIOS,
    // "Must be an integer from 2 to 10" (Gen4_5.duration).
    durations: { min: 2, max: 10 },
    seed: true,
    referenceImages: false,
    creditsPerSecond: '12',
  },
  'veo3.1': {
    id: 'veo3.1',
    title: 'Veo 3.1',
    ratios: VEO_RATIOS,
    durations: { values: [4, 6, 8] },
    seed: true,
    referenceImages: false,
    creditsPerSecond: '20–40',
  },
  'veo3.1_fast': {
    id: 'veo3.1_fast',
    title: 'Veo 3.1 Fast',
    ratios: VEO_RATIOS,
    durations: { values: [4, 6, 8] },
    seed: true,
    referenceImages: false,
    creditsPerSecond: '10–15',
  },
} as const satisfies Record<string, RunwayVideoModel>;

export type RunwayVideoModelId = keyof typeof RUNWAY_VIDEO_MODELS;

export const RUNWAY_VIDEO_MODEL_IDS = Object.keys(RUNWAY_VIDEO_MODELS) as [
  RunwayVideoModelId,
  ...RunwayVideoModelId[],
];

/** Every ratio some model takes, in a stable order (the param's enum; `check` narrows it per model). */
export const RUNWAY_VIDEO_RATIOS = [...new Set([...GEN4_RATIOS, ...VEO_RATIOS])] as [
  string,
  ...string[],
];

/** Runway's promptText limit, in UTF-16 code units (the SDK types: "measured in UTF-16 code units"). */
export const RUNWAY_PROMPT_LIMIT = 1000;

export function runwayVideoModel(id: string): RunwayVideoModel | undefined {
  return Object.hasOwn(RUNWAY_VIDEO_MODELS, id)
    ? RUNWAY_VIDEO_MODELS[id as RunwayVideoModelId]
    : undefined;
}

export function allowsDuration(rule: DurationRule, seconds: number): boolean {
  if ('values' in rule) return rule.values.includes(seconds);
  return Number.isInteger(seconds) && seconds >= rule.min && seconds <= rule.max;
}

export function describeDurations(rule: DurationRule): string {
  return 'values' in rule
    ? `${rule.values.join(', ')} s`
    : `whole seconds from ${rule.min} to ${rule.max}`;
}

/** A shot's length fitted to what the model makes: the nearest allowed value. */
export function fitDuration(rule: DurationRule, seconds: number): number {
  if ('values' in rule) {
    return rule.values.reduce((best, value) =>
      Math.abs(value - seconds) < Math.abs(best - seconds) ? value : best,
    );
  }
  return Math.min(rule.max, Math.max(rule.min, Math.round(seconds)));
}

/**
 * Cuts text to at most `limit` UTF-16 code units without splitting a surrogate pair (half an
 * emoji is an invalid string that Runway rejects). Code units, not code points, because that
 * is how Runway measures; a cut by code units also stays within a code-point limit.
 */
export function truncateUtf16(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit;
  const last = text.charCodeAt(end - 1);
  // A high surrogate as the last kept unit means its low half would be cut off.
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/** The params the capability check reads (the runway-clip node's, by name). */
export interface RunwayClipChoice {
  provider: string;
  model: string;
  ratio: string;
  /** Absent: each shot's own length, fitted to the model. */
  duration?: number | undefined;
}

/**
 * The combinations the chosen model cannot make, each naming the allowed values. Skipped for
 * the local provider, which ignores model, ratio and duration.
 */
export function checkRunwayClip(params: RunwayClipChoice): { param: string; message: string }[] {
  if (params.provider === 'local') return [];
  const model = runwayVideoModel(params.model);
  if (!model) {
    return [
      {
        param: 'model',
        message: `Runway has no image-to-video model "${params.model}": choose one of ${RUNWAY_VIDEO_MODEL_IDS.join(', ')}`,
      },
    ];
  }
  const problems: { param: string; message: string }[] = [];
  if (!model.ratios.includes(params.ratio)) {
    problems.push({
      param: 'ratio',
      message: `${model.title} (${model.id}) cannot make ${params.ratio}: choose one of ${model.ratios.join(', ')}`,
    });
  }
  if (params.duration !== undefined && !allowsDuration(model.durations, params.duration)) {
    problems.push({
      param: 'duration',
      message: `${model.title} (${model.id}) cannot make ${params.duration} s clips: choose ${describeDurations(model.durations)}, or leave it empty to follow each shot`,
    });
  }
  return problems;
}
