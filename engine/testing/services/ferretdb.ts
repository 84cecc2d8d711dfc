/**
 * FerretDB for tests: a MongoDB wire-protocol server on SQLite, started by a test file for its
 * own use (one server per file, a fresh database per test). The binary is built by
 * .ci/services/ferretdb.sh. Without it, tests are skipped with a reason, except under CI=true,
 * where they run and fail with that reason (DESIGN §5: CI never skips a store adapter).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MongoClient } from 'mongodb';

export const FERRETDB_VERSION = 'v1.24.2';

/** The script that builds the binary, named in every "missing" message. */
export const FERRETDB_SCRIPT = '.ci/services/ferretdb.sh';

export interface FerretDbServer {
  /** `mongodb://127.0.0.1:PORT`, without a database: append `/<name>`. */
  url: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data dir. */
  stop(): Promise<void>;
}

/** CHARLAB_FERRETDB_BIN, else where .ci/services/ferretdb.sh puts the binary. */
export function ferretDbBinary(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.CHARLAB_FERRETDB_BIN ||
    join(env.HOME || homedir(), '.cache', 'charlab', `ferretdb-${FERRETDB_VERSION}`, 'ferretdb')
  );
}

/** Why FerretDB cannot be started here, or undefined when its binary is present. */
export function ferretDbMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const binary = ferretDbBinary(env);
  if (existsSync(binary)) return undefined;
  return (
    `FerretDB ${FERRETDB_VERSION} is not built: no binary at ${binary}` +
    (env.CHARLAB_FERRETDB_BIN ? ' (CHARLAB_FERRETDB_BIN)' : '') +
    `. Run ${FERRETDB_SCRIPT} (needs Go; builds into ~/.cache/charlab once), ` +
    'or set CHARLAB_FERRETDB_BIN to a built binary'
  );
}

/**
 * For `describe.skipIf(...)`: the reason to skip FerretDB tests, printed once, or undefined when
 * they should run. Under CI=true it is always undefined, so a missing binary fails the tests
 * (startFerretDb throws the same reason) instead of passing them silently.
 */
export function ferretDbSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = ferretDbMissing(env);
  if (!missing || env.CI === 'true') return undefined;
  console.warn(`MongoDB tests skipped: ${missing}`);
  return missing;
}

/**
 * Starts FerretDB on 127.0.0.1 with a temp SQLite dir and waits until the driver's ping answers.
 * The port is chosen by the OS (`-listen-addr 127.0.0.1:0`); the server prints the address it
 * bound, so two test files never race for one port.
 */
export async function startFerretDb(
  options: { env?: NodeJS.ProcessEnv; startTimeoutMs?: number } = {},
): Promise<FerretDbServer> {
  const env = options.env ?? process.env;
  const missing = ferretDbMissing(env);
  if (missing) throw new Error(missing);
  const binary = ferretDbBinary(env);
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-ferretdb-'));
  const child = spawn(binary, ['-listen-addr', '127.0.0.1:0', '-sqlite-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);

  const stop = async () => {
    process.removeListener('exit', stopOnExit);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const url = await withTimeout(
      Promise.race([
        announcedUrl(child.stdout),
        exited.then(() => {
          throw new Error(`FerretDB (${binary}) exited before listening:\n${stderr}`);
        }),
      ]),
      timeoutMs,
      () => `FerretDB (${binary}) did not report its address within ${timeoutMs} ms:\n${stderr}`,
    );
    // Nothing else comes on stdout, but keep it drained so the server can never block on it.
    child.stdout.resume();
    await waitForPing(url, timeoutMs);
    return { url, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Reads the wrapper's `listening mongodb://127.0.0.1:PORT/` line. */
async function announcedUrl(stdout: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input: stdout });
  try {
    for await (const line of lines) {
      const match = /^listening (mongodb:\/\/127\.0\.0\.1:\d+)\/?$/.exec(line.trim());
      if (match) return match[1];
    }
  } finally {
    lines.close();
  }
  throw new Error('FerretDB closed its output without reporting an address');
}

async function waitForPing(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new MongoClient(`${url}/admin`, { serverSelectionTimeoutMS: 1_000 });
    try {
      await client.db().command({ ping: 1 });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.close();
    }
  }
  throw new Error(`FerretDB at ${url} did not answer a ping within ${timeoutMs} ms: ${lastError}`);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
