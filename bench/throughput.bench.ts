/**
 * Throughput benchmark (not a test): 20 fresh character-short template runs at once through
 * the API server, the worker in a process of its own. Writes the throughput section of
 * bench/RESULTS.md.
 *
 *   npx tsx bench/throughput.bench.ts        (part of npm run bench)
 */
import { writeResultsSection } from './results';
import { machine, met, ms, table } from './stats';
import { measureThroughput } from './throughput';

const COMMAND = 'npm run bench (this part: npx tsx bench/throughput.bench.ts)';
const RUNS = 20;

async function main(): Promise<void> {
  const f = await measureThroughput({ runs: RUNS });
  console.log(f);
  writeResultsSection(
    'throughput',
    [
      '<!-- throughput:start -->',
      `## Throughput: ${RUNS} concurrent template runs`,
      '',
      `Command: \`${COMMAND}\`. The API server (this process: engine, embedded stores, Temporal`,
      "client, and the benchmark's own 20 Socket.IO watchers) with a `charlab worker` process of its",
      'own on every queue, reporting events over /workers; one Temporal dev server. All',
      `${RUNS} runs of workflows/character-short.json (local providers, 4 shots, each with its own`,
      'script so nothing is cached) are POSTed at once; each has a watcher that must see seqs 1..n',
      "exactly once, n being the run's final seq. Peak RSS is each process's VmHWM (ffmpeg",
      'children not included).',
      '',
      `Run ${machine()}.`,
      '',
      table(
        ['figure', 'value', 'target'],
        [
          ['wall time, first POST → last run end', ms(f.wallMs), '—'],
          ['runs per minute', f.runsPerMinute.toFixed(1), '—'],
          ['peak RSS, server process', `${f.serverPeakRssMiB.toFixed(0)} MiB`, '—'],
          ['peak RSS, worker process', `${f.workerPeakRssMiB.toFixed(0)} MiB`, '—'],
          [
            'runs complete with every event',
            `${f.completeWithEveryEvent} / ${f.runs} (${f.events} events)`,
            `all ${met(f.completeWithEveryEvent === f.runs)}`,
          ],
        ],
      ),
      '<!-- throughput:end -->',
      '',
    ].join('\n'),
  );
  if (f.completeWithEveryEvent !== f.runs) process.exitCode = 1;
}

await main();
