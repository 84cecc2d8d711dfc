/**
 * The account forms' logic without React: checks made before sending (so a short password is
 * named at once, next to its field), the server's error codes turned into a message and the
 * field to focus, and the small texts the pages show (expiry, last use, the worker command).
 * The server stays the authority: these checks mirror its rules only to answer sooner.
 */
import { ApiError } from '../api/http';

/** engine/auth/account-service.ts USERNAME_PATTERN (a test keeps the two equal). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{1,39}$/;
/** engine/auth/passwords.ts PASSWORD_MIN_LENGTH / PASSWORD_MAX_LENGTH. */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

export type AccountField = 'username' | 'password' | 'repeat' | 'current' | 'name';

/** What went wrong, and the field it belongs to (focused and marked), if any. */
export interface FormProblem {
  field?: AccountField;
  message: string;
}

export function usernameProblem(username: string): FormProblem | null {
  const name = username.trim().toLowerCase();
  if (name === '') return { field: 'username', message: 'Choose a username.' };
  if (!USERNAME_PATTERN.test(name)) {
    return {
      field: 'username',
      message:
        'A username is 2–40 characters: lower-case letters, digits and _ . - (starting with a letter or digit).',
    };
  }
  return null;
}

export function passwordProblem(
  password: string,
  field: AccountField = 'password',
): FormProblem | null {
  if (password.length < PASSWORD_MIN_LENGTH) {
    return { field, message: `A password needs at least ${PASSWORD_MIN_LENGTH} characters.` };
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    return { field, message: `A password may have at most ${PASSWORD_MAX_LENGTH} characters.` };
  }
  return null;
}

/** A new password typed twice. */
export function newPasswordProblem(
  password: string,
  repeat: string,
  field: AccountField = 'password',
): FormProblem | null {
  return (
    passwordProblem(password, field) ??
    (password === repeat ? null : { field: 'repeat', message: 'The two passwords differ.' })
  );
}

/** A new account (invite page, users page): username, then password, then its repeat. */
export function newAccountProblem(input: {
  username: string;
  password: string;
  repeat?: string;
}): FormProblem | null {
  return (
    usernameProblem(input.username) ??
    (input.repeat === undefined
      ? passwordProblem(input.password)
      : newPasswordProblem(input.password, input.repeat))
  );
}

/** The sign-in form: both fields filled (the server judges the rest, without saying which). */
export function signInProblem(username: string, password: string): FormProblem | null {
  if (username.trim() === '') return { field: 'username', message: 'Enter your username.' };
  if (password === '') return { field: 'password', message: 'Enter your password.' };
  return null;
}

/**
 * A refused request as the form shows it: the server's stable code decides the field and the
 * words; anything unknown keeps the server's own message (with its code, for a bug report).
 */
export function problemOf(error: unknown): FormProblem {
  if (!(error instanceof ApiError)) {
    return { message: error instanceof Error ? error.message : String(error) };
  }
  switch (error.code) {
    case 'invalid_credentials':
      return {
        field: 'password',
        message: 'That username and password do not match an active account.',
      };
    case 'too_many_sign_ins': {
      const seconds = retryAfterOf(error.details);
      const wait = seconds ? ` Try again in ${Math.ceil(seconds / 60)} minutes.` : '';
      return { message: `Too many failed sign-ins for this name from here.${wait}` };
    }
    case 'username_taken':
      return { field: 'username', message: 'That username is taken: pick another.' };
    case 'invalid_username':
      return { field: 'username', message: error.message };
    case 'weak_password':
    case 'invalid_password':
      return { field: 'password', message: error.message };
    case 'invite_not_found':
      return {
        message:
          'This invite link is not valid any more (used, revoked or expired): ask an admin for a new one.',
      };
    case 'network_error':
      return { message: 'The server does not answer: check that it is running, then try again.' };
    default:
      return { message: `${error.message} (${error.code})` };
  }
}

function retryAfterOf(details: unknown): number | null {
  if (typeof details !== 'object' || details === null) return null;
  const value = (details as { retryAfterSec?: unknown }).retryAfterSec;
  return typeof value === 'number' && value > 0 ? value : null;
}

/** "in 3 days", "in 5 hours", "expired" — for invite expiries. */
export function formatExpiry(expiresAt: string, now: number): string {
  const ms = Date.parse(expiresAt) - now;
  if (!Number.isFinite(ms)) return 'unknown';
  if (ms <= 0) return 'expired';
  return `in ${formatSpan(ms)}`;
}

/** "never", "just now", "3 hours ago" — for a token's last use. */
export function formatLastUsed(lastUsedAt: string | undefined, now: number): string {
  if (!lastUsedAt) return 'never';
  const ms = now - Date.parse(lastUsedAt);
  if (!Number.isFinite(ms)) return 'unknown';
  if (ms < 60_000) return 'just now';
  return `${formatSpan(ms)} ago`;
}

function formatSpan(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return plural(Math.max(minutes, 1), 'minute');
  const hours = Math.round(ms / 3_600_000);
  if (hours < 48) return plural(hours, 'hour');
  return plural(Math.round(ms / 86_400_000), 'day');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** The choices of the invite form's expiry, in hours (the server allows 1 h to 30 days). */
export const INVITE_EXPIRIES: readonly { hours: number; label: string }[] = [
  { hours: 24, label: '1 day' },
  { hours: 72, label: '3 days' },
  { hours: 168, label: '7 days' },
  { hours: 720, label: '30 days' },
];

/** How the CLI uses a personal token against this server (engine/cli/run-command.ts). */
export function cliCommand(serverUrl: string, token: string): string {
  return `LAB_TOKEN=${token} npx charlab run graph.json --server ${serverUrl}`;
}

/** How a remote worker uses a worker token (README "Remote workers"). */
export function workerCommand(serverUrl: string, token: string): string {
  return `LAB_SERVER_URL=${serverUrl} LAB_WORKER_TOKEN=${token} npx charlab worker --queues lab-cpu,lab-gpu,lab-io`;
}
