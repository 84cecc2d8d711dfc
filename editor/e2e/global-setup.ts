/**
 * Builds the editor (so the server serves this very code from dist/editor) and starts the
 * real server: `node engine/cli/bin.mjs serve` on a free port with a temp LAB_DATA_DIR, so the
 * tests see exactly what a user gets from `npx charlab serve`. Under CI=true a missing
 * Chromium or a server that does not come up fails the run; elsewhere the tests are skipped
 * with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { CHROMIUM_PATH } from './harness';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let server: ChildProcess | undefined;
let dataDir: string | undefined;

export async function setup(): Promise<void> {
  try {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    await build({ configFile: join(repoRoot, 'vite.config.ts'), logLevel: 'warn' });
    dataDir = await mkdtemp(join(tmpdir(), 'charlab-e2e-'));
    const port = await freePort();
    process.env.E2E_BASE_URL = await startServer(port, dataDir);
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    process.env.E2E_UNAVAILABLE = String(error);
    console.warn(`studio e2e tests will be skipped: ${String(error)}`);
  }
}

export async function teardown(): Promise<void> {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}

function freePort(): Promise<number> {
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

/** Starts the server and resolves with its URL once it says it is running. */
function startServer(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'engine/cli/bin.mjs'), 'serve'], {
      cwd: repoRoot,
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), LAB_DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within 180 s:\n${output.slice(-4_000)}`));
    }, 180_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Character Lab is running at (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (process.env.E2E_SERVER_LOG) process.stderr.write(chunk);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`the server exited with ${code} before it was ready:\n${output.slice(-4_000)}`),
      );
    });
  });
}
