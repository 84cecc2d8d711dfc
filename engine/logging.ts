/**
 * Log lines of the server and the workers: the human lines `npm start` prints, or one JSON
 * object per line (`LAB_LOG_FORMAT=json`) for a log collector — `{ time, level, msg, runId?,
 * nodeId?, index?, … }`, so lines about a run or a node can be found by id. The message is the
 * same human text in both formats; the fields say what the line is about.
 * Every finished line passes through the credential scrubber (engine/providers/scrub.ts): a
 * key quoted in an error never reaches a log, whichever code path wrote it.
 */
import type { LogFormat } from './config';
import { scrubRegistered } from './providers/scrub';

export type { LogFormat };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a line is about; `runId` and `nodeId` are Character Lab's ids (not Temporal's). */
export interface LogFields {
  /** For a LineLog's line: its level (default info). */
  level?: LogLevel;
  runId?: string;
  nodeId?: string;
  /** Fan-out item. */
  index?: number;
  [field: string]: unknown;
}

/** A log function of the engine and the workers: a human line plus what it is about. */
export type LineLog = (line: string, fields?: LogFields) => void;

export interface Logger {
  log: (level: LogLevel, message: string, fields?: LogFields) => void;
}

export interface LoggerOptions {
  format: LogFormat;
  /** Where finished lines go (stderr in the CLI). */
  write: (line: string) => void;
  /** Text lines are the message alone, without `level: ` (engine lines never had one). */
  plainText?: boolean;
  now?: () => Date;
  /** Applied to each finished line; default: the process's registered secrets and shapes. */
  scrub?: (line: string) => string;
}

/** A logger writing `format` lines through `write`. */
export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? (() => new Date());
  const scrub = options.scrub ?? scrubRegistered;
  return {
    log(level, message, fields) {
      options.write(
        scrub(
          options.format === 'text' && options.plainText
            ? message
            : formatLogLine(options.format, level, message, fields, now()),
        ),
      );
    },
  };
}

/** The engine's and workers' log function over a logger: the level may come in `fields`. */
export function lineLogOf(logger: Logger): LineLog {
  return (line, fields) => {
    const { level = 'info', ...rest } = fields ?? {};
    logger.log(level, line, rest);
  };
}

/**
 * One line. Text: `message` (or `level: message`). JSON: time, level and msg first, then the
 * fields; values JSON cannot hold (bigint, errors) are turned into strings or messages.
 */
export function formatLogLine(
  format: LogFormat,
  level: LogLevel,
  message: string,
  fields: LogFields = {},
  time: Date = new Date(),
): string {
  if (format === 'text') return `${level}: ${message}`;
  const record: Record<string, unknown> = { time: time.toISOString(), level, msg: message };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && !(key in record)) record[key] = value;
  }
  return JSON.stringify(record, (_key, value: unknown) =>
    typeof value === 'bigint'
      ? value.toString()
      : value instanceof Error
        ? { name: value.name, message: value.message }
        : value,
  );
}
