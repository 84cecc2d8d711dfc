/**
 * Password hashing with scrypt (node:crypto). Parameters follow OWASP's password storage
 * cheat sheet (N=2^15, r=8, p=3: 32 MiB and tens of milliseconds per hash) and are stored in
 * the hash, so raising them later still verifies old hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { LabError } from '../errors';

const PARAMS = { N: 2 ** 15, r: 8, p: 3 } as const;
const KEY_BYTES = 32;

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** Refuses passwords too short to resist guessing, or absurdly long (scrypt reads them all). */
export function checkPasswordStrength(password: unknown): string {
  if (typeof password !== 'string') {
    throw new LabError('invalid_password', 'a password is a string', 400);
  }
  if (password.length < PASSWORD_MIN_LENGTH) {
    throw new LabError(
      'weak_password',
      `a password needs at least ${PASSWORD_MIN_LENGTH} characters`,
      400,
    );
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    throw new LabError(
      'invalid_password',
      `a password may have at most ${PASSWORD_MAX_LENGTH} characters`,
      400,
    );
  }
  return password;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  // A damaged record is a failed sign-in, never a 500 (nor a gigabyte of scrypt memory).
  if (!saneParams(params)) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), params).catch(() => null);
  return actual !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A hash of a password no one has: verifying against it when the username is unknown makes a
 * failed sign-in take as long either way, so timing does not tell which usernames exist.
 */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

/** Parameters scrypt accepts within our memory bound: N a power of two up to 2^20. */
function saneParams({ N, r, p }: { N: number; r: number; p: number }): boolean {
  const whole = (value: number, max: number) =>
    Number.isInteger(value) && value >= 1 && value <= max;
  return (
    whole(N, 2 ** 20) &&
    N > 1 &&
    (N & (N - 1)) === 0 &&
    whole(r, 32) &&
    whole(p, 16) &&
    128 * N * r * p <= 200 * 1024 * 1024
  );
}

function derive(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: 128 * N * r * p bytes plus headroom; the default 32 MiB is exactly too little.
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_BYTES,
      { ...params, maxmem: 256 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}
