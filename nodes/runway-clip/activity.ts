/**
 * One clip per frame (fan-out: this runs for frame `ctx.index`, with the shot of the same
 * index): Runway image-to-video, resumable across retries, or locally a camera move made by
 * ffmpeg's zoompan.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { probeVideo, readImageInfo } from '../../engine/media/ffmpeg';
import { renderLocalClip } from './providers/local';
import { renderClipRunway } from './providers/runway';
import {
  itemAt,
  localFileOf,
  requireArtifactList,
  requireStoryboard,
  shotAt,
} from '../activity-inputs';
import type { NodeActivity } from '../../engine/worker/node-api';
import type { runwayClip } from './definition';

type Params = z.infer<typeof runwayClip.params>;

/** Outputs `{ clips: ArtifactRef }` (an H.264 MP4): this item's entry of the `clips` list. */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const frame = itemAt(requireArtifactList(inputs.frames, 'frames'), ctx.index, 'the frames list');
  const shot = shotAt(requireStoryboard(inputs.storyboard), ctx.index);
  const label = `clip ${(ctx.index ?? 0) + 1}`;
  const frameFile = await localFileOf(ctx, frame, `frame ${(ctx.index ?? 0) + 1}`);

  if (ctx.provider.name === 'runway') {
    ctx.progress(0, `${label}: submitting to Runway`);
    const mp4 = await renderClipRunway({
      image: await readFile(frameFile),
      imageMime: frame.mime,
      shot,
      params: {
        model: params.model,
        ratio: params.ratio,
        seed: params.seed,
        duration: params.duration,
      },
      config: ctx.provider.config,
      signal: ctx.signal,
      onProgress: (fraction) => ctx.progress(fraction * 0.95, `${label}: generating`),
      checkpoint: ctx.checkpoint,
      saveCheckpoint: (value) => ctx.saveCheckpoint(value),
      externalTasks: ctx.externalTasks,
      taskKey: `${ctx.runId}:${ctx.nodeId}:${ctx.index ?? 0}`,
    });
    // Stored at once (Runway's URLs expire), after checking it really is a video.
    const file = join(ctx.workDir, `runway-clip-${ctx.index ?? 0}.mp4`);
    await writeFile(file, mp4);
    const info = await probeVideo(file, `the video Runway returned for ${label}`, ctx.media);
    const ref = await ctx.artifacts.putFile(file, 'video/mp4', {
      width: info.width,
      height: info.height,
      durationSec: info.durationSec,
      probe: info,
    });
    ctx.progress(1, `${label}: done`);
    return { clips: ref };
  }

  ctx.progress(0, `${label}: animating ${shot.camera}`);
  const image = await readImageInfo(frameFile, `frame ${(ctx.index ?? 0) + 1}`, ctx.media);
  const clip = await renderLocalClip({
    frame: frameFile,
    frameWidth: image.width,
    frameHeight: image.height,
    shot: { ...shot, index: ctx.index ?? shot.index },
    fps: params.fps,
    workDir: ctx.workDir,
    binaries: ctx.media,
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(fraction * 0.95, `${label}: animating ${shot.camera}`),
  });
  // Probed once here, where the clip is made, and kept with it: the merge reads the probe
  // instead of paying ffprobe's start-up for every clip (nodes/ffmpeg-merge/activity.ts).
  const info = await probeVideo(clip.file, `the clip of ${label}`, ctx.media);
  const ref = await ctx.artifacts.putFile(clip.file, 'video/mp4', {
    width: clip.width,
    height: clip.height,
    durationSec: clip.durationSec,
    probe: info,
  });
  ctx.progress(1, `${label}: done`);
  return { clips: ref };
};
