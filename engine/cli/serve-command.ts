/**
 * `charlab serve` (what `npm start` runs): the engine with an in-process worker, the API and
 * the studio on HOST:PORT (default 127.0.0.1:8080), until SIGINT or SIGTERM.
 */
import type { LabConfig } from '../config';
import { readEngineInfo, writeEngineInfo, createEngine } from '../engine';
import { createLogger, lineLogOf } from '../logging';
import { buildServer, refuseUnsafeExposure } from '../server/app';
import { parseCommand, parseWholeNumber } from './args';
import type { CliIO } from './io';

export async function serveCommand(args: string[], io: CliIO, config: LabConfig): Promise<number> {
  const { values: flags } = parseCommand(
    'serve',
    args,
    { 'no-worker': { type: 'boolean' }, 'max-runs': { type: 'string' } },
    { min: 0, max: 0, names: '' },
  );
  const { host, port } = config;
  const maxRuns =
    flags['max-runs'] === undefined
      ? config.maxRunsPerUser
      : parseWholeNumber('--max-runs', flags['max-runs'], 1, 10_000);
  // The listen() check, made before anything starts (Temporal, the worker): a refused exposure
  // fails at once. Its warning (LAB_ALLOW_NO_AUTH) is logged by listen().
  refuseUnsafeExposure(host, config.workerToken, config.auth, config.allowNoAuth, () => {});
  const engine = await createEngine({
    config,
    startWorker: !flags['no-worker'],
    // LAB_LOG_FORMAT: human lines (as ever) or one JSON object per line.
    log: lineLogOf(
      createLogger({ format: config.logFormat, write: (line) => io.err(line), plainText: true }),
    ),
  });
  const server = buildServer(engine, {
    maxActiveRunsPerUser: maxRuns,
    artifactRedirect: config.artifactRedirect,
    ...(config.stores.s3 ? { artifactOrigin: config.stores.s3.endpoint } : {}),
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(config.allowedOrigins ? { allowedOrigins: config.allowedOrigins } : {}),
    allowedHosts: config.allowedHosts,
    maxSocketsPerClient: config.maxSocketsPerClient,
    trustProxy: config.trustProxy,
    auth: config.auth,
    allowNoAuth: config.allowNoAuth,
    ...(config.bootstrapAdmin ? { bootstrapAdmin: config.bootstrapAdmin } : {}),
    log: createLogger({ format: config.logFormat, write: (line) => io.err(line) }).log,
  });
  let url: string;
  try {
    ({ url } = await server.listen(host, port));
  } catch (error) {
    await server.close().catch(() => {});
    await engine.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      io.err(
        `port ${port} on ${host} is already in use: stop the other server or set PORT to a free port`,
      );
      return 1;
    }
    throw error;
  }
  // Workers started later on this machine find the server here (see engine/worker/process.ts).
  const info = readEngineInfo(engine.dataDir);
  if (info) writeEngineInfo(engine.dataDir, { ...info, serverUrl: url });

  io.out(`Character Lab is running at ${url}`);
  io.out(`  data: ${engine.dataDir}`);
  io.out(
    `  temporal: ${engine.temporal.address}${engine.temporal.embedded ? ' (embedded dev server)' : ''}`,
  );
  io.out(
    `  worker: ${flags['no-worker'] ? 'none in this process (start `charlab worker`)' : 'in this process'}`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const off = io.onSignal((received) => {
      off();
      resolve(received);
    });
  });
  io.out(`${signal}: stopping`);
  await server.close();
  await engine.close();
  io.out('stopped');
  return 0;
}
