/**
 * The values that travel along edges: artifact references, storyboards and characters.
 * Browser- and worker-safe (zod only). Bytes never travel: an ArtifactRef names them.
 */
import { z } from 'zod';

/** Artifact ids are the sha256 of the bytes, lower-case hex: content-addressed, traversal-proof. */
export const artifactIdSchema = z
  .string()
  .regex(/^[a-f0-9]{64}$/, 'an artifact id is 64 lower-case hex characters (a sha256)');

export const artifactRefSchema = z.object({
  id: artifactIdSchema,
  mime: z.string().min(1).max(100),
  bytes: z.number().int().nonnegative(),
  sha256: artifactIdSchema,
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  durationSec: z.number().nonnegative().optional(),
});
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

export const CAMERA_MOVES = [
  'static',
  'push-in',
  'pull-out',
  'pan-left',
  'pan-right',
  'tilt-up',
  'tilt-down',
] as const;
export const cameraSchema = z.enum(CAMERA_MOVES);
export type Camera = z.infer<typeof cameraSchema>;

export const shotSchema = z.object({
  index: z.number().int().nonnegative(),
  description: z.string(),
  prompt: z.string(),
  negativePrompt: z.string(),
  camera: cameraSchema,
  durationSec: z.number().positive().max(60),
  dialogue: z.string().optional(),
  /**
   * Whether the character is on screen. false: the frames node's consistency gate skips the
   * shot (a landscape has no face to check). Absent: unknown, treated as present.
   */
  characterPresent: z.boolean().optional(),
});
export type Shot = z.infer<typeof shotSchema>;

export const storyboardSchema = z.object({
  title: z.string(),
  shots: z.array(shotSchema).min(1).max(200),
});
export type Storyboard = z.infer<typeof storyboardSchema>;

export const characterSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  description: z.string(),
  triggerWord: z.string().optional(),
  lora: z.object({ name: z.string().min(1), weight: z.number().min(-5).max(5) }).optional(),
  referenceImages: z.array(artifactRefSchema),
  embeddingModel: z.string().optional(),
});
export type Character = z.infer<typeof characterSchema>;
