/**
 * Command-line parsing on node:util's parseArgs, with every mistake turned into a UsageError
 * that names the problem (the caller prints it with the usage text, exit code 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: the message says what is wrong; the usage text follows it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses one subcommand's arguments strictly (unknown flags are errors). */
export function parseCommand<O extends Options>(
  command: string,
  args: string[],
  options: O,
  positionals: { min: number; max: number; names: string },
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    const message =
      error instanceof Error
        ? error.message.replace(/\. To specify a positional.*$/s, '')
        : String(error);
    throw new UsageError(`${command}: ${message}`);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`${command}: missing ${positionals.names}`);
  if (count > positionals.max) {
    throw new UsageError(
      `${command}: unexpected argument "${parsed.positionals[positionals.max]}"`,
    );
  }
  return parsed;
}

/** `--set node.param=value` pairs into the values map runs take (`"node.param": "value"`). */
export function parseSets(sets: readonly string[] | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const set of sets ?? []) {
    const eq = set.indexOf('=');
    const key = eq > 0 ? set.slice(0, eq) : '';
    const dot = key.lastIndexOf('.');
    if (eq <= 0 || dot <= 0 || dot === key.length - 1) {
      throw new UsageError(
        `--set takes node.param=value (e.g. --set script.text="Hello"), got "${set}"`,
      );
    }
    if (key in values) throw new UsageError(`--set ${key} is given twice: keep one`);
    values[key] = set.slice(eq + 1);
  }
  return values;
}

/** A server base URL (http or https), without a trailing slash. */
export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--server takes a URL like http://127.0.0.1:8080, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--server must be an http:// or https:// URL, got "${value}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/** A whole-number flag within [min, max]; anything else is a usage error naming the flag. */
export function parseWholeNumber(flag: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || number < min || number > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}
