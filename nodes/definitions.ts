/**
 * The registry of node types: the one list the editor, validator, compiler and worker read.
 * Browser-safe. Order is the palette's order.
 */
import type { NodeDefinition } from '../engine/graph/define-node';
import { characterLoader } from './character-loader/definition';
import { consistencyCheck } from './consistency-check/definition';
import { ffmpegMerge } from './ffmpeg-merge/definition';
import { gptStoryboard } from './gpt-storyboard/definition';
import { imageInput } from './image-input/definition';
import { runwayClip } from './runway-clip/definition';
import { scriptInput } from './script-input/definition';
import { sdLoraFrame } from './sd-lora-frame/definition';

export const NODE_DEFINITIONS: readonly NodeDefinition[] = [
  scriptInput,
  imageInput,
  characterLoader,
  gptStoryboard,
  sdLoraFrame,
  runwayClip,
  ffmpegMerge,
  consistencyCheck,
] as unknown as readonly NodeDefinition[];

/** Builds a registry, rejecting duplicate ids (a type id is permanent and unique). */
export function createRegistry(
  definitions: readonly NodeDefinition[],
): ReadonlyMap<string, NodeDefinition> {
  const registry = new Map<string, NodeDefinition>();
  for (const definition of definitions) {
    if (registry.has(definition.type)) throw new Error(`duplicate node type "${definition.type}"`);
    registry.set(definition.type, definition);
  }
  return registry;
}

export const NODE_REGISTRY = createRegistry(NODE_DEFINITIONS);

export function getDefinition(type: string): NodeDefinition | undefined {
  return NODE_REGISTRY.get(type);
}
