/**
 * Scores one frame (fan-out item `ctx.index`) against the character: the distance of the
 * frame's most prominent face to the mean descriptor of the character's reference images.
 * A frame without a face scores -1 (its own state, not a failure).
 */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { meanDescriptor, type FaceEmbedder } from '../../engine/faces/face-embedder';
import { faceApiEmbedder } from '../../engine/faces/face-thread';
import type { ArtifactRef, Character } from '../../engine/graph/values';
import { itemAt, localFileOf, optionalCharacter, requireArtifactList } from '../activity-inputs';
import {
  NonRetryableNodeError,
  type NodeActivity,
  type NodeContext,
} from '../../engine/worker/node-api';
import type { consistencyCheck } from './definition';
import { scoreAgainst } from './score';

type Params = z.infer<typeof consistencyCheck.params>;

/** The score of a frame in which no face was found. */
export const NO_FACE_SCORE = -1;

/**
 * Reference means by embedder model and reference ids. Ids are content hashes, so an entry
 * can never go stale; fan-out items of one run share it instead of re-embedding every reference.
 */
const referenceCache = new Map<string, Float32Array>();
const REFERENCE_CACHE_LIMIT = 64;

/** Builds the activity around an embedder (tests inject a deterministic one). */
export function createConsistencyCheckActivity(
  embedderFor: (ctx: NodeContext) => FaceEmbedder,
): NodeActivity<Params> {
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
    const label = `frame ${(ctx.index ?? 0) + 1}`;
    const embedder = embedderFor(ctx);

    ctx.progress(0.05, 'reading reference faces');
    const reference = await referenceDescriptor(character, embedder, ctx);
    if (ctx.signal.aborted) throw ctx.signal.reason;

    ctx.progress(0.5, `${label}: finding the face`);
    const bytes = await readFile(await localFileOf(ctx, frame, label));
    // The same scoring as the frames node's consistency gate (score.ts).
    const { distance, pass } = await scoreAgainst(bytes, reference, params.threshold, embedder);
    if (distance === null) {
      ctx.log(`${label}: no face found`);
      ctx.progress(1, `${label}: no face`);
      return { frames: frame, scores: NO_FACE_SCORE };
    }
    if (params.failOnMismatch && !pass) {
      throw new NonRetryableNodeError(
        `consistency_mismatch: ${label} does not look like ${character.name} (face distance ${distance.toFixed(2)} > ` +
          `threshold ${params.threshold.toFixed(2)}); raise the LoRA weight, add reference images, or raise the threshold`,
        'consistency_mismatch',
      );
    }
    ctx.progress(1, `${label}: distance ${distance.toFixed(2)}`);
    return { frames: frame, scores: distance };
  };
}

/** The worker's activity: face-api descriptors, images decoded by the configured ffmpeg. */
export const activity = createConsistencyCheckActivity((ctx) =>
  faceApiEmbedder({ ffmpegPath: ctx.media.ffmpegPath }),
);

/** The mean descriptor of the character's reference faces; references without a face are skipped. */
async function referenceDescriptor(
  character: Character,
  embedder: FaceEmbedder,
  ctx: NodeContext,
): Promise<Float32Array> {
  const references = character.referenceImages;
  if (references.length === 0) {
    throw new NonRetryableNodeError(
      `consistency_no_references: ${character.name} has no reference images; add a clear photo of the face to the character`,
      'consistency_no_references',
    );
  }
  const key = `${embedder.model}:${references
    .map((ref) => ref.id)
    .sort()
    .join(',')}`;
  const cached = referenceCache.get(key);
  if (cached) return cached;

  const descriptors: Float32Array[] = [];
  for (const [i, ref] of references.entries()) {
    const descriptor = await embedReference(ref, i, embedder, ctx);
    if (descriptor) descriptors.push(descriptor);
    else ctx.log(`reference image ${i + 1} of ${character.name} shows no face; skipped`);
  }
  if (descriptors.length === 0) {
    throw new NonRetryableNodeError(
      `consistency_no_reference_face: none of ${character.name}'s ${references.length} reference image(s) shows a ` +
        'face that can be detected; add a clear, front-facing photo',
      'consistency_no_reference_face',
    );
  }
  const mean = meanDescriptor(descriptors);
  if (referenceCache.size >= REFERENCE_CACHE_LIMIT)
    referenceCache.delete(referenceCache.keys().next().value!);
  referenceCache.set(key, mean);
  return mean;
}

async function embedReference(
  ref: ArtifactRef,
  index: number,
  embedder: FaceEmbedder,
  ctx: NodeContext,
): Promise<Float32Array | null> {
  const bytes = await readFile(await localFileOf(ctx, ref, `reference image ${index + 1}`));
  return embedder.embed(bytes);
}
