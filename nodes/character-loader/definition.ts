import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';
import { characterSchema, type Character } from '../../engine/graph/values';

/**
 * The loader's output: the stored character as an edge value (the record's owner, dates and
 * revision stripped), naming its face model when its identity has a face. The activity and the
 * server's resolution both build it here, so they give the same value, and the cache keys of
 * every node below agree whichever of them loaded it.
 */
export function loadedCharacter(
  record: unknown,
  faceModel: string | null,
): { character: Character } {
  const character = characterSchema.parse(record);
  if (faceModel) character.embeddingModel = faceModel;
  return { character };
}

/** Loads a saved character (reference images, LoRA, trigger word) by id. */
export const characterLoader = defineNode({
  type: 'character-loader',
  version: 1,
  title: 'Character',
  category: 'Characters',
  color: '#f472b6',
  description: 'A saved character: reference images, trigger word and LoRA keep it consistent.',
  inputs: {},
  outputs: { character: { type: 'character', label: 'Character' } },
  params: z.object({ characterId: z.string().max(200).default('') }),
  paramUi: { characterId: { widget: 'character', label: 'Character' } },
  runsOn: 'lab-cpu',
  // Its output is the character as stored now, not a function of params alone.
  cacheable: false,
  // But reading it is no work: the server loads a character whose identity is already
  // computed before the run starts, so an unchanged graph below it comes whole from the cache.
  // An empty or unknown id, or an identity still to compute, is left to the activity.
  resolveOnServer: async ({ params, reads }) => {
    const id = params.characterId.trim();
    const found = id ? await reads.character(id) : undefined;
    return found && loadedCharacter(found.character, found.faceModel);
  },
  // Room for embedding a character saved before identities existed (face detection per image).
  execution: { startToCloseSec: 300, heartbeatSec: 10 },
  check: (params) =>
    params.characterId === ''
      ? [{ param: 'characterId', message: 'no character chosen: pick one in the inspector' }]
      : [],
});
