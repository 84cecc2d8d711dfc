/**
 * Engine benchmark (not a test): the character-short template at its own sizes (4 shots,
 * 1280x720 out) on embedded defaults and local providers, run fresh, then again unchanged
 * (every node from the cache), then with one merge param changed (only the merge re-runs).
 * Wall time from POST-equivalent start to the run's end, median of a few rounds, each round
 * with its own script so the fresh run really is fresh. Writes its section of bench/RESULTS.md.
 *
 *   npx tsx bench/engine-runs.bench.ts        (part of npm run bench)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphSchema } from '../nodes/definitions';
import type { RunSnapshot } from '../engine/runs/events';
import { createEngine } from '../engine/engine';
import type { Engine } from '../engine/engine-types';
import { writeResultsSection } from './results';

const ROUNDS = 3;
const COMMAND = 'npx tsx bench/engine-runs.bench.ts';

async function timedRun(
  engine: Engine,
  start: () => Promise<{ id: string }>,
): Promise<{ ms: number; snapshot: RunSnapshot }> {
  const began = performance.now();
  const run = await start();
  const snapshot = await engine.runs.waitForEnd(run.id, 10 * 60_000);
  if (snapshot.status !== 'succeeded')
    throw new Error(`run ${run.id} ended ${snapshot.status}: ${snapshot.error}`);
  return { ms: performance.now() - began, snapshot };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-bench-'));
  const env: NodeJS.ProcessEnv = { ...process.env, LAB_DATA_DIR: dataDir };
  for (const key of ['OPENAI_API_KEY', 'SD_API_URL', 'RUNWAY_API_KEY']) delete env[key];
  const engine = await createEngine({ dataDir, env, startWorker: true });
  const template = await readFile(
    new URL('../workflows/character-short.json', import.meta.url),
    'utf8',
  );
  const loaded = graphSchema.load(template);
  if (!loaded.ok) throw new Error('the template does not load');
  const fresh: number[] = [];
  const cached: number[] = [];
  const mergeOnly: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Every sentence differs per round: the cache is per shot, so one shared sentence
      // would let later rounds reuse that shot's frame and clip.
      const script = [
        `Mira reaches ridge number ${round} at dawn.`,
        `She looks out over valley number ${round}.`,
        `"We made it, ${round} times," she says.`,
        `She walks on toward light number ${round}.`,
      ].join(' ');
      const values = { 'script.text': script };
      const first = await timedRun(engine, () =>
        engine.runs.start({ graph: loaded.graph, values }),
      );
      const again = await timedRun(engine, () =>
        engine.runs.start({ graph: loaded.graph, values }),
      );
      const changed = await timedRun(engine, () =>
        engine.runs.rerun(again.snapshot.runId, { params: { merge: { crf: 24 } } }),
      );
      const statuses = Object.values(again.snapshot.nodes).map((n) => n.status);
      if (!statuses.every((s) => s === 'cached' || s === 'succeeded'))
        throw new Error('unexpected statuses');
      fresh.push(first.ms);
      cached.push(again.ms);
      mergeOnly.push(changed.ms);
      console.log(
        `round ${round + 1}: fresh ${first.ms.toFixed(0)} ms, cached ${again.ms.toFixed(0)} ms, merge changed ${changed.ms.toFixed(0)} ms`,
      );
    }
  } finally {
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const section = [
    '<!-- engine-runs:start -->',
    '## Engine: the character-short template, fresh vs cached',
    '',
    `Command: \`${COMMAND}\` (embedded defaults: SQLite, files, a Temporal dev server, one`,
    'in-process worker, local providers; 4 shots at 768x432, merged to 1280x720).',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; median of ${ROUNDS} rounds.`,
    '',
    '| run | wall time | vs fresh |',
    '| --- | --- | --- |',
    `| fresh (every node works) | ${median(fresh).toFixed(0)} ms | 1× |`,
    `| identical again (every node cached) | ${median(cached).toFixed(0)} ms | ${(median(fresh) / median(cached)).toFixed(1)}× faster |`,
    `| one merge param changed (only the merge runs) | ${median(mergeOnly).toFixed(0)} ms | ${(median(fresh) / median(mergeOnly)).toFixed(1)}× faster |`,
    '',
    'A cached run still pays the workflow start, one activity round trip per node (each checks',
    'the cache and that the cached artifacts still exist) and the event writes.',
    '<!-- engine-runs:end -->',
    '',
  ].join('\n');
  writeResultsSection('engine-runs', section);
  console.log(section);
}

await main();
