/**
 * Redis for tests: `redis-server` on 127.0.0.1 and a free port, in a temp dir, with persistence
 * off, started by the test file that needs it and stopped by PID. Without the binary, tests are
 * skipped with a reason, except under CI=true, where they run and fail with that reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

export interface RedisServer {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its dir. */
  stop(): Promise<void>;
}

/** CHARLAB_REDIS_BIN, else `redis-server` from PATH. */
export function redisBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHARLAB_REDIS_BIN || 'redis-server';
}

/** Why Redis cannot be started here, or undefined when its binary runs. */
export function redisMissing(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const binary = redisBinary(env);
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  if (!probe.error && probe.status === 0) return undefined;
  return (
    `redis-server is not available (${binary}${env.CHARLAB_REDIS_BIN ? ', CHARLAB_REDIS_BIN' : ''}): ` +
    'run `apt-get install redis-server`, or set CHARLAB_REDIS_BIN to a redis-server binary'
  );
}

/** For `describe.skipIf(...)`: the reason to skip, or undefined (always under CI=true). */
export function redisSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = redisMissing(env);
  if (!missing || env.CI === 'true') return undefined;
  console.warn(`Redis tests skipped: ${missing}`);
  return missing;
}

/** Starts redis-server and resolves once it answers PING. */
export async function startRedis(
  options: { env?: NodeJS.ProcessEnv; startTimeoutMs?: number } = {},
): Promise<RedisServer> {
  const env = options.env ?? process.env;
  const missing = redisMissing(env);
  if (missing) throw new Error(missing);
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), 'charlab-redis-'));
  const port = await freePort();
  const child = spawn(
    redisBinary(env),
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
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
    await rm(dir, { recursive: true, force: true });
  };

  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(url, timeoutMs, exited, () => stderr);
    return { url, pid: child.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForPing(
  url: string,
  timeoutMs: number,
  exited: Promise<void>,
  stderr: () => string,
): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !gone) {
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (error) {
      lastError = error;
    } finally {
      if (client.isOpen) client.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    gone
      ? `redis-server exited before answering PING:\n${stderr()}`
      : `redis-server at ${url} did not answer PING within ${timeoutMs} ms: ${String(lastError)}`,
  );
}

/** A port the OS just had free on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free port on 127.0.0.1');
  return address.port;
}
