/**
 * ffmpeg-merge against plain ffmpeg on the same job. Ours is what the node does: probe every
 * clip (all at once, as nodes/ffmpeg-merge/activity.ts does), then `mergeClips`. Plain is one
 * ffmpeg command line with the very filter graph and encoder options the merge uses
 * (`planMerge`, `mergeOutputOptions`), run with execFile. The two alternate within each round
 * so drift in the machine's load hits both alike.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { probeVideo } from '../engine/media/ffmpeg';
import {
  canStreamCopy,
  concatList,
  mergeClips,
  mergeOutputOptions,
  planMerge,
  type MergeClip,
} from '../engine/media/merge';
import { makeTestClip } from '../engine/testing/media-clips';
import { writeFile } from 'node:fs/promises';
import { median, timed } from './stats';

const run = promisify(execFile);
const binaries = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

export interface ClipFormat {
  width: number;
  height: number;
  fps: number;
  durationSec: number;
}

export interface MergeJob {
  width: number;
  height: number;
  fps: number;
  crf: number;
}

export interface MergeFigures {
  clips: number;
  /** Probes + mergeClips, the node's whole job. */
  ours: number;
  /** mergeClips alone. */
  oursMergeOnly: number;
  plain: number;
  /** The plain command, as run (paths shortened to their file names). */
  command: string;
  streamCopy: boolean;
}

/** `count` clips cycling through four distinct test patterns (distinct content, cheap to make). */
export async function makeClips(dir: string, count: number, format: ClipFormat): Promise<string[]> {
  const distinct: string[] = [];
  for (let i = 0; i < Math.min(4, count); i++) {
    distinct.push(
      await makeTestClip(dir, `clip-${format.width}x${format.height}-${i}.mp4`, format),
    );
  }
  return Array.from({ length: count }, (_, i) => distinct[i % distinct.length]);
}

/** Every clip probed at once, as nodes/ffmpeg-merge/activity.ts does. */
function probeAll(files: readonly string[]): Promise<MergeClip[]> {
  return Promise.all(
    files.map(async (file, i) => ({
      file,
      probe: await probeVideo(file, `clip ${i + 1}`, binaries),
    })),
  );
}

/**
 * The plain command for a merge job: the concat demuxer with `-c copy` when the merge would
 * copy, else every clip as an input and the merge's own filter graph and encoder options.
 */
async function plainArgs(
  clips: readonly MergeClip[],
  job: MergeJob,
  output: string,
  workDir: string,
): Promise<string[]> {
  const options = { ...job, clips, crossfadeSec: 0 };
  if (canStreamCopy(options)) {
    const list = join(workDir, 'plain-concat.txt');
    await writeFile(list, concatList(clips.map((c) => c.file)));
    return [
      '-hide_banner',
      '-y',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      list,
      '-map',
      '0:v',
      '-c',
      'copy',
      '-movflags',
      '+faststart',
      output,
    ];
  }
  const plan = planMerge(options);
  return [
    '-hide_banner',
    '-y',
    ...clips.flatMap((c) => ['-i', c.file]),
    '-filter_complex',
    plan.filterGraph,
    ...mergeOutputOptions(plan, job),
    output,
  ];
}

/** Merges `files` into `job`'s format `rounds` times each way; medians in ms. */
export async function measureMerge(
  files: readonly string[],
  job: MergeJob,
  rounds: number,
  workDir: string,
): Promise<MergeFigures> {
  const clips = await probeAll(files); // also warms the page cache for both sides
  const output = join(workDir, 'ours.mp4');
  const plainOutput = join(workDir, 'plain.mp4');
  const args = await plainArgs(clips, job, plainOutput, workDir);
  const ours: number[] = [];
  const mergeOnly: number[] = [];
  const plain: number[] = [];
  let streamCopy = false;
  const oursOnce = async () => {
    const probed = await timed(() => probeAll(files));
    const merged = await timed(() =>
      mergeClips({ ...job, clips: probed.value, crossfadeSec: 0, output, workDir, binaries }),
    );
    streamCopy = merged.value.streamCopy === true;
    ours.push(probed.ms + merged.ms);
    mergeOnly.push(merged.ms);
  };
  const plainOnce = async () => {
    plain.push((await timed(() => run('ffmpeg', args, { maxBuffer: 64 * 2 ** 20 }))).ms);
  };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      await oursOnce();
      await plainOnce();
    } else {
      await plainOnce();
      await oursOnce();
    }
  }
  return {
    clips: files.length,
    ours: median(ours),
    oursMergeOnly: median(mergeOnly),
    plain: median(plain),
    command: `ffmpeg ${args.map((a) => shellQuote(shorten(a, workDir, files))).join(' ')}`,
    streamCopy,
  };
}

/** Paths as file names, and a long filter graph cut to its first clip's chain and its end. */
function shorten(arg: string, workDir: string, files: readonly string[]): string {
  let text = arg.replaceAll(`${workDir}/`, '');
  for (const file of new Set(files)) text = text.replaceAll(file, file.split('/').at(-1)!);
  if (text.length > 400) {
    const parts = text.split(';');
    text = [parts[0], `… (${parts.length - 2} more, one per clip) …`, parts.at(-1)].join(';');
  }
  return text;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
