/**
 * Loads a saved character from the document store. Not cacheable: its output is the record
 * as stored now, so an edited character flows into the next run. It also makes sure the
 * character's face identity is computed (characters saved before identities existed are
 * embedded here, once), so the frames downstream are checked against it without waiting.
 * Once that is done, the server loads the character itself before a run starts
 * (`resolveOnServer` in definition.ts), and this activity runs only when it could not.
 */
import type { z } from 'zod';
import { characterSchema } from '../../engine/graph/values';
import { NonRetryableNodeError, type NodeActivity } from '../../engine/worker/node-api';
import { loadedCharacter, type characterLoader } from './definition';

type Params = z.infer<typeof characterLoader.params>;

/** Outputs `{ character }`; an unknown or empty id is a non-retryable `character_not_found`. */
export const activity: NodeActivity<Params> = async ({ params, ctx }) => {
  const id = params.characterId.trim();
  if (!id) {
    throw new NonRetryableNodeError(
      "no character chosen: pick one in the character node's inspector",
      'character_not_found',
    );
  }
  const record = await ctx.characters.get(id);
  if (!record) {
    throw new NonRetryableNodeError(
      `character "${id}" does not exist (it may have been deleted): pick another character in the node's inspector`,
      'character_not_found',
    );
  }
  // The record also carries owner, dates and revision; the edge value is the Character alone.
  const character = characterSchema.parse(record);
  ctx.progress(0.2, 'reading the face identity');
  let faceModel: string | null = null;
  try {
    const identity = await ctx.identity(character);
    if (identity) {
      faceModel = identity.model;
      ctx.progress(1, `loaded · identity v${identity.version}, threshold ${identity.threshold}`);
    } else {
      ctx.log(
        `no reference image of ${character.name} shows exactly one face: nothing to check frames against`,
      );
      ctx.progress(1, 'loaded · no face in the references');
    }
  } catch (error) {
    // Loading never depends on the face model: a consistency check downstream asks again and
    // fails there, with this same error, only when a face is actually needed.
    ctx.log(`face identity of ${character.name} not computed: ${String(error)}`);
    ctx.progress(1, 'loaded');
  }
  // The same builder as the server's resolution (definition.ts), so both give one value.
  return loadedCharacter(record, faceModel);
};
