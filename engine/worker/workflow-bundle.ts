/**
 * Bundles the interpreter workflow once and caches the bundle on disk, keyed by the hash of
 * the workflow sources and the SDK version, so workers (and test files) start in a second
 * instead of re-running webpack every time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const engineDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const INTERPRETER_PATH = join(engineDir, 'interpreter', 'run-graph.ts');
/** Everything the workflow bundle is built from. */
const SOURCE_FILES = [
  INTERPRETER_PATH,
  join(engineDir, 'interpreter', 'plan-values.ts'),
  join(engineDir, 'graph', 'plan.ts'),
  join(engineDir, 'graph', 'fan-out.ts'),
  join(engineDir, 'runs', 'events.ts'),
  join(engineDir, 'runs', 'event-keys.ts'),
  join(engineDir, 'worker', 'report-activities.ts'),
  join(engineDir, 'temporal', 'task-queues.ts'),
];

export async function workflowBundlePath(
  cacheDir = join(tmpdir(), 'charlab-workflow-bundles'),
): Promise<string> {
  const require = createRequire(import.meta.url);
  const sdkVersion = (require('@temporalio/workflow/package.json') as { version: string }).version;
  const hash = createHash('sha256').update(sdkVersion);
  for (const file of SOURCE_FILES) hash.update(readFileSync(file));
  const path = join(cacheDir, `run-graph-${hash.digest('hex').slice(0, 16)}.js`);
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  const { code } = await bundleWorkflowCode({
    workflowsPath: INTERPRETER_PATH,
    logger: quietLogger,
  });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, code);
  renameSync(temporary, path); // atomic: concurrent builders never read half a bundle
  return path;
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
