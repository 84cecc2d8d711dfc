/**
 * Bearer secrets (session cookies, API and worker tokens, invites, share links) in one shape:
 * `clab_<kind>_<id>_<secret>`. The id names the stored record, so a lookup is one get by id,
 * and only the sha256 of the secret is stored: a copy of the database opens nothing. The
 * secret is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** ses: a browser session · pat: a personal API token · wrk: a worker token · inv · shr. */
export type SecretKind = 'ses' | 'pat' | 'wrk' | 'inv' | 'shr';

export interface MintedSecret {
  /** The record id: `<kind>_<16 hex>`. */
  id: string;
  /** What the holder keeps: shown once, never stored. */
  token: string;
  /** What is stored. */
  secretHash: string;
}

const TOKEN_PATTERN = /^clab_(ses|pat|wrk|inv|shr)_([0-9a-f]{16})_([0-9a-f]{64})$/;

export function mintSecret(kind: SecretKind): MintedSecret {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('hex');
  return { id: `${kind}_${id}`, token: `clab_${kind}_${id}_${secret}`, secretHash: sha256(secret) };
}

/** The record id and secret of a token of `kind`, or null when it is not one. */
export function parseSecret(
  token: unknown,
  kind: SecretKind,
): { id: string; secret: string } | null {
  if (typeof token !== 'string') return null;
  const match = TOKEN_PATTERN.exec(token);
  if (!match || match[1] !== kind) return null;
  return { id: `${kind}_${match[2]}`, secret: match[3] };
}

/** The kind a token claims to be, for routing an Authorization header to its check. */
export function kindOfSecret(token: string): SecretKind | null {
  return (TOKEN_PATTERN.exec(token)?.[1] as SecretKind | undefined) ?? null;
}

export function secretMatches(secret: string, secretHash: string): boolean {
  const given = Buffer.from(sha256(secret), 'hex');
  const stored = Buffer.from(secretHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
