/**
 * SeaweedFS as the tests' S3 server: `weed mini` (master, volume, filer and S3 gateway in one
 * process) on a temp dir, every port on 127.0.0.1 and chosen free, started by the test file that
 * needs it and stopped by PID. The binary is built by .ci/services/seaweedfs.sh into
 * ~/.cache/charlab/seaweedfs-<version>/weed; CHARLAB_WEED_BIN points elsewhere.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'minio';

/** The script that builds the binary, named in every "missing" message. */
export const SEAWEEDFS_SETUP_SCRIPT = '.ci/services/seaweedfs.sh';

const WRAPPER_GO_MOD = fileURLToPath(
  new URL('../../../.ci/services/seaweedfs/go.mod', import.meta.url),
);

/** A running S3 server and the credentials it accepts. */
export interface SeaweedFs {
  /** `http://127.0.0.1:<port>`: the S3 gateway. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  pid: number;
  /** Ends the server (its process group) and deletes its data. */
  stop(): Promise<void>;
}

/** The pinned seaweedfs version: the wrapper module's require line, shared with the script. */
export function seaweedFsVersion(): string {
  const goMod = readFileSync(WRAPPER_GO_MOD, 'utf8');
  const match = /^require\s+github\.com\/seaweedfs\/seaweedfs\s+(\S+)/m.exec(goMod);
  if (!match) throw new Error(`no seaweedfs require line in ${WRAPPER_GO_MOD}`);
  return match[1];
}

/** Where the weed binary is expected: CHARLAB_WEED_BIN, else the script's cache path. */
export function weedBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.CHARLAB_WEED_BIN ||
    join(homedir(), '.cache', 'charlab', `seaweedfs-${seaweedFsVersion()}`, 'weed')
  );
}

/** Why SeaweedFS cannot start here (the binary is missing), or undefined when it can. */
export function seaweedFsUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = weedBinaryPath(env);
  if (existsSync(path)) return undefined;
  return (
    `no SeaweedFS binary at ${path}${env.CHARLAB_WEED_BIN ? ' (CHARLAB_WEED_BIN)' : ''}; ` +
    `run \`bash ${SEAWEEDFS_SETUP_SCRIPT}\` to build it (needs Go and the Go module proxy; a cold build takes 5 to 25 minutes) ` +
    'or point CHARLAB_WEED_BIN at a weed binary'
  );
}

export interface StartSeaweedFsOptions {
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

/**
 * Starts `weed mini` and resolves once its S3 gateway answers an authenticated request. Throws
 * the `seaweedFsUnavailable` message when there is no binary.
 */
export async function startSeaweedFs(options: StartSeaweedFsOptions = {}): Promise<SeaweedFs> {
  const env = options.env ?? process.env;
  const unavailable = seaweedFsUnavailable(env);
  if (unavailable) throw new Error(unavailable);
  let lastError: unknown;
  // Free ports are picked, released, then bound by weed: another process may take one in
  // between, so a start that dies early is tried again on fresh ports.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    try {
      return await startOnce(weedBinaryPath(env), env, options.startTimeoutMs ?? 60_000);
    } catch (error) {
      lastError = error;
      if (!(error instanceof EarlyExit)) break;
    }
  }
  throw lastError;
}

class EarlyExit extends Error {}

async function startOnce(
  binary: string,
  parentEnv: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<SeaweedFs> {
  const dir = await mkdtemp(join(tmpdir(), 'charlab-seaweedfs-'));
  const accessKey = 'charlab-test';
  const secretKey = 'charlab-test-secret';
  const ports = await freePorts(10);
  const [s3, s3Grpc, master, masterGrpc, filer, filerGrpc, volume, volumeGrpc] = ports;
  const [adminPort, adminGrpc] = ports.slice(8);
  const args = [
    `-logdir=${dir}`,
    'mini',
    `-dir=${dir}`,
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    // The admin server runs even without its UI (it coordinates maintenance workers).
    `-admin.port=${adminPort}`,
    `-admin.port.grpc=${adminGrpc}`,
    '-admin.port.legacy=0',
    `-filer.localSocket=${join(dir, 'filer.sock')}`,
    `-s3.localSocket=${join(dir, 's3.sock')}`,
    // Everything else mini would open is off: no extra listeners, no traffic off this machine.
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-webdav=false',
    '-admin.ui=false',
    '-master.telemetry=false',
  ];
  const env: NodeJS.ProcessEnv = {
    ...parentEnv,
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
  };
  // mini reads these as defaults for its own flags; the tests create their own buckets.
  delete env.S3_BUCKET;
  delete env.S3_TABLE_BUCKET;
  delete env.S3_EXTERNAL_URL;

  // Its own process group, so stop() can signal weed and anything it started by one PID.
  const child = spawn(binary, args, { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const pid = child.pid;
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  });
  // 'error' without 'exit' when the binary cannot be spawned at all.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      output += `\n${String(error)}`;
      resolve();
    });
  });
  const killGroup = (signal: NodeJS.Signals) => {
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const killOnExit = () => killGroup('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
    // weed names some gRPC sockets in /tmp by port and may leave them behind on a signal.
    await Promise.all(
      ['master', 'volume', 'filer', 's3', 'admin'].flatMap((service) =>
        ports.map((port) =>
          rm(join('/tmp', `seaweedfs-${service}-grpc-${port}.sock`), { force: true }),
        ),
      ),
    );
  };

  const endpoint = `http://127.0.0.1:${s3}`;
  const earlyExit = exited.then(() => {
    throw new EarlyExit(
      `weed mini exited (code ${String(child.exitCode)}) before S3 answered:\n${output}`,
    );
  });
  earlyExit.catch(() => {}); // observed by the race below; a later exit is stop()'s business
  try {
    if (pid === undefined) throw new Error(`could not start ${binary}`);
    await Promise.race([waitForS3(endpoint, accessKey, secretKey, timeoutMs), earlyExit]);
  } catch (error) {
    await stop();
    if (error instanceof Error && !(error instanceof EarlyExit)) error.message += `\n${output}`;
    throw error;
  }
  return { endpoint, accessKey, secretKey, pid, stop };
}

/** Polls an authenticated ListBuckets until the gateway, the filer and the master all answer. */
async function waitForS3(
  endpoint: string,
  accessKey: string,
  secretKey: string,
  timeoutMs: number,
): Promise<void> {
  const url = new URL(endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey,
    secretKey,
    region: 'us-east-1',
    retryOptions: { disableRetry: true },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await client.listBuckets();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `SeaweedFS S3 at ${endpoint} did not answer within ${timeoutMs} ms: ${String(lastError)}`,
  );
}

/** Distinct free TCP ports on 127.0.0.1, all held open until every one is picked. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.on('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  return ports;
}
