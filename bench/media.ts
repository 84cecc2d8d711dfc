/**
 * ffmpeg-merge against plain ffmpeg on the same job. Ours is the node's whole job: its activity
 * (nodes/ffmpeg-merge/activity.ts) on a real node context with embedded stores, merging clips
 * stored as our clip node stores them (each probed once when made, the probe kept on its
 * record), and storing its output. Plain is one ffmpeg command line with the very filter graph
 * and encoder options the merge uses (`planMerge`, `mergeOutputOptions`), run with execFile.
 * The two alternate within each round so drift in the machine's load hits both alike.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactService } from '../engine/artifacts/artifact-service';
import type { ArtifactRef } from '../engine/graph/values';
import { probeVideo } from '../engine/media/ffmpeg';
import {
  concatList,
  mergeClips,
  mergeOutputOptions,
  planMerge,
  type MergeClip,
} from '../engine/media/merge';
import { makeTestClip } from '../engine/testing/media-clips';
import { createTestNodeContext } from '../engine/testing/node-context';
import type { Stores } from '../engine/stores';
import { activity as ffmpegMergeActivity } from '../nodes/ffmpeg-merge/activity';
import { ffmpegMerge } from '../nodes/ffmpeg-merge/definition';
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
  /** The node's activity on clips whose probes were kept when they were made. */
  ours: number;
  /** The same on clips stored without probes (made before probes were kept): one ffprobe per clip. */
  oursUnprobed: number;
  /** mergeClips alone, given the probes. */
  oursMergeOnly: number;
  /**
   * Storing the merged file as the node does (ArtifactService.putFile: hashed, written and
   * fsynced into the blob store, recorded): the part of ours that plain ffmpeg does not do.
   */
  oursStore: number;
  plain: number;
  /** The plain command, as run (paths shortened to their file names). */
  command: string;
  /** The merge joined the clips by stream copy (as mergeClips reported it). */
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

/** Stores each distinct clip as the clip node does: probed once, the probe kept with it. */
async function storeAsClipNodeDoes(
  artifacts: ArtifactService,
  files: readonly string[],
): Promise<{ refs: ArtifactRef[]; clips: MergeClip[] }> {
  const stored = new Map<string, { ref: ArtifactRef; clip: MergeClip }>();
  for (const file of new Set(files)) {
    const probe = await probeVideo(file, file, binaries);
    const ref = await artifacts.putFile(file, 'video/mp4', {
      width: probe.width,
      height: probe.height,
      durationSec: probe.durationSec,
      probe,
    });
    stored.set(file, { ref, clip: { file: await artifacts.toLocalFile(ref), probe } });
  }
  return {
    refs: files.map((file) => stored.get(file)!.ref),
    clips: files.map((file) => stored.get(file)!.clip),
  };
}

/** Forgets the kept probes: the clips look like uploads from before probes were kept. */
async function forgetProbes(stores: Stores, refs: readonly ArtifactRef[]): Promise<void> {
  for (const id of new Set(refs.map((ref) => ref.id))) {
    const { mediaProbe: _dropped, ...record } = (await stores.documents.artifacts.get(id))!;
    await stores.documents.artifacts.put(record);
  }
}

/**
 * The plain command for a merge job: the concat demuxer with `-c copy` when the merge would
 * copy, else every clip as an input and the merge's own filter graph and encoder options.
 */
async function plainArgs(
  clips: readonly MergeClip[],
  job: MergeJob,
  streamCopy: boolean,
  output: string,
  workDir: string,
): Promise<string[]> {
  if (streamCopy) {
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
  const plan = planMerge({ ...job, clips, crossfadeSec: 0 });
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
  const t = await createTestNodeContext();
  try {
    const { refs, clips } = await storeAsClipNodeDoes(t.artifacts, files);
    const params = ffmpegMerge.params.parse({ ...job, crossfadeSec: 0, subtitles: false });
    const mergeNode = () => ffmpegMergeActivity({ params, inputs: { clips: refs }, ctx: t.ctx });
    const mergedFile = join(workDir, 'ours-merge-only.mp4');
    const mergeOnly = () =>
      mergeClips({
        ...job,
        clips,
        crossfadeSec: 0,
        output: mergedFile,
        workDir,
        binaries,
      });
    // A warm-up of each: the page cache, and whether the merge copies.
    const { streamCopy = false } = await mergeOnly();
    await mergeNode();
    const plainOutput = join(workDir, 'plain.mp4');
    const plainClips = files.map((file, i) => ({ file, probe: clips[i].probe }));
    const args = await plainArgs(plainClips, job, streamCopy, plainOutput, workDir);

    const ours: number[] = [];
    const merged: number[] = [];
    const stored: number[] = [];
    const plain: number[] = [];
    // Each round runs the three jobs in a rotated order, so none always follows another's
    // write-back (each writes a file of the same size) or always comes first.
    const jobs = [
      async () => ours.push((await timed(mergeNode)).ms),
      async () =>
        plain.push((await timed(() => run('ffmpeg', args, { maxBuffer: 64 * 2 ** 20 }))).ms),
      async () => merged.push((await timed(mergeOnly)).ms),
    ];
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < jobs.length; i++) await jobs[(round + i) % jobs.length]();
      stored.push((await timed(() => t.artifacts.putFile(mergedFile, 'video/mp4'))).ms);
    }
    // Apart, and fewer: a burst of one ffprobe per clip would disturb the rounds above.
    const unprobed: number[] = [];
    for (let round = 0; round < Math.min(rounds, 3); round++) {
      await forgetProbes(t.stores, refs);
      unprobed.push((await timed(mergeNode)).ms);
    }
    return {
      clips: files.length,
      ours: median(ours),
      oursUnprobed: median(unprobed),
      oursMergeOnly: median(merged),
      oursStore: median(stored),
      plain: median(plain),
      command: `ffmpeg ${args.map((a) => shellQuote(shorten(a, workDir, files))).join(' ')}`,
      streamCopy,
    };
  } finally {
    await t.dispose();
  }
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
