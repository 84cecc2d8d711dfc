/**
 * `npm run test:faults`: runs the fault tests (engine/faults/*.fault.test.ts, plus the e2e
 * restart test in Chromium) with FAULT_REPORT set, then writes what they recorded as the fault
 * table in SECURITY.md, between the `fault-table` markers. Every figure in that table comes from
 * a test run; nothing is typed in by hand.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultRow } from './fault-record';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECURITY = join(ROOT, 'SECURITY.md');
const START = '<!-- fault-table:start -->';
const END = '<!-- fault-table:end -->';

export function renderFaultTable(rows: FaultRow[], ranAt: string, command: string): string {
  const seconds = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const lines = [
    START,
    `Measured ${ranAt} by \`${command}\` (real processes, real Temporal dev server).`,
    '',
    '| Fault | Runs survived / total | Events lost or duplicated | Items redone | Time to recover | Test |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.survived} / ${r.total} | ${r.eventsLost} | ${r.itemsRedone} | ${seconds(r.recoverMs)} | ${r.test} |`,
    ),
    END,
  ];
  return lines.join('\n');
}

export function replaceBetweenMarkers(document: string, table: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start < 0 || end < start) return `${document.trimEnd()}\n\n${table}\n`;
  return document.slice(0, start) + table + document.slice(end + END.length);
}

function main(): number {
  const dir = mkdtempSync(join(tmpdir(), 'charlab-faults-'));
  const report = join(dir, 'faults.jsonl');
  const env = { ...process.env, FAULT_REPORT: report };
  const runs = [
    ['npx', ['vitest', 'run', 'engine/faults']],
    ['npx', ['vitest', 'run', '--config', 'editor/e2e/vitest.config.ts', 'editor/e2e/restart']],
  ] as const;
  let failed = false;
  for (const [command, args] of runs) {
    const result = spawnSync(command, args, { cwd: ROOT, env, stdio: 'inherit' });
    failed ||= result.status !== 0;
  }
  const rows: FaultRow[] = existsSync(report)
    ? readFileSync(report, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FaultRow)
    : [];
  rmSync(dir, { recursive: true, force: true });
  if (failed) {
    console.error('fault tests failed: SECURITY.md left as it was');
    return 1;
  }
  const table = renderFaultTable(
    rows,
    new Date().toISOString().slice(0, 10),
    'npm run test:faults',
  );
  writeFileSync(SECURITY, replaceBetweenMarkers(readFileSync(SECURITY, 'utf8'), table));
  console.log(`SECURITY.md: fault table with ${rows.length} rows`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main());
