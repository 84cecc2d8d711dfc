/**
 * One key frame per storyboard shot (fan-out: this runs for shot `ctx.index`): Stable
 * Diffusion with the character's LoRA on an A1111 or ComfyUI server, or the local animatic
 * card composited by ffmpeg.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { ArtifactRef, Character, Shot } from '../../engine/graph/values';
import { readImageInfo } from '../../engine/media/ffmpeg';
import { renderLocalFrame } from './providers/local';
import { renderFrameA1111 } from './providers/a1111';
import { renderFrameComfyUI } from './providers/comfyui';
import { localFileOf, optionalCharacter, requireStoryboard, shotAt } from '../activity-inputs';
import type { NodeActivity, NodeContext } from '../../engine/worker/node-api';
import type { sdLoraFrame } from './definition';

type Params = z.infer<typeof sdLoraFrame.params>;

/** Outputs `{ frames: ArtifactRef }` (a PNG): this item's entry of the `frames` list. */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const shot = shotAt(requireStoryboard(inputs.storyboard), ctx.index);
  const character = optionalCharacter(inputs.character);
  const label = `shot ${shot.index + 1}`;
  const { provider } = ctx;
  if (provider.name !== 'a1111' && provider.name !== 'comfyui') {
    return { frames: await localFrame(params, shot, character, ctx) };
  }

  ctx.progress(0, `${label}: queued on ${provider.name}`);
  const render = provider.name === 'comfyui' ? renderFrameComfyUI : renderFrameA1111;
  const png = await render({
    shot,
    ...(character ? { character } : {}),
    params: {
      width: params.width,
      height: params.height,
      steps: params.steps,
      cfgScale: params.cfgScale,
      sampler: params.sampler,
      seed: params.seed,
      checkpoint: params.checkpoint,
    },
    config: { url: provider.config.url },
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(fraction * 0.95, `${label}: sampling`),
  });
  // The server's bytes are checked (and measured) before they become an artifact.
  const file = join(ctx.workDir, `sd-frame-${shot.index}.png`);
  await writeFile(file, png);
  const { width, height } = await readImageInfo(
    file,
    `the image ${provider.name} returned`,
    ctx.media,
  );
  const ref = await ctx.artifacts.putBytes(png, 'image/png', { width, height });
  ctx.progress(1, `${label}: done`);
  return { frames: ref };
};

async function localFrame(
  params: Params,
  shot: Shot,
  character: Character | undefined,
  ctx: NodeContext,
): Promise<ArtifactRef> {
  const label = `shot ${shot.index + 1}`;
  ctx.progress(0, `${label}: composing`);
  const reference = character?.referenceImages[0];
  const referenceImage = reference
    ? await localFileOf(ctx, reference, `the reference image of ${character.name}`)
    : undefined;
  const frame = await renderLocalFrame({
    shot,
    ...(character ? { characterName: character.name } : {}),
    ...(referenceImage ? { referenceImage } : {}),
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
  ctx.progress(1, `${label}: done`);
  return ref;
}
