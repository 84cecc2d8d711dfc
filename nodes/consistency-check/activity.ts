/**
 * Scores one frame (fan-out item `ctx.index`) against the character's identity: the distance of
 * the frame's most prominent face to the identity's mean descriptor, judged against the
 * character's calibrated threshold (or the node's own, when it sets one). It is the same
 * identity and the same scoring the frames node's gate uses (score.ts), so a frame the gate kept
 * never fails this check with default settings. A frame without a face scores -1 (its own
 * state, not a failure).
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { FaceEmbedder } from '../../engine/faces/face-embedder';
import { faceApiEmbedder } from '../../engine/faces/face-thread';
import type { Character } from '../../engine/graph/values';
import { itemAt, localFileOf, optionalCharacter, requireArtifactList } from '../activity-inputs';
import {
  NonRetryableNodeError,
  type NodeActivity,
  type NodeContext,
} from '../../engine/worker/node-api';
import type { consistencyCheck } from './definition';
import { scoreImage, type ScoringIdentity } from './score';

type Params = z.infer<typeof consistencyCheck.params>;

/** The score of a frame in which no face was found. */
export const NO_FACE_SCORE = -1;

export interface ConsistencyCheckDeps {
  embedderFor(ctx: NodeContext): FaceEmbedder;
  /** The character's identity (mean descriptor, calibrated threshold), or null without a face. */
  identityFor(ctx: NodeContext, character: Character): Promise<ScoringIdentity | null>;
}

/** Builds the activity around an embedder and an identity source (tests inject both). */
export function createConsistencyCheckActivity(deps: ConsistencyCheckDeps): NodeActivity<Params> {
  return async ({ params, inputs, ctx }) => {
    const frames = requireArtifactList(inputs.frames, 'frames');
    const frame = itemAt(frames, ctx.index, 'the frames list');
    const character = optionalCharacter(inputs.character);
    if (!character) {
      throw new NonRetryableNodeError(
        'input "character" is missing: connect a character node to the consistency check',
        'invalid_input',
      );
    }
    if (character.referenceImages.length === 0) {
      throw new NonRetryableNodeError(
        `consistency_no_references: ${character.name} has no reference images; add a clear photo of the face to the character`,
        'consistency_no_references',
      );
    }
    const label = `frame ${(ctx.index ?? 0) + 1}`;

    ctx.progress(0.05, `reading ${character.name}'s identity`);
    const identity = await deps.identityFor(ctx, character);
    if (!identity) {
      throw new NonRetryableNodeError(
        `consistency_no_reference_face: none of ${character.name}'s ${character.referenceImages.length} reference image(s) ` +
          'shows exactly one face that can be detected; add a clear, front-facing photo',
        'consistency_no_reference_face',
      );
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;

    ctx.progress(0.5, `${label}: finding the face`);
    const bytes = await readFile(await localFileOf(ctx, frame, label));
    const score = await scoreImage(bytes, identity, deps.embedderFor(ctx), params.threshold);
    if (score.distance === null) {
      ctx.log(`${label}: no face found`);
      ctx.progress(1, `${label}: no face`);
      return { frames: frame, scores: NO_FACE_SCORE };
    }
    if (params.failOnMismatch && !score.pass) {
      throw new NonRetryableNodeError(
        `consistency_mismatch: ${label} does not look like ${character.name} (face distance ${score.distance.toFixed(2)} > ` +
          `threshold ${score.threshold.toFixed(2)}); raise the LoRA weight, add reference images, or raise the threshold`,
        'consistency_mismatch',
      );
    }
    ctx.progress(
      1,
      `${label}: distance ${score.distance.toFixed(2)} (threshold ${score.threshold.toFixed(2)})`,
    );
    return { frames: frame, scores: score.distance };
  };
}

/** The worker's activity: face-api descriptors and the character identity the worker stores. */
export const activity = createConsistencyCheckActivity({
  embedderFor: (ctx) => faceApiEmbedder({ ffmpegPath: ctx.media.ffmpegPath }),
  identityFor: async (ctx, character) => {
    const identity = await ctx.identity(character);
    return identity && identity.mean.length > 0 ? identity : null;
  },
});
