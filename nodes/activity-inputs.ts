/**
 * Reading node activity inputs: the values arrive as plain JSON from the workflow, so each
 * one is checked against its value schema, and every problem becomes a non-retryable error
 * that names the port and the next step. Worker-only.
 */
import { LabError } from '../engine/errors';
import { fanOutItem } from '../engine/graph/fan-out';
import {
  artifactRefSchema,
  characterSchema,
  storyboardSchema,
  type ArtifactRef,
  type Character,
  type Shot,
  type Storyboard,
} from '../engine/graph/values';
import { probe, probeVideo, requireVideo } from '../engine/media/ffmpeg';
import type { MediaProbe, VideoProbe } from '../engine/media/media-probe';
import { NonRetryableNodeError, type NodeContext } from '../engine/worker/node-api';

/** The storyboard on `port`; missing or malformed → `invalid_input`. */
export function requireStoryboard(value: unknown, port = 'storyboard'): Storyboard {
  const parsed = storyboardSchema.safeParse(value);
  if (!parsed.success) {
    throw new NonRetryableNodeError(
      `input "${port}" is not a storyboard (${parsed.error.issues[0]?.message ?? 'invalid'}): ` +
        'connect a storyboard node to it',
      'invalid_input',
    );
  }
  return parsed.data;
}

/** The character on an optional port: absent → undefined, malformed → `invalid_input`. */
export function optionalCharacter(value: unknown, port = 'character'): Character | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = characterSchema.safeParse(value);
  if (!parsed.success) {
    throw new NonRetryableNodeError(
      `input "${port}" is not a character (${parsed.error.issues[0]?.message ?? 'invalid'}): connect a character node`,
      'invalid_input',
    );
  }
  return parsed.data;
}

/** A list of artifact refs on `port`; empty or malformed → `invalid_input`. */
export function requireArtifactList(value: unknown, port: string): ArtifactRef[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  if (list.length === 0) {
    throw new NonRetryableNodeError(
      `input "${port}" is empty: connect a node that produces it`,
      'invalid_input',
    );
  }
  return list.map((item, i) => requireArtifact(item, `${port}[${i}]`));
}

/** One artifact ref; malformed → `invalid_input`. */
export function requireArtifact(value: unknown, label: string): ArtifactRef {
  const parsed = artifactRefSchema.safeParse(value);
  if (!parsed.success) {
    throw new NonRetryableNodeError(
      `input "${label}" is not a stored artifact: re-run the node that makes it`,
      'invalid_input',
    );
  }
  return parsed.data;
}

/**
 * Item `index` of a fan-out list. A list shorter than the fan-out (fewer shots than frames)
 * reuses its last item, so every frame still gets a shot.
 */
export function itemAt<T>(list: readonly T[], index: number | undefined, what: string): T {
  const item = fanOutItem(list, index ?? 0);
  if (item === undefined)
    throw new NonRetryableNodeError(`${what} is empty: nothing to work on`, 'invalid_input');
  return item;
}

/** The shot for fan-out item `index`. */
export function shotAt(storyboard: Storyboard, index: number | undefined): Shot {
  return itemAt(storyboard.shots, index, 'the storyboard');
}

/**
 * A local file with the artifact's bytes (for ffmpeg). A blob that is gone will not come back
 * on a retry, so that is non-retryable `artifact_not_found` naming what it was.
 */
export async function localFileOf(
  ctx: NodeContext,
  ref: ArtifactRef,
  label: string,
): Promise<string> {
  try {
    return await ctx.artifacts.toLocalFile(ref);
  } catch (error) {
    if (error instanceof LabError && error.code === 'artifact_not_found') {
      throw new NonRetryableNodeError(
        `${label} (artifact ${ref.id.slice(0, 12)}…) is no longer stored: upload it again or re-run the node that made it`,
        'artifact_not_found',
      );
    }
    throw error;
  }
}

/**
 * A video input as a local file and its probe. The probe kept on the artifact's record is used
 * when there is one (the node that made the clip, or the upload route, probed these very
 * bytes); otherwise ffprobe reads the file once and the probe is kept for every later reader.
 * Not a video → non-retryable `invalid_video` naming `label`.
 */
export function probedVideoOf(
  ctx: NodeContext,
  ref: ArtifactRef,
  label: string,
): Promise<{ file: string; probe: VideoProbe }> {
  return probedOnce(
    ctx,
    ref,
    label,
    (file) => probeVideo(file, label, ctx.media),
    (kept) => requireVideo(kept, label),
  );
}

/** As probedVideoOf for any media file; unreadable → non-retryable `unreadable_media`. */
export function probedMediaOf(
  ctx: NodeContext,
  ref: ArtifactRef,
  label: string,
): Promise<{ file: string; probe: MediaProbe }> {
  return probedOnce(
    ctx,
    ref,
    label,
    (file) => probe(file, ctx.media),
    (kept) => kept,
  );
}

async function probedOnce<P extends MediaProbe>(
  ctx: NodeContext,
  ref: ArtifactRef,
  label: string,
  probeFile: (file: string) => Promise<P>,
  fromKept: (kept: MediaProbe) => P,
): Promise<{ file: string; probe: P }> {
  const [file, kept] = await Promise.all([
    localFileOf(ctx, ref, label),
    ctx.artifacts.knownProbe(ref),
  ]);
  if (kept) return { file, probe: fromKept(kept) };
  const fresh = await probeFile(file);
  await ctx.artifacts.keepProbe(ref, fresh);
  return { file, probe: fresh };
}
