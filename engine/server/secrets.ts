/**
 * A last line of defence for "provider keys never reach a response, an event or a log line":
 * whatever the server sends or logs passes through `redact`, which blanks every known secret.
 * Routes never put secrets in bodies on purpose; this catches an upstream error message that
 * quotes one (some SDKs echo the key they were given).
 */
import { providerSecrets, type ProviderConfig } from '../config';

const MASK = '[redacted]';
/** Shorter strings would blank innocent text (a test key "k" would mask every k). */
const MIN_SECRET_LENGTH = 8;

export type Redactor = <T>(value: T) => T;

/** The secrets an engine holds: provider keys and the worker token. */
export function secretsOf(providers: ProviderConfig, workerToken: string): string[] {
  return [...providerSecrets(providers), workerToken].filter(
    (secret): secret is string => typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH,
  );
}

/** Replaces each secret in strings, deeply (objects and arrays are copied, never changed). */
export function createRedactor(secrets: readonly string[]): Redactor {
  const active = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH);
  const scrubString = (text: string): string =>
    active.reduce(
      (out, secret) => (out.includes(secret) ? out.split(secret).join(MASK) : out),
      text,
    );
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return scrubString(value);
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
    }
    return value;
  };
  return <T>(value: T): T => (active.length === 0 ? value : (scrub(value) as T));
}
