/**
 * A character's identity: what its reference images say about its face, computed once per set
 * of references and stored on the character document (the descriptors themselves also go to the
 * vector port, see identity-service.ts). Pure: no face model, no store; safe to import anywhere
 * in the worker or server.
 *
 * Distances are Euclidean between face-api's 128-d descriptors (0 = identical). A frame passes
 * when the distance of its face to the identity's `mean` is at most the identity's `threshold`.
 */
import { faceDistance, meanDescriptor } from './face-embedder';

/** What face detection found in one reference image. */
export type ReferenceFaceStatus = 'face' | 'no-face' | 'several-faces' | 'unreadable';

/**
 * One reference image's answer. `identity` references (exactly one face) make up the mean; a
 * `style` reference is kept for the providers (costume, look, setting) but never compared.
 */
export interface ReferenceFace {
  artifactId: string;
  status: ReferenceFaceStatus;
  /** How many faces were found (0 when unreadable). */
  faces: number;
  role: 'identity' | 'style';
}

export interface CharacterIdentity {
  /** 1 for the first identity, +1 on every change of the reference images or their roles. */
  version: number;
  /** The descriptor space (FACE_EMBEDDING_MODEL); identities of another model are recomputed. */
  model: string;
  /**
   * The mean descriptor of the `identity` references; empty when no reference shows exactly one
   * face (then the character has no face to check against: see hasIdentityFace).
   */
  mean: number[];
  /** The character's pass threshold (calibrateThreshold); 0 when `mean` is empty. */
  threshold: number;
  /** One entry per reference image, in the character's order. */
  references: ReferenceFace[];
}

/**
 * The lowest threshold calibration gives. In face-api's sample photos one face mirrored, re-lit,
 * cropped or rescaled moves up to 0.37 from the original; near-duplicate references must not
 * make the character fail its own face in a new pose.
 */
export const THRESHOLD_FLOOR = 0.45;
/**
 * The highest threshold the spread of references can ask for: under dlib's 0.6 and under the
 * closest two different people in face-api's sample photos (0.60).
 */
export const THRESHOLD_CAP = 0.55;
/** The threshold of a character with a single identity reference (no spread to measure). */
export const THRESHOLD_SINGLE = 0.5;
/** How many standard deviations above the mean pairwise distance the threshold sits. */
export const THRESHOLD_SPREAD_K = 2;
/** Head-room above the farthest own reference, so every reference passes its own identity. */
export const THRESHOLD_OWN_MARGIN = 0.02;

/**
 * The pass threshold for a character from its identity references' descriptors:
 *
 * - one reference: `THRESHOLD_SINGLE` (0.5);
 * - n ≥ 2: with `μ` and `σ` the mean and (population) standard deviation of the n·(n−1)/2
 *   pairwise reference distances, and `r` the largest distance of a reference to the mean
 *   descriptor, `max(clamp(μ + 2σ, 0.45, 0.55), r + 0.02)`.
 *
 * The clamp keeps tight reference sets (near-duplicates) from rejecting the character in a new
 * pose and loose ones from admitting other people; the `r` term means the character's own
 * references always pass, even stylised ones that sit far apart (the threshold may then exceed
 * 0.55: the references themselves say the face varies that much). Rounded up to 3 decimals.
 */
export function calibrateThreshold(referenceDescriptors: Float32Array[]): number {
  const n = referenceDescriptors.length;
  if (n === 0) throw new Error('calibrateThreshold needs at least one reference descriptor');
  if (n === 1) return THRESHOLD_SINGLE;
  const pairwise: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      pairwise.push(faceDistance(referenceDescriptors[i], referenceDescriptors[j]));
    }
  }
  const mu = pairwise.reduce((sum, d) => sum + d, 0) / pairwise.length;
  const sigma = Math.sqrt(pairwise.reduce((sum, d) => sum + (d - mu) ** 2, 0) / pairwise.length);
  const spread = Math.min(
    THRESHOLD_CAP,
    Math.max(THRESHOLD_FLOOR, mu + THRESHOLD_SPREAD_K * sigma),
  );
  const mean = meanDescriptor(referenceDescriptors);
  const farthestOwn = Math.max(...referenceDescriptors.map((d) => faceDistance(d, mean)));
  // Up, so rounding never rejects a reference; the epsilon keeps 0.55 (550.0000000000001) at 0.55.
  return Math.ceil(Math.max(spread, farthestOwn + THRESHOLD_OWN_MARGIN) * 1000 - 1e-6) / 1000;
}

/** True when the identity has a face to compare with (some reference shows exactly one face). */
export function hasIdentityFace(identity: CharacterIdentity | null | undefined): boolean {
  return !!identity && identity.mean.length > 0;
}

/**
 * True when `identity` was computed with `model` from exactly the character's current reference
 * images (ids in order); otherwise it must be recomputed before use.
 */
export function identityIsCurrent(
  identity: CharacterIdentity | null | undefined,
  referenceImages: readonly { id: string }[],
  model: string,
): identity is CharacterIdentity {
  if (!identity || identity.model !== model) return false;
  if (identity.references.length !== referenceImages.length) return false;
  return identity.references.every((ref, i) => ref.artifactId === referenceImages[i].id);
}

/** The distance of a face descriptor to the identity's mean (throws if the identity has no face). */
export function identityDistance(identity: CharacterIdentity, descriptor: Float32Array): number {
  if (!hasIdentityFace(identity)) {
    throw new Error('identityDistance: the identity has no face (no reference shows one face)');
  }
  return faceDistance(Float32Array.from(identity.mean), descriptor);
}
