/**
 * The registry of node types and the composition root of the graph core: the one list the
 * editor, validator, compiler and worker read, and the graph schema built from it.
 * Browser-safe. Order is the palette's order. Adding a node type: its folder, plus one import
 * and one entry here (the worker finds `<type>/activity.ts` by convention, see activities.ts).
 */
import type { NodeDefinition } from '../engine/graph/define-node';
import { createGraphSchema } from '../engine/graph/schema';
import { characterLoader } from './character-loader/definition';
import { consistencyCheck } from './consistency-check/definition';
import { ffmpegMerge } from './ffmpeg-merge/definition';
import { gptStoryboard } from './gpt-storyboard/definition';
import { imageInput } from './image-input/definition';
import { runwayClip } from './runway-clip/definition';
import { scriptInput } from './script-input/definition';
import { sdLoraFrame } from './sd-lora-frame/definition';
import { voiceOver } from './voice-over/definition';

export const NODE_DEFINITIONS: readonly NodeDefinition[] = [
  scriptInput,
  imageInput,
  characterLoader,
  gptStoryboard,
  sdLoraFrame,
  runwayClip,
  voiceOver,
  ffmpegMerge,
  consistencyCheck,
] as unknown as readonly NodeDefinition[];

/** The graph schema of this build's node types: load, validate, applyValues, prepare. */
export const graphSchema = createGraphSchema({ nodes: NODE_DEFINITIONS });
