/**
 * Joins the clips into the final MP4: each clip normalised to the requested size and frame
 * rate, cut together or crossfaded, with optional music and burned-in subtitles taken from
 * the storyboard's dialogue and timed by the clips' real durations.
 */
import { join } from 'node:path';
import type { z } from 'zod';
import { mergeClips, type MergeAudio } from '../../engine/media/merge';
import {
  probedMediaOf,
  probedVideoOf,
  requireArtifact,
  requireArtifactList,
  requireStoryboard,
} from '../activity-inputs';
import { NonRetryableNodeError, type NodeActivity } from '../../engine/worker/node-api';
import type { ffmpegMerge } from './definition';

type Params = z.infer<typeof ffmpegMerge.params>;

/**
 * Outputs `{ video: ArtifactRef }` with the width, height and duration of the merge's plan.
 *
 * No ffprobe runs here when the clips were made by our nodes or uploaded: their probes are kept
 * on their artifact records. Each ffprobe costs about 0.16 s of start-up, which made this node
 * 1.35x plain ffmpeg on 10 clips and 4.9x on a stream copy (bench/RESULTS.md, media). For the
 * same reason the output is not probed: the plan knows its size and duration, and a later
 * reader that needs the whole probe takes it once and keeps it.
 */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const refs = requireArtifactList(inputs.clips, 'clips');
  ctx.progress(0, `reading ${refs.length} clips`);
  // All at once (clips never probed before each pay one ffprobe). A failure is reported for
  // the first bad clip in order.
  const probed = await Promise.allSettled(
    refs.map((ref, i) => probedVideoOf(ctx, ref, `clip ${i + 1}`)),
  );
  const clips = probed.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });

  let audio: MergeAudio | undefined;
  if (inputs.audio !== undefined && inputs.audio !== null) {
    const ref = requireArtifact(inputs.audio, 'audio');
    const { file, probe: info } = await probedMediaOf(ctx, ref, 'the audio');
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
  const plan = await mergeClips({
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

  const video = await ctx.artifacts.putFile(output, 'video/mp4', {
    width: params.width,
    height: params.height,
    // Milliseconds: the plan sums floating-point clip lengths.
    durationSec: Math.round(plan.durationSec * 1000) / 1000,
  });
  ctx.progress(1, 'done');
  return { video };
};
