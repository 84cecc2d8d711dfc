/** Small statistics and formatting shared by the benchmarks. */
import { cpus, loadavg, totalmem } from 'node:os';

export const median = (values: readonly number[]): number => percentile(values, 50);

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Times one async call in milliseconds. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const began = performance.now();
  const value = await work();
  return { ms: performance.now() - began, value };
}

/**
 * Slope and intercept of the straight line through (x, y) points, by least squares: a run of
 * N nodes costs `fixed + perItem · N`.
 */
export function linearFit(points: readonly { x: number; y: number }[]): {
  fixed: number;
  perItem: number;
} {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const perItem = sxx === 0 ? 0 : sxy / sxx;
  return { fixed: my - perItem * mx, perItem };
}

export const ms = (value: number, digits = value < 10 ? 2 : value < 100 ? 1 : 0): string =>
  `${value.toFixed(digits)} ms`;

/** "3.2×" with one decimal, two below 10. */
export const ratio = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)}×`;

export const met = (ok: boolean): string => (ok ? '**met**' : '**missed**');

/**
 * One line naming the machine, for each RESULTS.md section. The load average is part of it:
 * on a shared machine it says how much of the two cores the benchmark really had.
 */
export function machine(): string {
  const cores = cpus();
  const [one, five] = loadavg();
  return (
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cores.length} × ` +
    `${cores[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; ` +
    `load average ${one.toFixed(1)} (1 min), ${five.toFixed(1)} (5 min) when written`
  );
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
