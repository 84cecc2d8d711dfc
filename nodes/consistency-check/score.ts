/**
 * Scoring one image against a character's identity: the one place that turns "the largest face
 * in this frame" into a distance and a pass/fail. The consistency-check node (frames from
 * anywhere) and the frames node's gate (engine of the re-render loop) both call it, so the two
 * can never disagree about what "looks like the character" means. Worker-only.
 */
import type { FaceEmbedder } from '../../engine/faces/face-embedder';
import { NonRetryableNodeError } from '../../engine/worker/node-api';

/** What scoring needs of a character's identity (a subset of engine/faces' CharacterIdentity). */
export interface ScoringIdentity {
  /** Bumped whenever the character's reference faces change. */
  version: number;
  /** The descriptor space; descriptors of another model are never compared. */
  model: string;
  mean: readonly number[];
  /** The character's calibrated pass threshold. */
  threshold: number;
}

/** One image's score. `distance` is null when the image shows no face (which never passes). */
export interface FaceScore {
  distance: number | null;
  threshold: number;
  pass: boolean;
}

/**
 * The threshold a frame must meet: the node's override when it sets one (> 0), else the
 * character's calibrated threshold.
 */
export function effectiveThreshold(identity: ScoringIdentity, override: number): number {
  return override > 0 ? override : identity.threshold;
}

/** Scores the image's most prominent face against the identity's mean descriptor. */
export async function scoreImage(
  image: Buffer,
  identity: ScoringIdentity,
  embedder: FaceEmbedder,
  thresholdOverride = 0,
): Promise<FaceScore> {
  if (embedder.model !== identity.model) {
    // A stored identity from another descriptor model would give meaningless distances.
    throw new NonRetryableNodeError(
      `consistency_model_mismatch: the character's identity was computed with ${identity.model}, ` +
        `the worker embeds faces with ${embedder.model}; edit the character's reference images to re-embed it`,
      'consistency_model_mismatch',
    );
  }
  return scoreAgainst(
    image,
    Float32Array.from(identity.mean),
    effectiveThreshold(identity, thresholdOverride),
    embedder,
  );
}

/** Scores the image's most prominent face against a reference descriptor and a threshold. */
export async function scoreAgainst(
  image: Buffer,
  reference: Float32Array,
  threshold: number,
  embedder: FaceEmbedder,
): Promise<FaceScore> {
  const rounded = round(threshold);
  const descriptor = await embedder.embed(image);
  if (!descriptor) return { distance: null, threshold: rounded, pass: false };
  const distance = round(embedder.distance(descriptor, reference));
  return { distance, threshold: rounded, pass: distance <= rounded };
}

/** Better first: a face beats no face, then the smaller distance. Ties keep the earlier one. */
export function compareScores(a: FaceScore, b: FaceScore): number {
  if (a.distance === null || b.distance === null) {
    return (a.distance === null ? 1 : 0) - (b.distance === null ? 1 : 0);
  }
  return a.distance - b.distance;
}

export function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
