/**
 * One key frame per storyboard shot (fan-out: this runs for shot `ctx.index`): Stable
 * Diffusion with the character's LoRA on an A1111 or ComfyUI server, or the local animatic
 * card composited by ffmpeg. With a character connected, the consistency gate (gate.ts) scores
 * the frame's face and re-renders a failing frame with a new seed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { FaceEmbedder } from '../../engine/faces/face-embedder';
import { faceApiEmbedder } from '../../engine/faces/face-thread';
import type { ArtifactRef, Character, Shot } from '../../engine/graph/values';
import { readImageInfo } from '../../engine/media/ffmpeg';
import { renderLocalFrame } from './providers/local';
import { renderFrameA1111, type SdReference } from './providers/a1111';
import { renderFrameComfyUI } from './providers/comfyui';
import { runwayFrame } from './providers/runway-image';
import { localFileOf, optionalCharacter, requireStoryboard, shotAt } from '../activity-inputs';
import {
  NonRetryableNodeError,
  type NodeActivity,
  type NodeContext,
} from '../../engine/worker/node-api';
import type { ScoringIdentity } from '../consistency-check/score';
import { attemptSeed, runGate, ungated, type FrameConsistency, type GateAttempt } from './gate';
import type { sdLoraFrame } from './definition';

type Params = z.infer<typeof sdLoraFrame.params>;

/** A rendered frame: its artifact and bytes (the gate scores the bytes). */
interface Rendered {
  frame: ArtifactRef;
  bytes: Buffer;
}

/** What the activity needs besides its inputs; tests inject a deterministic embedder. */
export interface FrameActivityDeps {
  embedderFor(ctx: NodeContext): FaceEmbedder;
  /** The character's identity (mean descriptor, calibrated threshold), or null without faces. */
  identityFor(ctx: NodeContext, character: Character): Promise<ScoringIdentity | null>;
}

/** The checkpoint a retried item resumes from: the gate attempts already finished. */
interface GateCheckpoint {
  gateAttempts: GateAttempt[];
}

/**
 * Outputs `{ frames: ArtifactRef, consistency: FrameConsistency }`: this item's entry of the
 * `frames` list, and the kept frame's score for the canvas and the run summary.
 */
export function createFrameActivity(deps: FrameActivityDeps): NodeActivity<Params> {
  return async ({ params, inputs, ctx }) => {
    const shot = shotAt(requireStoryboard(inputs.storyboard), ctx.index);
    const character = optionalCharacter(inputs.character);
    const label = `shot ${shot.index + 1}`;
    const render = (seed: number, attempt: number) =>
      renderOnce(params, shot, character, ctx, seed, attempt);

    const skip = ungatedReason(params, shot, character);
    if (skip) {
      const seed = attemptSeed(params.seed, ctx.reroll, 1);
      const { frame } = await render(seed, 1);
      ctx.progress(1, `${label}: done`);
      return { frames: frame, consistency: ungated(skip, seed) };
    }
    ctx.progress(0, `${label}: reading ${character!.name}'s identity`);
    const identity = await deps.identityFor(ctx, character!);
    if (!identity) {
      const seed = attemptSeed(params.seed, ctx.reroll, 1);
      ctx.log(
        `${character!.name} has no reference image with exactly one face; frames are not gated`,
      );
      const { frame } = await render(seed, 1);
      ctx.progress(1, `${label}: done (not gated: no reference face)`);
      return { frames: frame, consistency: ungated('no-identity', seed) };
    }

    const resumed = (ctx.checkpoint as GateCheckpoint | undefined)?.gateAttempts ?? [];
    const { kept, consistency } = await runGate({
      index: ctx.index ?? 0,
      label,
      identity,
      embedder: deps.embedderFor(ctx),
      maxAttempts: params.maxAttempts,
      budget: params.attemptBudget,
      thresholdOverride: params.threshold,
      baseSeed: params.seed,
      reroll: ctx.reroll,
      render,
      claim: (claimant, limit) => ctx.budget.claim({ claimant, limit }),
      resumed,
      onAttempt: (attempts) => ctx.saveCheckpoint({ gateAttempts: attempts }),
      report: (stage) => {
        ctx.log(stage);
        ctx.progress(0, stage, { record: true });
      },
    });
    ctx.progress(1, `${label}: kept attempt ${kept.attempt}`, { record: true });
    return { frames: kept.frame, consistency: consistency satisfies FrameConsistency };
  };
}

/** The worker's activity: face-api descriptors and the character identity the worker stores. */
export const activity = createFrameActivity({
  embedderFor: (ctx) => faceApiEmbedder({ ffmpegPath: ctx.media.ffmpegPath }),
  identityFor: async (ctx, character) => {
    const identity = await ctx.identity(character);
    return identity && identity.mean.length > 0 ? identity : null;
  },
});

/** Why this shot is rendered once without scoring, or undefined when the gate applies. */
function ungatedReason(
  params: Params,
  shot: Shot,
  character: Character | undefined,
): FrameConsistency['reason'] {
  if (!character) return 'no-character';
  if (!params.gate) return 'gate-off';
  // The storyboard says the character is not in the shot: there is no face to check.
  if (shot.characterPresent === false) return 'character-absent';
  return undefined;
}

async function renderOnce(
  params: Params,
  shot: Shot,
  character: Character | undefined,
  ctx: NodeContext,
  seed: number,
  attempt: number,
): Promise<Rendered> {
  const { provider } = ctx;
  const label =
    attempt > 1 ? `shot ${shot.index + 1} (attempt ${attempt})` : `shot ${shot.index + 1}`;
  if (provider.name === 'runway') {
    return runwayFrame(ctx, provider.config, { shot, character, params, seed, attempt, label });
  }
  if (provider.name !== 'a1111' && provider.name !== 'comfyui') {
    return localFrame(params, shot, character, ctx, seed, label);
  }

  ctx.progress(0, `${label}: queued on ${provider.name}`);
  const render = provider.name === 'comfyui' ? renderFrameComfyUI : renderFrameA1111;
  const reference = await referenceFor(params, character, ctx);
  const png = await render({
    shot,
    ...(character ? { character } : {}),
    ...(reference ? { reference } : {}),
    params: {
      width: params.width,
      height: params.height,
      steps: params.steps,
      cfgScale: params.cfgScale,
      sampler: params.sampler,
      seed,
      checkpoint: params.checkpoint,
    },
    config: { url: provider.config.url },
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(fraction * 0.95, `${label}: sampling`),
  });
  // The server's bytes are checked (and measured) before they become an artifact.
  const file = join(ctx.workDir, `sd-frame-${shot.index}-${attempt}.png`);
  await writeFile(file, png);
  const { width, height } = await readImageInfo(
    file,
    `the image ${provider.name} returned`,
    ctx.media,
  );
  const frame = await ctx.artifacts.putBytes(png, 'image/png', { width, height });
  ctx.progress(1, `${label}: rendered`);
  return { frame, bytes: png };
}

async function localFrame(
  params: Params,
  shot: Shot,
  character: Character | undefined,
  ctx: NodeContext,
  seed: number,
  label: string,
): Promise<Rendered> {
  ctx.progress(0, `${label}: composing`);
  const reference = character?.referenceImages[0];
  const referenceImage = reference
    ? await localFileOf(ctx, reference, `the reference image of ${character.name}`)
    : undefined;
  const frame = await renderLocalFrame({
    shot,
    ...(character ? { characterName: character.name } : {}),
    ...(referenceImage ? { referenceImage } : {}),
    // The node's own seed keeps the classic card; any other seed (a regenerated shot) varies it.
    ...(seed !== params.seed ? { variant: seed } : {}),
    width: params.width,
    height: params.height,
    workDir: ctx.workDir,
    binaries: ctx.media,
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(fraction * 0.9, `${label}: composing`),
  });
  const ref = await ctx.artifacts.putFile(frame.file, 'image/png', {
    width: frame.width,
    height: frame.height,
  });
  ctx.progress(1, `${label}: rendered`);
  return { frame: ref, bytes: await ctx.artifacts.read(ref) };
}

/**
 * The character's reference images for IP-Adapter conditioning (up to three), when the node
 * asks for it. Asking for it without a character image is a setup mistake, not a reason to
 * quietly render unconditioned frames.
 */
async function referenceFor(
  params: Params,
  character: Character | undefined,
  ctx: NodeContext,
): Promise<SdReference | undefined> {
  if (params.reference === 'none' || !character) return undefined;
  if (character.referenceImages.length === 0) {
    throw new NonRetryableNodeError(
      `sd_reference_missing: ${character.name} has no reference image for ip-adapter conditioning; ` +
        "add one on the Characters page, or set the node's reference param to none",
      'sd_reference_missing',
    );
  }
  const images = await Promise.all(
    character.referenceImages.slice(0, 3).map((ref) => ctx.artifacts.read(ref)),
  );
  return { mode: 'ip-adapter', weight: params.referenceWeight, images };
}
