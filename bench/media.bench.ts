/**
 * Media benchmark (not a test): ffmpeg-merge of 10 and 40 clips against the plain ffmpeg
 * command doing the same job (same filter graph, same encoder options), and the stream-copy
 * path for clips that already share the output's format against plain `ffmpeg -f concat -c
 * copy`. Writes the media section of bench/RESULTS.md.
 *
 *   npx tsx bench/media.bench.ts        (part of npm run bench)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeClips, measureMerge, type MergeFigures } from './media';
import { writeResultsSection } from './results';
import { machine, met, ms, ratio, table } from './stats';

const COMMAND = 'npm run bench (this part: npx tsx bench/media.bench.ts)';
const ROUNDS = 3;
/** The template's clip format (local Runway provider) and its merge's defaults. */
const CLIP = { width: 768, height: 432, fps: 24, durationSec: 0.5 };
const JOB = { width: 1280, height: 720, fps: 24, crf: 20 };
const TARGET = 1.05;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'charlab-bench-media-'));
  try {
    const results: { label: string; figures: MergeFigures }[] = [];
    for (const count of [10, 40]) {
      const files = await makeClips(dir, count, CLIP);
      const figures = await measureMerge(files, JOB, ROUNDS, dir);
      console.log(count, figures);
      results.push({ label: `${count} clips, re-encoded to 1280x720`, figures });
    }
    for (const count of [10, 40]) {
      const files = await makeClips(dir, count, CLIP);
      const figures = await measureMerge(
        files,
        { ...JOB, width: CLIP.width, height: CLIP.height },
        ROUNDS,
        dir,
      );
      console.log(count, figures);
      if (!figures.streamCopy) throw new Error('clips of the output format were re-encoded');
      results.push({ label: `${count} clips, same format: stream copy`, figures });
    }
    const rows = results.map(({ label, figures: f }) => [
      label,
      ms(f.plain),
      ms(f.ours),
      ratio(f.ours / f.plain),
      `≤ ${TARGET}× ${met(f.ours / f.plain <= TARGET)}`,
      ms(f.oursMergeOnly),
      ratio(f.oursMergeOnly / f.plain),
    ]);
    const encode = results[0].figures;
    const copy = results[2].figures;
    writeResultsSection(
      'media',
      [
        '<!-- media:start -->',
        '## Media: ffmpeg-merge against plain ffmpeg',
        '',
        `Command: \`${COMMAND}\`. Clips: H.264 test patterns, ${CLIP.width}x${CLIP.height}, ${CLIP.fps} fps,`,
        `${CLIP.durationSec} s each, no sound (the template's local clips' format). Ours is the node's job: ffprobe`,
        'every clip at once (as nodes/ffmpeg-merge/activity.ts does), then `mergeClips`',
        '(engine/media/merge.ts, via fluent-ffmpeg); "merge only" leaves',
        'out the probes. Plain is one ffmpeg command with the filter graph from `planMerge` and the',
        'encoder options from `mergeOutputOptions` — the ones the merge itself uses — run with',
        `execFile. Median of ${ROUNDS} rounds, ours and plain alternating.`,
        '',
        `Run ${machine()}, ffmpeg from PATH.`,
        '',
        table(
          [
            'job',
            'plain ffmpeg',
            'ours',
            'ours ÷ plain',
            'target',
            'merge only',
            'merge only ÷ plain',
          ],
          rows,
        ),
        '',
        `Stream copy (clips already H.264 yuv420p at the output's size and rate, one time base,`,
        'profile and level, no sound, no crossfade, music or subtitles) joins 10 clips',
        `${ratio(encode.plain / copy.plain)} faster than re-encoding them (plain ffmpeg both ways).`,
        '',
        'Plain command, 10 clips re-encoded (the filter graph has one such chain per clip):',
        '',
        '```',
        encode.command,
        '```',
        '',
        'Plain command, stream copy:',
        '',
        '```',
        copy.command,
        '```',
        '<!-- media:end -->',
        '',
      ].join('\n'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
