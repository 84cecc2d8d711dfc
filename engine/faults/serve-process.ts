/**
 * Fault-test helpers: `charlab serve` and `charlab worker` as real child processes (so a fault
 * can kill them, or the Temporal dev server they launched, by pid), with every output line
 * kept for assertions about what was logged. Test-only code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

export interface LabProcess {
  child: ChildProcess;
  /** stdout and stderr lines, in arrival order. */
  lines: string[];
  /** Resolves with the first line matching, looking at what already arrived first. */
  waitForLine(match: RegExp, timeoutMs: number): Promise<string>;
  /** SIGKILL (a crash) unless told otherwise; resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node bin.mjs <args>` with `env`, collecting its output lines. */
export function startLab(args: string[], env: NodeJS.ProcessEnv): LabProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let wake: () => void = () => {};
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      wake();
    });
  }
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    lines,
    async waitForLine(match, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find((line) => match.test(line));
        if (found) return found;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`process exited before printing ${match}:\n${lines.join('\n')}`);
        if (Date.now() > deadline)
          throw new Error(`no line matching ${match} within ${timeoutMs} ms:\n${lines.join('\n')}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 500);
        });
      }
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await gone;
    },
  };
}

/** `charlab serve` on 127.0.0.1:port (0: any); resolves with its URL once it listens. */
export async function startServe(
  env: NodeJS.ProcessEnv,
  port: number,
  args: string[] = [],
): Promise<LabProcess & { url: string }> {
  const lab = startLab(['serve', ...args], { ...env, HOST: '127.0.0.1', PORT: String(port) });
  const line = await lab.waitForLine(/Character Lab is running at /, 180_000);
  return { ...lab, url: line.replace(/.*running at /, '').trim() };
}

/** Lifecycle events repeated in a stored sequence (same type, node and item), and seq gaps. */
export function sequenceFaults(
  events: { seq: number; type: string; nodeId?: string; index?: number }[],
): {
  duplicated: number;
  missing: number;
} {
  const seen = new Set<string>();
  let duplicated = 0;
  for (const event of events) {
    if (event.type === 'node.progress' || event.type === 'node.started') continue;
    const key = `${event.type}:${event.nodeId ?? ''}:${event.index ?? ''}`;
    if (seen.has(key)) duplicated += 1;
    seen.add(key);
  }
  const seqs = events.map((e) => e.seq);
  const missing = seqs.length === 0 ? 0 : seqs.at(-1)! - seqs[0] + 1 - new Set(seqs).size;
  return { duplicated, missing };
}

/** Items (node, index) whose node.started was stored more than once: work begun again. */
export function duplicatedStarts(
  events: { type: string; nodeId?: string; index?: number }[],
): number {
  const starts = new Map<string, number>();
  for (const event of events.filter((e) => e.type === 'node.started')) {
    const key = `${event.nodeId ?? ''}:${event.index ?? ''}`;
    starts.set(key, (starts.get(key) ?? 0) + 1);
  }
  return [...starts.values()].reduce((sum, n) => sum + n - 1, 0);
}
