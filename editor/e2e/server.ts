/**
 * Starts the real Character Lab server the way a user does (`node engine/cli/bin.mjs serve`)
 * on a free port with its own data dir, for the e2e tests and the editor benchmark.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StudioServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * `vite build` of the editor into dist/editor, which the server serves. Always a production
 * build: Vite takes NODE_ENV from the environment, and under Vitest (NODE_ENV=test) it would
 * bundle React's development build, several times slower than what users get.
 */
export async function buildEditor(): Promise<void> {
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(REPO_ROOT, 'vite.config.ts'), logLevel: 'warn' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts the server on embedded defaults; resolves once it says it is running. */
export async function startStudioServer(
  options: {
    log?: boolean;
    /** Settings on top of the embedded defaults (e.g. LAB_AUTH=on). */
    env?: Record<string, string>;
  } = {},
): Promise<StudioServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-studio-'));
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'engine/cli/bin.mjs'), 'serve'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LAB_DATA_DIR: dataDir,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within 180 s:\n${output.slice(-4_000)}`));
    }, 180_000);
    const onOutput = (chunk: Buffer) => {
      output += chunk.toString();
      if (options.log) process.stderr.write(chunk);
      const match = /Character Lab is running at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`the server exited with ${code} before it was ready:\n${output.slice(-4_000)}`),
      );
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, stop };
}
