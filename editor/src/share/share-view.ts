/**
 * What the share page and the share dialog show, kept out of React: the token in a
 * `/s/<token>` path, the expiry choices and how a link's state reads.
 */
import type { ShareInfo } from '../api/shares';

/** The expiry choices the dialog offers, in days (the server takes 1-365). */
export const EXPIRY_CHOICES = [1, 7, 30, 90, 365] as const;
export const DEFAULT_EXPIRY_DAYS = 30;

const DAY_MS = 24 * 3600_000;

/** The token of a share page's path (`/s/<token>`), or null on any other page. */
export function shareTokenOf(pathname: string): string | null {
  const match = /^\/s\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/** "expires in 3 days", "expires in 5 hours", "expired". */
export function expiryText(expiresAt: string, now: number): string {
  const left = Date.parse(expiresAt) - now;
  if (!(left > 0)) return 'expired';
  if (left >= 2 * DAY_MS) return `expires in ${Math.floor(left / DAY_MS)} days`;
  const hours = Math.max(1, Math.floor(left / 3600_000));
  return `expires in ${hours} hour${hours === 1 ? '' : 's'}`;
}

/** How a listed link reads: revoked and expired links say so, live ones when they end. */
export function shareStateText(
  share: Pick<ShareInfo, 'status' | 'expiresAt'>,
  now: number,
): string {
  if (share.status === 'revoked') return 'revoked';
  if (share.status === 'expired') return 'expired';
  return expiryText(share.expiresAt, now);
}

/** `expiresInDays` for the dialog's field: a whole number of days the server accepts. */
export function expiryDaysOf(value: string): number | null {
  const days = Number(value);
  return Number.isInteger(days) && days >= 1 && days <= 365 ? days : null;
}
