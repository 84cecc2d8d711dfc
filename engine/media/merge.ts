/**
 * Merging clips into the final MP4 with one ffmpeg command: every clip normalised (size by
 * letterbox/pillarbox, square pixels, constant frame rate, yuv420p, common timebase), then
 * joined by the concat filter or by a chain of xfade crossfades; optional music mixed in and
 * trimmed to the picture; optional subtitles burned in. Recipes: reference/providers.md §D.3.
 * When every clip already is what that would make and nothing is to be mixed, burned or faded,
 * the clips are joined by the concat demuxer with stream copy instead: no decode, no encode.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg, type FfmpegBinaries } from './ffmpeg';
import type { MediaProbe, VideoProbe } from './media-probe';
import { filterValue } from './filter-escape';
import { buildCues, toSrt } from './subtitles';

export interface MergeClip {
  file: string;
  probe: VideoProbe;
}

export interface MergeAudio {
  file: string;
  probe: MediaProbe;
}

export interface MergeOptions {
  clips: readonly MergeClip[];
  /** Music or voice-over, mixed under the clips' own sound and cut to the video's length. */
  audio?: MergeAudio;
  /**
   * One caption per clip (undefined: none for that clip), burned in and timed by the clips'
   * probed durations and the crossfade actually used.
   */
  captions?: readonly (string | undefined)[];
  width: number;
  height: number;
  fps: number;
  crossfadeSec: number;
  crf: number;
  output: string;
  workDir: string;
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
  onProgress?(fraction: number): void;
}

export interface MergePlan {
  filterGraph: string;
  /** Output labels to `-map`. */
  videoLabel: string;
  audioLabel?: string;
  /** The crossfade actually used (shortened when a clip is too short for the one asked). */
  crossfadeSec: number;
  durationSec: number;
  /** Joined by stream copy (concat demuxer, `-c copy`): no filter graph, nothing re-encoded. */
  streamCopy?: boolean;
}

const AUDIO_FORMAT = 'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo';
/** Encoder padding makes a track timed to the picture probe a few frames long; that is no cut. */
const CUT_TOLERANCE_SEC = 0.1;

/**
 * Plans the filter graph. Pure, so its arithmetic (offsets, durations) is testable without
 * ffmpeg. Input i is clip i; the audio input, if any, comes right after the clips.
 */
export function planMerge(
  options: Pick<MergeOptions, 'clips' | 'audio' | 'width' | 'height' | 'fps' | 'crossfadeSec'>,
  subtitlesFile?: string,
): MergePlan {
  const { clips, width, height, fps } = options;
  if (clips.length === 0) throw new Error('planMerge needs at least one clip');
  const durations = clips.map((c) => c.probe.durationSec);
  const crossfade = effectiveCrossfade(options.crossfadeSec, durations);
  const clipAudio = clips.some((c) => c.probe.hasAudio);
  const parts: string[] = [];

  clips.forEach((clip, i) => {
    parts.push(
      `[${i}:v]scale=${width}:${height}:force_original_aspect_ratio=decrease,` +
        `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${fps},format=yuv420p,` +
        // Cut to the probed length so picture and the sound built below stay the same length.
        `trim=duration=${seconds(durations[i])},setpts=PTS-STARTPTS,settb=AVTB[v${i}]`,
    );
    if (!clipAudio) return;
    parts.push(
      clip.probe.hasAudio
        ? `[${i}:a]${AUDIO_FORMAT},apad,atrim=duration=${seconds(durations[i])},asetpts=PTS-STARTPTS[a${i}]`
        : `anullsrc=r=48000:cl=stereo,atrim=duration=${seconds(durations[i])}[a${i}]`,
    );
  });

  let video: string;
  let audio: string | undefined;
  if (crossfade > 0) {
    video = 'v0';
    audio = clipAudio ? 'a0' : undefined;
    let offset = 0;
    for (let i = 1; i < clips.length; i++) {
      offset += durations[i - 1] - crossfade;
      const last = i === clips.length - 1;
      const nextVideo = last ? 'joinedv' : `xv${i}`;
      parts.push(
        `[${video}][v${i}]xfade=transition=fade:duration=${seconds(crossfade)}:offset=${seconds(offset)}[${nextVideo}]`,
      );
      video = nextVideo;
      if (audio) {
        const nextAudio = last ? 'joineda' : `xa${i}`;
        parts.push(`[${audio}][a${i}]acrossfade=d=${seconds(crossfade)}[${nextAudio}]`);
        audio = nextAudio;
      }
    }
  } else {
    const inputs = clips.map((_, i) => (clipAudio ? `[v${i}][a${i}]` : `[v${i}]`)).join('');
    parts.push(
      `${inputs}concat=n=${clips.length}:v=1:a=${clipAudio ? 1 : 0}${clipAudio ? '[joinedv][joineda]' : '[joinedv]'}`,
    );
    video = 'joinedv';
    audio = clipAudio ? 'joineda' : undefined;
  }
  const total = durations.reduce((a, b) => a + b, 0) - (clips.length - 1) * crossfade;

  if (options.audio) {
    const index = clips.length;
    // A fade-out only hides a cut: music longer than the picture fades over its last second,
    // while a track that ends inside the picture (a narration timed to the shots) keeps its
    // last words at full level. An unknown length counts as cut.
    const trackSec = options.audio.probe.durationSec;
    const isCut = trackSec === undefined || trackSec > total + CUT_TOLERANCE_SEC;
    const fadeSec = Math.min(1, total / 4);
    const fade = isCut ? `,afade=t=out:st=${seconds(total - fadeSec)}:d=${seconds(fadeSec)}` : '';
    parts.push(`[${index}:a]${AUDIO_FORMAT},apad,atrim=duration=${seconds(total)}${fade}[music]`);
    if (audio) {
      // normalize=0 keeps the clips' own sound at full level instead of halving both.
      parts.push(
        `[${audio}][music]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[mixeda]`,
      );
      audio = 'mixeda';
    } else {
      audio = 'music';
    }
  }

  if (subtitlesFile) {
    const fontSize = 18;
    const style = `FontName=DejaVu Sans,FontSize=${fontSize},Outline=1,Shadow=0,MarginV=14,WrapStyle=0`;
    parts.push(
      `[${video}]subtitles=filename=${filterValue(subtitlesFile)}:force_style=${filterValue(style)}[subbed]`,
    );
    video = 'subbed';
  }

  return {
    filterGraph: parts.join(';'),
    videoLabel: video,
    ...(audio ? { audioLabel: audio } : {}),
    crossfadeSec: crossfade,
    durationSec: total,
  };
}

/**
 * The crossfade the merge uses: none for one clip, and at most half the shortest clip, since
 * a longer transition would run into the next one.
 */
export function effectiveCrossfade(requested: number, durations: readonly number[]): number {
  return durations.length > 1 ? Math.max(0, Math.min(requested, Math.min(...durations) / 2)) : 0;
}

/** Runs the merge; resolves with the plan used (its duration is the expected one). */
export async function mergeClips(options: MergeOptions): Promise<MergePlan> {
  let subtitlesFile: string | undefined;
  const durations = options.clips.map((c) => c.probe.durationSec);
  const cues = options.captions
    ? buildCues(options.captions, durations, effectiveCrossfade(options.crossfadeSec, durations))
    : [];
  if (cues.length > 0) {
    subtitlesFile = join(options.workDir, 'subtitles.srt');
    await writeFile(subtitlesFile, toSrt(cues), 'utf8');
  }
  if (cues.length === 0 && canStreamCopy(options)) return copyClips(options);
  const plan = planMerge(options, subtitlesFile);
  await runFfmpeg({
    binaries: options.binaries,
    what: `merging ${options.clips.length} clip${options.clips.length === 1 ? '' : 's'}`,
    signal: options.signal,
    expectedDurationSec: plan.durationSec,
    onProgress: options.onProgress,
    build: (command) => {
      for (const clip of options.clips) command.input(clip.file);
      if (options.audio) command.input(options.audio.file);
      command
        .complexFilter(plan.filterGraph)
        .output(options.output)
        .outputOptions(mergeOutputOptions(plan, options));
    },
  });
  return plan;
}

/**
 * The encoder settings of a merge that re-encodes: one list, so the benchmark's plain ffmpeg
 * command (bench/media.ts) uses exactly what the merge uses.
 */
export function mergeOutputOptions(
  plan: Pick<MergePlan, 'videoLabel' | 'audioLabel'>,
  options: Pick<MergeOptions, 'crf' | 'fps'>,
): string[] {
  return [
    '-map',
    `[${plan.videoLabel}]`,
    ...(plan.audioLabel ? ['-map', `[${plan.audioLabel}]`, '-c:a', 'aac', '-b:a', '192k'] : []),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    String(options.crf),
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(options.fps),
    '-movflags',
    '+faststart',
  ];
}

/** Frame rates closer than this are the same rate (ffprobe reports 24 as 24 or 24000/1000). */
const FPS_TOLERANCE = 0.001;

/**
 * True when re-encoding could only lose quality: every clip is H.264 yuv420p with square
 * pixels at exactly the requested size and frame rate, all share one time base, profile and
 * level (the concat demuxer keeps the first clip's stream header for all of them), none has
 * sound of its own, and there is no music, crossfade or subtitle to put in. The copy keeps the
 * clips' own quality, so `crf` does not apply to it.
 */
export function canStreamCopy(
  options: Pick<MergeOptions, 'clips' | 'audio' | 'width' | 'height' | 'fps' | 'crossfadeSec'>,
): boolean {
  const { clips } = options;
  if (clips.length === 0 || options.audio) return false;
  const durations = clips.map((c) => c.probe.durationSec);
  if (effectiveCrossfade(options.crossfadeSec, durations) > 0) return false;
  const first = clips[0].probe;
  return clips.every(({ probe }) => {
    const square =
      probe.sampleAspectRatio === undefined ||
      probe.sampleAspectRatio === '1:1' ||
      probe.sampleAspectRatio === '0:1';
    return (
      !probe.hasAudio &&
      probe.videoCodec === 'h264' &&
      probe.pixelFormat === 'yuv420p' &&
      square &&
      probe.width === options.width &&
      probe.height === options.height &&
      Math.abs(probe.fps - options.fps) < FPS_TOLERANCE &&
      probe.timeBase !== undefined &&
      probe.timeBase === first.timeBase &&
      probe.videoProfile === first.videoProfile &&
      probe.videoLevel === first.videoLevel
    );
  });
}

/** The concat demuxer's list file: one `file '…'` line per clip, quotes escaped as it reads them. */
export function concatList(files: readonly string[]): string {
  return files.map((file) => `file '${file.replaceAll("'", "'\\''")}'\n`).join('');
}

async function copyClips(options: MergeOptions): Promise<MergePlan> {
  const list = join(options.workDir, 'concat.txt');
  await writeFile(list, concatList(options.clips.map((c) => c.file)), 'utf8');
  const durationSec = options.clips.reduce((sum, c) => sum + c.probe.durationSec, 0);
  await runFfmpeg({
    binaries: options.binaries,
    what: `joining ${options.clips.length} clip${options.clips.length === 1 ? '' : 's'}`,
    signal: options.signal,
    expectedDurationSec: durationSec,
    onProgress: options.onProgress,
    build: (command) => {
      command
        .input(list)
        // -safe 0: the list names absolute paths (our own scratch files, never user input).
        .inputOptions(['-f', 'concat', '-safe', '0'])
        .output(options.output)
        .outputOptions(['-map', '0:v', '-c', 'copy', '-movflags', '+faststart']);
    },
  });
  return { filterGraph: '', videoLabel: '0:v', crossfadeSec: 0, durationSec, streamCopy: true };
}

/** Seconds for a filter option: millisecond precision, no exponent notation. */
function seconds(value: number): string {
  return (Math.round(Math.max(0, value) * 1000) / 1000).toFixed(3);
}
