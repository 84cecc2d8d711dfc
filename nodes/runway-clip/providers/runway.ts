/**
 * Clips from Runway image-to-video over its REST API (`POST /v1/image_to_video`, then the
 * shared task lifecycle in runway-api.ts: resumable, never paying twice). The request carries
 * only what the chosen model's schema has (@runwayml/sdk 4.20.1, see ../models.ts): its own
 * ratios and durations, a seed only where the model takes one.
 */
import type { Camera, Shot } from '../../../engine/graph/values';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import {
  RUNWAY_PROMPT_LIMIT,
  allowsDuration,
  describeDurations,
  fitDuration,
  runwayVideoModel,
  truncateUtf16,
  type RunwayVideoModel,
} from '../models';
import { imageDataUri, runRunwayTask, type RunwayTaskArgs } from './runway-api';

export {
  MAX_DATA_URI_BYTES,
  RUNWAY_API_VERSION,
  type RunwayCheckpoint,
  type RunwayConfig,
} from './runway-api';

export interface RunwayClipParams {
  model: string;
  ratio: string;
  seed: number;
  /** Seconds per clip; absent follows the shot's length, fitted to the model. */
  duration?: number | undefined;
}

export interface RenderClipArgs extends RunwayTaskArgs {
  image: Buffer;
  imageMime: string;
  shot: Shot;
  params: RunwayClipParams;
}

const CAMERA_TEXT: Record<Camera, string> = {
  static: 'static camera, subtle natural motion',
  'push-in': 'slow dolly-in towards the subject',
  'pull-out': 'slow dolly-out away from the subject',
  'pan-left': 'camera pans slowly to the left',
  'pan-right': 'camera pans slowly to the right',
  'tilt-up': 'camera tilts slowly upwards',
  'tilt-down': 'camera tilts slowly downwards',
};

/**
 * Animates one frame into a clip and returns the MP4 bytes. Resumes the task of an earlier
 * attempt when there is one; cancels the task on Runway when the node is cancelled.
 */
export async function renderClipRunway(args: RenderClipArgs): Promise<Buffer> {
  return runRunwayTask({
    ...args,
    path: '/v1/image_to_video',
    body: buildRequest(args),
    output: {
      what: 'an MP4',
      isValid: (bytes) => bytes.length >= 12 && bytes.subarray(4, 8).toString('latin1') === 'ftyp',
    },
  });
}

/**
 * The image_to_video body for the model: our frame as the first frame (a data URI: the
 * server never hands out URLs to user data), the prompt with the camera move, a duration the
 * model makes, a seed where its schema has one. A combination the model cannot make fails
 * here, before the paid call, even when a graph bypassed validation.
 */
export function buildRequest(
  args: Pick<RenderClipArgs, 'image' | 'imageMime' | 'shot' | 'params'>,
) {
  const { image, imageMime, shot, params } = args;
  const model = requireModel(params);
  const promptImage = imageDataUri(image, imageMime, 'the frame');
  return {
    model: model.id,
    promptImage,
    promptText: promptText(shot),
    ratio: params.ratio,
    duration: clipDuration(model.id, params.duration ?? shot.durationSec),
    ...(model.seed ? { seed: params.seed } : {}),
  };
}

function requireModel(params: RunwayClipParams): RunwayVideoModel {
  const model = runwayVideoModel(params.model);
  const fail = (message: string) =>
    new NonRetryableNodeError(`runway_bad_params: ${message}`, 'runway_bad_params');
  if (!model) throw fail(`Runway has no image-to-video model "${params.model}"`);
  if (!model.ratios.includes(params.ratio)) {
    throw fail(`${model.id} cannot make ${params.ratio}: choose one of ${model.ratios.join(', ')}`);
  }
  if (params.duration !== undefined && !allowsDuration(model.durations, params.duration)) {
    throw fail(
      `${model.id} cannot make ${params.duration} s clips: choose ${describeDurations(model.durations)}`,
    );
  }
  return model;
}

/** The shot duration fitted to what the model can make (nearest allowed value). */
export function clipDuration(model: string, seconds: number): number {
  const known = runwayVideoModel(model);
  if (!known) throw new Error(`unknown Runway model "${model}"`);
  return fitDuration(known.durations, seconds);
}

function promptText(shot: Shot): string {
  return truncateUtf16(`${shot.prompt.trim()}. ${CAMERA_TEXT[shot.camera]}`, RUNWAY_PROMPT_LIMIT);
}
