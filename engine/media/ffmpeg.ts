/**
 * The one door to ffmpeg and ffprobe. fluent-ffmpeg is archived upstream, so it stays behind
 * this module: callers build commands through the small `FfmpegCommandBuilder` interface and
 * never import it. Progress comes from ffmpeg's own `time=` output divided by the duration the
 * caller expects, because fluent-ffmpeg's `percent` is measured against the first input only
 * (268 % on a three-clip concat).
 */
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import { NonRetryableNodeError } from '../worker/node-api';
import type { MediaTools } from '../config';
import { demuxerFor, FILE_ONLY_PROTOCOLS, sniffMedia } from '../server/media-sniff';
import type { MediaProbe, VideoProbe } from './media-probe';

/** Where the binaries are: FFMPEG_PATH / FFPROBE_PATH or the PATH names (engine/config.ts). */
export type FfmpegBinaries = MediaTools;

const DEFAULT_BINARIES: FfmpegBinaries = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

/**
 * The part of a command callers may use. It is a subset of fluent-ffmpeg's own command, so
 * replacing the library later means re-implementing these five methods, nothing more.
 */
export interface FfmpegCommandBuilder {
  /** Adds an input (a file path, or a lavfi graph after `-f lavfi`). */
  input(source: string): FfmpegCommandBuilder;
  /** Options for the input added last, e.g. `['-loop', '1']`. */
  inputOptions(options: string[]): FfmpegCommandBuilder;
  /** One `-filter_complex` graph; labels are mapped with `-map` in the output options. */
  complexFilter(graph: string): FfmpegCommandBuilder;
  output(target: string): FfmpegCommandBuilder;
  /** Options for the output added last. */
  outputOptions(options: string[]): FfmpegCommandBuilder;
}

export interface RunFfmpegOptions {
  build(command: FfmpegCommandBuilder): void;
  /** Length of the output in seconds: progress is ffmpeg's time ÷ this. */
  expectedDurationSec?: number;
  /** Aborting kills ffmpeg at once (SIGKILL) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with 0..1 as ffmpeg reports its output time. */
  onProgress?(fraction: number): void;
  binaries?: FfmpegBinaries;
  /** What the command does, for error messages ("merging the clips"). */
  what?: string;
}

/** ffmpeg ran and failed. Retryable: a resource hiccup (memory, disk) may pass on retry. */
export class FfmpegError extends Error {
  readonly code = 'ffmpeg_failed';
  constructor(
    message: string,
    /** The last meaningful stderr lines, for logs and error details. */
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'FfmpegError';
  }
}

/** Runs one ffmpeg command to completion, with progress, cancellation and readable errors. */
export async function runFfmpeg(options: RunFfmpegOptions): Promise<void> {
  const { signal, onProgress, expectedDurationSec } = options;
  const what = options.what ?? 'running ffmpeg';
  const binaries = options.binaries ?? DEFAULT_BINARIES;
  signal?.throwIfAborted();
  await assertBinary(binaries.ffmpegPath, 'ffmpeg');

  // fluent-ffmpeg keeps binary paths in a module-level cache; set them before every command
  // so the config passed in is the one used.
  ffmpeg.setFfmpegPath(binaries.ffmpegPath);
  ffmpeg.setFfprobePath(binaries.ffprobePath);
  const command = ffmpeg({ stdoutLines: 200 });
  command.addOption('-hide_banner');
  options.build(command as unknown as FfmpegCommandBuilder);

  const tail = new StderrTail(40);
  let lastFraction = -1;

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const kill = () => {
      try {
        command.kill('SIGKILL');
      } catch {
        // Not spawned yet: the 'start' handler kills it.
      }
    };
    const onAbort = () => {
      const spawned = (command as unknown as { ffmpegProc?: unknown }).ffmpegProc !== undefined;
      kill();
      // Not spawned yet: reject now, the 'start' handler kills it the moment it exists.
      // Spawned: reject from the 'error' event that follows its exit, so a caller never sees
      // the rejection while ffmpeg still runs; the timer guards against a lost exit event.
      if (!spawned) finish(abortReason(signal));
      else setTimeout(() => finish(abortReason(signal)), 2_000).unref();
    };

    command.on('start', () => {
      if (signal?.aborted) kill();
    });
    command.on('stderr', (line: string) => {
      const seconds = parseTime(line);
      if (seconds === undefined) {
        tail.push(line);
        return;
      }
      if (!onProgress || !expectedDurationSec || expectedDurationSec <= 0) return;
      const fraction = Math.min(1, Math.max(0, seconds / expectedDurationSec));
      if (fraction > lastFraction) {
        lastFraction = fraction;
        onProgress(fraction);
      }
    });
    command.on('end', () => {
      if (onProgress && lastFraction < 1) onProgress(1);
      finish();
    });
    command.on('error', (error: Error) => {
      if (signal?.aborted) return finish(abortReason(signal));
      const detail = tail.summary() || error.message;
      const exit = /ffmpeg (exited with code -?\d+|was killed with signal \w+)/.exec(error.message);
      const how = exit ? `ffmpeg ${exit[1]}` : firstLine(error.message);
      finish(new FfmpegError(`${what} failed: ${how} (${detail})`, tail.text()));
    });
    // The signal may have fired while the binary check ran.
    if (signal?.aborted) return finish(abortReason(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    command.run();
  });
}

/** Runs ffprobe on a file. A file ffprobe cannot read is a non-retryable `unreadable_media`. */
export async function probe(
  file: string,
  binaries: FfmpegBinaries = DEFAULT_BINARIES,
): Promise<MediaProbe> {
  try {
    return await probeOrThrowDetail(file, binaries);
  } catch (error) {
    if (!(error instanceof ProbeFailure)) throw error;
    throw new NonRetryableNodeError(
      `media file is not readable (ffprobe: ${error.detail})`,
      'unreadable_media',
    );
  }
}

/**
 * The input options every ffmpeg and ffprobe call on a media file gets: the demuxer of the
 * type its bytes say it is (`-f`), and no protocol but `file`. Without them ffmpeg probes the
 * content itself, and a file that starts like MP3 (ID3), MP4 (ftyp) or WAV (RIFF) and goes on
 * as an HLS, DASH, ffconcat or SDP playlist gets a demuxer that opens the files and URLs it
 * names. A file whose bytes are none of the accepted types is not read at all.
 */
export async function pinnedInputOptions(file: string): Promise<string[]> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new ProbeFailure(
      error.code === 'ENOENT' ? 'No such file or directory' : 'the file cannot be opened',
    );
  });
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const media = sniffMedia(head);
  if (!media) {
    throw new ProbeFailure(
      'not a supported media file (its bytes are none of PNG, JPEG, WebP, MP4, MOV, WebM, MP3, WAV, Ogg)',
    );
  }
  return ['-f', demuxerFor(media.mime), '-protocol_whitelist', FILE_ONLY_PROTOCOLS];
}

/**
 * ffprobe names the file it read in its messages: a server temp path (`/tmp/charlab-upload-…`)
 * says nothing to a user and tells an attacker where uploads live.
 */
export function withoutPaths(detail: string, file: string): string {
  return detail
    .split(file)
    .join('the file')
    .replace(/(?:[A-Za-z]:)?(?:[/\\][\w.@+-]+){2,}/g, 'the file');
}

/** ffprobe could not read a file; `detail` is its last stderr line. */
class ProbeFailure extends Error {
  constructor(readonly detail: string) {
    super(`ffprobe: ${detail}`);
  }
}

async function probeOrThrowDetail(file: string, binaries: FfmpegBinaries): Promise<MediaProbe> {
  await assertBinary(binaries.ffprobePath, 'ffprobe');
  const input = await pinnedInputOptions(file);
  ffmpeg.setFfprobePath(binaries.ffprobePath);
  const data = await new Promise<ffmpeg.FfprobeData>((resolve, reject) => {
    ffmpeg.ffprobe(file, input, (error: Error | null, result: ffmpeg.FfprobeData) => {
      if (error) reject(new ProbeFailure(withoutPaths(lastMeaningfulLine(error.message), file)));
      else resolve(result);
    });
  });
  const video = data.streams.find((s) => s.codec_type === 'video');
  const audio = data.streams.find((s) => s.codec_type === 'audio');
  const duration = positiveNumber(data.format.duration) ?? positiveNumber(video?.duration);
  return {
    formatName: data.format.format_name ?? 'unknown',
    ...(duration !== undefined ? { durationSec: duration } : {}),
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    ...(video?.width ? { width: video.width } : {}),
    ...(video?.height ? { height: video.height } : {}),
    ...(video && parseRate(video.avg_frame_rate ?? video.r_frame_rate) !== undefined
      ? { fps: parseRate(video.avg_frame_rate ?? video.r_frame_rate) }
      : {}),
    ...(video?.codec_name ? { videoCodec: video.codec_name } : {}),
    ...(video?.pix_fmt ? { pixelFormat: video.pix_fmt } : {}),
    ...(video?.profile !== undefined ? { videoProfile: String(video.profile) } : {}),
    ...(positiveNumber(video?.level) !== undefined
      ? { videoLevel: positiveNumber(video?.level) }
      : {}),
    ...(video?.time_base ? { timeBase: String(video.time_base) } : {}),
    ...(video?.sample_aspect_ratio && video.sample_aspect_ratio !== 'N/A'
      ? { sampleAspectRatio: video.sample_aspect_ratio }
      : {}),
    ...(audio?.codec_name ? { audioCodec: audio.codec_name } : {}),
  };
}

/**
 * Probes a file that must be a video with a duration; anything else is a non-retryable
 * `invalid_video` naming `label` ("clip 2").
 */
export async function probeVideo(
  file: string,
  label: string,
  binaries: FfmpegBinaries = DEFAULT_BINARIES,
): Promise<VideoProbe> {
  let info: MediaProbe;
  try {
    info = await probeOrThrowDetail(file, binaries);
  } catch (error) {
    if (!(error instanceof ProbeFailure)) throw error;
    throw new NonRetryableNodeError(
      `${label} is not a readable video (ffprobe: ${error.detail})`,
      'invalid_video',
    );
  }
  return requireVideo(info, label);
}

/**
 * A probe (fresh, or one kept on the artifact's record) as a video's: with a picture and a
 * duration, else a non-retryable `invalid_video` naming `label`.
 */
export function requireVideo(info: MediaProbe, label: string): VideoProbe {
  const { width, height, durationSec, fps, videoCodec } = info;
  if (!info.hasVideo || !width || !height || !videoCodec) {
    throw new NonRetryableNodeError(
      `${label} has no video stream: connect a video`,
      'invalid_video',
    );
  }
  if (!durationSec) {
    throw new NonRetryableNodeError(
      `${label} has no duration: it is a still image, not a video`,
      'invalid_video',
    );
  }
  return { ...info, width, height, durationSec, videoCodec, fps: fps ?? 0 };
}

/** Size and codec of an image that ffmpeg has decoded successfully. */
export interface ImageInfo {
  width: number;
  height: number;
  codec: string;
}

/**
 * Checks that a file is an image ffmpeg can decode, and returns its size. Decoding (not just
 * probing the header) catches truncated files. Failure is a non-retryable `invalid_image`:
 * "<label> is not a readable image (ffmpeg: …)".
 */
export async function readImageInfo(
  file: string,
  label = 'image',
  binaries: FfmpegBinaries = DEFAULT_BINARIES,
): Promise<ImageInfo> {
  const fail = (detail: string) =>
    new NonRetryableNodeError(`${label} is not a readable image (${detail})`, 'invalid_image');
  let info: MediaProbe;
  try {
    info = await probeOrThrowDetail(file, binaries);
  } catch (error) {
    if (!(error instanceof ProbeFailure)) throw error;
    throw fail(`ffprobe: ${error.detail}`);
  }
  if (!info.hasVideo || !info.width || !info.height || !info.videoCodec) {
    throw fail(`ffprobe: no picture in ${info.formatName} data`);
  }
  // probeOrThrowDetail sniffed the same bytes already: this cannot refuse what it accepted.
  const input = await pinnedInputOptions(file);
  try {
    await runFfmpeg({
      binaries,
      what: `decoding ${label}`,
      build: (command) =>
        command
          .input(file)
          .inputOptions(['-v', 'error', '-xerror', ...input])
          .output('-')
          .outputOptions(['-frames:v', '1', '-f', 'null']),
    });
  } catch (error) {
    if (error instanceof FfmpegError)
      throw fail(
        `ffmpeg: ${withoutPaths(error.stderrTail.split('\n').slice(-2).join(' ') || error.message, file)}`,
      );
    throw error;
  }
  return { width: info.width, height: info.height, codec: info.videoCodec };
}

/** Parses ffmpeg's `time=HH:MM:SS.xx` (stats line) or `out_time=` (-progress) into seconds. */
export function parseTime(line: string): number | undefined {
  const match = /(?:^|\s)(?:out_)?time=\s*(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  if (!match) return undefined;
  if (match[1] === '-') return 0;
  return Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
}

const checkedBinaries = new Map<string, Promise<void>>();

/**
 * Fails fast, and readably, when a binary cannot be started: a retry on this worker would
 * not help, so it is non-retryable. The check runs once per path and process.
 */
async function assertBinary(path: string, name: 'ffmpeg' | 'ffprobe'): Promise<void> {
  let check = checkedBinaries.get(path);
  if (!check) {
    check = new Promise<void>((resolve, reject) => {
      execFile(path, ['-version'], { timeout: 10_000 }, (error) => {
        if (!error) return resolve();
        const envVar = name === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
        reject(
          new NonRetryableNodeError(
            `${name} could not be started from "${path}" (${firstLine(error.message)}): ` +
              `install ffmpeg (e.g. apt-get install ffmpeg) or set ${envVar} to the binary`,
            `${name}_not_found`,
          ),
        );
      });
    });
    checkedBinaries.set(path, check);
    check.catch(() => checkedBinaries.delete(path));
  }
  return check;
}

/** Keeps the last stderr lines worth showing (no banners, no progress lines). */
class StderrTail {
  private readonly lines: string[] = [];
  constructor(private readonly max: number) {}

  push(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    this.lines.push(trimmed);
    if (this.lines.length > this.max) this.lines.shift();
  }

  text(): string {
    return this.lines.join('\n');
  }

  /** The last few lines, joined: enough to name the cause, short enough for a UI. */
  summary(): string {
    return this.lines.slice(-3).join(' | ').slice(0, 600);
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('ffmpeg was cancelled');
  error.name = 'AbortError';
  return error;
}

function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [num, den] = rate.split('/').map(Number);
  if (!num || !Number.isFinite(num)) return undefined;
  const value = den ? num / den : num;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function positiveNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0];
}

function lastMeaningfulLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? text;
}
