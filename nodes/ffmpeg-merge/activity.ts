/**
 * Joins the clips into the final MP4: each clip normalised to the requested size and frame
 * rate, cut together or crossfaded, with optional music and burned-in subtitles taken from
 * the storyboard's dialogue and timed by the clips' real durations.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { probe, probeVideo } from '../../engine/media/ffmpeg';
import { mergeClips, type MergeAudio } from '../../engine/media/merge';
import {
  localFileOf,
  requireArtifact,
  requireArtifactList,
  requireStoryboard,
} from '../activity-inputs';
import { NonRetryableNodeError, type NodeActivity } from '../../engine/worker/node-api';
import type { ffmpegMerge } from './definition';

type Params = z.infer<typeof ffmpegMerge.params>;

/** Outputs `{ video: ArtifactRef }` with its probed width, height and duration. */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const refs = requireArtifactList(inputs.clips, 'clips');
  ctx.progress(0, `probing ${refs.length} clips`);
  // All at once: probing one clip after another cost more than the encode's own overhead
  // (bench/RESULTS.md, media). A failure is reported for the first bad clip in order.
  const probed = await Promise.allSettled(
    refs.map(async (ref, i) => {
      const file = await localFileOf(ctx, ref, `clip ${i + 1}`);
      return { file, probe: await probeVideo(file, `clip ${i + 1}`, ctx.media) };
    }),
  );
  const clips = probed.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });

  let audio: MergeAudio | undefined;
  if (inputs.audio !== undefined && inputs.audio !== null) {
    const ref = requireArtifact(inputs.audio, 'audio');
    const file = await localFileOf(ctx, ref, 'the audio');
    const info = await probe(file, ctx.media);
    if (!info.hasAudio) {
      throw new NonRetryableNodeError(
        'the audio input has no sound stream: connect an audio file',
        'invalid_audio',
      );
    }
    audio = { file, probe: info };
  }

  let captions: (string | undefined)[] | undefined;
  if (params.subtitles && inputs.storyboard !== undefined && inputs.storyboard !== null) {
    const storyboard = requireStoryboard(inputs.storyboard);
    // Clip i shows shot i; subtitles carry what is said (descriptions are the frames' job),
    // so shots without dialogue and extra clips get no cue.
    captions = clips.map((_, i) => storyboard.shots[i]?.dialogue?.trim() || undefined);
  }

  const output = join(ctx.workDir, 'merged.mp4');
  ctx.progress(0.02, 'encoding');
  await mergeClips({
    clips,
    ...(audio ? { audio } : {}),
    ...(captions ? { captions } : {}),
    width: params.width,
    height: params.height,
    fps: params.fps,
    crossfadeSec: params.crossfadeSec,
    crf: params.crf,
    output,
    workDir: ctx.workDir,
    binaries: ctx.media,
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(0.02 + fraction * 0.93, 'encoding'),
  });

  const result = await probeVideo(output, 'the merged video', ctx.media);
  const video = await ctx.artifacts.putFile(output, 'video/mp4', {
    width: result.width,
    height: result.height,
    durationSec: result.durationSec,
  });
  ctx.progress(1, 'done');
  return { video };
};
