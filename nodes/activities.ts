/**
 * The worker's registry: node type → its activity. Worker-only (imports providers, ffmpeg,
 * SDKs); the editor and the workflow never import it. Node types evaluated in the workflow
 * (script-input, image-input) have no activity.
 */
import type { NodeActivity } from './activity-types';
import { characterLoaderActivity } from './character-loader/activity';
import { consistencyCheckActivity } from './consistency-check/activity';
import { ffmpegMergeActivity } from './ffmpeg-merge/activity';
import { gptStoryboardActivity } from './gpt-storyboard/activity';
import { runwayClipActivity } from './runway-clip/activity';
import { sdLoraFrameActivity } from './sd-lora-frame/activity';

// Each activity is typed with its own node's params; the compiler has already parsed params
// against that node's schema, so widening them to the common type here is sound.
export const NODE_ACTIVITIES: Readonly<Record<string, NodeActivity>> = {
  'character-loader': characterLoaderActivity,
  'gpt-storyboard': gptStoryboardActivity,
  'sd-lora-frame': sdLoraFrameActivity,
  'runway-clip': runwayClipActivity,
  'ffmpeg-merge': ffmpegMergeActivity,
  'consistency-check': consistencyCheckActivity,
} as unknown as Readonly<Record<string, NodeActivity>>;
