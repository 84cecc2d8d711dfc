/**
 * The `charlab` command line: run, validate, serve and worker. `main` takes the arguments and
 * an IO object and returns the exit code, so tests drive it in-process.
 */
import { ConfigError, readConfig, type LabConfig } from '../config';
import { createRedactor, secretsOf } from '../server/secrets';
import { UsageError } from './args';
import type { CliIO } from './io';
import { runCommand } from './run-command';
import { serveCommand } from './serve-command';
import { validateCommand } from './validate-command';
import { workerCommand } from './worker-command';

export { processIO, type CliIO } from './io';

export const USAGE = `Character Lab: a node-graph studio for AI video with consistent characters.

Usage:
  charlab run <graph.json> [--set node.param=value …] [--out file.mp4] [--server URL]
  charlab run --template ID [--version N] [--set node.param=value …] [--out file.mp4] [--server URL]
  charlab validate <graph.json>
  charlab serve [--no-worker] [--max-runs N]
  charlab worker [--queues lab-cpu,lab-gpu,lab-io] [--server URL]
  charlab --help

Commands:
  run       Runs a graph (in this process, or on a server with --server), prints a line per
            event and writes the final video to --out (default: "<graph name>.mp4").
            --set overrides a param, e.g. --set script.text="A new story." --set story.shots=3
            --template runs a shipped template or one of yours (from --server, else from this
            data dir); --set then takes only the params the template exposes.
  validate  Checks a graph file and prints every problem.
  serve     Starts the API and the studio on HOST:PORT (default 127.0.0.1:8080) with a worker
            in the same process (--no-worker when workers run elsewhere).
  worker    Runs a worker polling the given task queues, reporting to the server with
            LAB_WORKER_TOKEN: the server's shared worker token, or with accounts on a
            per-worker token (clab_wrk_…, Tokens page) that reports only for the runs
            Temporal dispatched to this worker; the worker stops when it is revoked.

Environment: LAB_DATA_DIR (default ./.lab), HOST, PORT, TEMPORAL_ADDRESS, OPENAI_API_KEY,
SD_API_URL, RUNWAY_API_KEY, FFMPEG_PATH.
Exit codes: 0 success; 1 the run failed (or validate found problems); 2 bad usage or, for run,
an invalid graph.`;

/** A command: its arguments, the (redacting) terminal and the configuration read from io.env. */
type Command = (args: string[], io: CliIO, config: LabConfig) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: runCommand,
  validate: validateCommand,
  serve: serveCommand,
  worker: workerCommand,
};

/** Runs one command line; resolves with the process exit code. */
export async function main(argv: readonly string[], rawIO: CliIO): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined) {
    rawIO.err(USAGE);
    return 2;
  }
  if (
    command === '--help' ||
    command === '-h' ||
    command === 'help' ||
    args.includes('--help') ||
    args.includes('-h')
  ) {
    rawIO.out(USAGE);
    return 0;
  }
  // The environment is read once, here; a variable set to something unusable stops every
  // command before it starts anything.
  let config: LabConfig;
  try {
    config = readConfig(rawIO.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    rawIO.err(`charlab: ${error.message}`);
    return 2;
  }
  // Provider keys never reach the terminal, even inside an upstream error message.
  const redact = createRedactor(secretsOf(config.providers, config.workerToken ?? ''));
  const io: CliIO = {
    ...rawIO,
    out: (line) => rawIO.out(redact(line)),
    err: (line) => rawIO.err(redact(line)),
  };
  const handler = COMMANDS[command];
  try {
    if (!handler) throw new UsageError(`unknown command "${command}"`);
    return await handler(args, io, config);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`charlab: ${error.message}`);
      io.err('');
      io.err(USAGE);
      return 2;
    }
    io.err(`charlab: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
