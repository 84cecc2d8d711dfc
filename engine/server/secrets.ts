/**
 * A last line of defence for "provider keys never reach a response, an event or a log line":
 * whatever the server sends or logs passes through `redact`. Secrets are scrubbed at the
 * source (engine/providers/scrub.ts: provider errors are clean before they are thrown, stored
 * or logged); this catches anything that slipped past, and — through the credential shapes —
 * a key configured before a restart that the stores still quote.
 */
import { providerSecrets, type ProviderConfig } from '../config';
import { createScrub, MIN_SECRET_LENGTH, scrubDeep } from '../providers/scrub';

export type Redactor = <T>(value: T) => T;

/** The secrets an engine holds: provider keys and the worker token. */
export function secretsOf(providers: ProviderConfig, workerToken: string): string[] {
  return [...providerSecrets(providers), workerToken].filter(
    (secret): secret is string => typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH,
  );
}

/**
 * Blanks each secret and every credential shape in strings, deeply (objects and arrays are
 * copied, never changed).
 */
export function createRedactor(secrets: readonly string[]): Redactor {
  const scrub = createScrub({ secrets });
  return <T>(value: T): T => scrubDeep(value, scrub);
}
