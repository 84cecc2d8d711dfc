/**
 * The CLI's window on the world, passed in so tests can run commands in-process: output
 * lines, environment, working directory and interrupt signals.
 */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function removes it. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** The real process: stdout, stderr, process.env, SIGINT and SIGTERM. */
export function processIO(): CliIO {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    cwd: process.cwd(),
    onSignal(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}
