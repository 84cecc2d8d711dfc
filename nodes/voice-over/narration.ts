/**
 * The narration track: which words each shot says, where they sit on the timeline, and the one
 * ffmpeg command that lays them out. Shot i's line starts at the sum of the earlier shots'
 * `durationSec`, and every shot's segment lasts exactly its `durationSec`: a short line is
 * followed by silence, a long one is sped up with `atempo` (at most MAX_TEMPO, beyond which
 * speech stops being intelligible) and whatever still overruns is cut, so the track never
 * drifts against the pictures. Worker-only (ffmpeg through engine/media/ffmpeg).
 */
import type { Shot } from '../../engine/graph/values';
import { runFfmpeg, type FfmpegBinaries } from '../../engine/media/ffmpeg';

/** What a shot says, per the node's `text` param. */
export type SpokenTextMode = 'dialogue' | 'description' | 'dialogue-or-description';

/** The fastest a line is played to fit its shot; beyond this it is cut. */
export const MAX_TEMPO = 2;
/** The track's sample rate (ffmpeg-merge resamples to 48 kHz too). */
const SAMPLE_RATE = 48_000;
/** Speech shorter than its shot by less than this is not worth a tempo change. */
const FIT_TOLERANCE_SEC = 0.01;

/** The words shot `shot` speaks under `mode`; empty means the shot is silent. */
export function spokenText(shot: Shot, mode: SpokenTextMode): string {
  const dialogue = shot.dialogue?.trim() ?? '';
  const description = shot.description.trim();
  if (mode === 'dialogue') return dialogue;
  if (mode === 'description') return description;
  return dialogue || description;
}

/** Where each shot starts on the timeline: the sum of the earlier shots' durations. */
export function shotStarts(shots: readonly Pick<Shot, 'durationSec'>[]): number[] {
  let start = 0;
  return shots.map((shot) => {
    const at = start;
    start += shot.durationSec;
    return at;
  });
}

/** How a line of `speechSec` is fitted into a shot of `shotSec`. */
export interface SpeechFit {
  /** 1 when the line fits; up to MAX_TEMPO when it is sped up. */
  tempo: number;
  /** True when the line is still too long at MAX_TEMPO and its end is cut. */
  cut: boolean;
}

export function fitSpeech(speechSec: number, shotSec: number): SpeechFit {
  if (speechSec <= shotSec + FIT_TOLERANCE_SEC) return { tempo: 1, cut: false };
  const tempo = Math.min(MAX_TEMPO, speechSec / shotSec);
  return { tempo, cut: speechSec / tempo > shotSec + FIT_TOLERANCE_SEC };
}

/** One shot's part of the track: its length, and its spoken line if it has one. */
export interface NarrationSegment {
  durationSec: number;
  speech?: { file: string; durationSec: number };
}

/**
 * The filter graph for `segments`, in order: input k is the k-th segment that has speech.
 * Pure, so the timing is testable without ffmpeg. The output label is `[narration]`.
 */
export function narrationFilter(segments: readonly NarrationSegment[]): string {
  if (segments.length === 0) throw new Error('narrationFilter needs at least one segment');
  const parts: string[] = [];
  let input = 0;
  segments.forEach((segment, i) => {
    const duration = seconds(segment.durationSec);
    if (!segment.speech) {
      parts.push(`anullsrc=r=${SAMPLE_RATE}:cl=mono,atrim=duration=${duration}[s${i}]`);
      return;
    }
    const { tempo } = fitSpeech(segment.speech.durationSec, segment.durationSec);
    parts.push(
      `[${input++}:a]aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=mono,` +
        (tempo > 1 ? `atempo=${tempo.toFixed(4)},` : '') +
        // Pad with silence, then cut to the shot: every segment is exactly its shot long.
        `apad,atrim=duration=${duration},asetpts=PTS-STARTPTS[s${i}]`,
    );
  });
  const labels = segments.map((_, i) => `[s${i}]`).join('');
  parts.push(`${labels}concat=n=${segments.length}:v=0:a=1[narration]`);
  return parts.join(';');
}

export interface RenderNarrationOptions {
  segments: readonly NarrationSegment[];
  /** An `.m4a` path: AAC in MP4 (`audio/mp4`). */
  output: string;
  binaries: FfmpegBinaries;
  signal: AbortSignal;
  onProgress?(fraction: number): void;
}

/** Lays the segments end to end into one AAC track as long as all the shots together. */
export async function renderNarration(options: RenderNarrationOptions): Promise<void> {
  const { segments } = options;
  const total = segments.reduce((sum, s) => sum + s.durationSec, 0);
  await runFfmpeg({
    binaries: options.binaries,
    signal: options.signal,
    expectedDurationSec: total,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    what: 'laying out the narration',
    build: (command) => {
      for (const segment of segments) if (segment.speech) command.input(segment.speech.file);
      command
        .complexFilter(narrationFilter(segments))
        .output(options.output)
        .outputOptions([
          '-map',
          '[narration]',
          '-c:a',
          'aac',
          '-b:a',
          '128k',
          '-movflags',
          '+faststart',
        ]);
    },
  });
}

/**
 * The length of a PCM WAV from its header and its real size, or undefined when it is not one.
 * Read from the bytes because streamed WAVs (OpenAI's among them) may declare a bogus data
 * size, which would make ffprobe report a wrong duration.
 */
export function wavDurationSec(wav: Buffer): number | undefined {
  if (wav.length < 12 || wav.toString('latin1', 0, 4) !== 'RIFF') return undefined;
  if (wav.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  let byteRate: number | undefined;
  let offset = 12;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('latin1', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= wav.length) {
      byteRate = wav.readUInt32LE(body + 8);
    } else if (id === 'data') {
      if (!byteRate) return undefined;
      const bytes = Math.min(size, wav.length - body);
      return bytes / byteRate;
    }
    offset = body + size + (size % 2);
  }
  return undefined;
}

/** Seconds for a filter argument: at most 6 decimals, no exponent. */
function seconds(value: number): string {
  return String(Number(value.toFixed(6)));
}
