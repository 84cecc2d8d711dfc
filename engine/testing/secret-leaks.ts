/**
 * Test helpers for "no key survives": everything an error carries (message, stack, cause chain,
 * own fields such as an SDK's raw body or headers), rendered as text, so a test can grep it
 * for each secret. Test-only code.
 */
import { inspect } from 'node:util';

/** Every string an error holds, as one text: what Temporal, a log or a store could see. */
export function everythingIn(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 12, showHidden: true })];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    parts.push(current.message, current.stack ?? '');
    current = current.cause;
  }
  try {
    parts.push(JSON.stringify(error));
  } catch {
    // Circular: inspect above already rendered it.
  }
  return parts.join('\n');
}

/** The secrets (of at least `minLength` characters) that `text` contains. */
export function leakedSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((secret) => secret.length > 0 && text.includes(secret));
}
