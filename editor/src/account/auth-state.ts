/**
 * Whether the studio may show itself, as a pure reducer the app shell drives. The studio asks
 * `GET /api/auth/me` first and loads nothing else until it knows: with accounts off it opens
 * at once as the local user; with accounts on and no session it shows the sign-in page, so
 * no view fires requests that could only answer 401. A session that ends later (expired,
 * password changed elsewhere, user disabled) brings the sign-in page back; the URL is left
 * alone, so after signing in the studio opens where the user was.
 */
import type { AccountUser, MeInfo } from '../api/accounts';

/** Why the sign-in page is showing, for its notice. */
export type SignedOutReason = 'expired' | 'signed-out' | 'password-changed';

export type AuthState =
  | { phase: 'loading' }
  /** `/api/auth/me` failed: the server is down or not this one. */
  | { phase: 'unreachable'; message: string }
  /** Accounts off: the one local user, who is also the admin. */
  | { phase: 'off'; user: AccountUser }
  /** `session`: the sign-ins so far, carried over to number the next one. */
  | { phase: 'signed-out'; session: number; reason?: SignedOutReason }
  /**
   * `session` counts sign-ins in this tab: the studio is rebuilt for each one, so the next user
   * never sees the previous one's React tree (caches, open run watches).
   */
  | { phase: 'signed-in'; user: AccountUser; session: number };

export type AuthEvent =
  | { type: 'me'; me: MeInfo }
  | { type: 'me-failed'; message: string }
  | { type: 'signed-in'; user: AccountUser }
  | { type: 'signed-out'; reason?: SignedOutReason }
  /** Some request answered 401 `unauthenticated`: the session is gone. */
  | { type: 'expired' };

export const INITIAL_AUTH: AuthState = { phase: 'loading' };

/** The user the local, account-less studio acts as (engine/auth/viewer.ts LOCAL_VIEWER). */
const LOCAL_USER: AccountUser = { id: 'local', username: 'local', role: 'admin' };

export function authReducer(state: AuthState, event: AuthEvent): AuthState {
  switch (event.type) {
    case 'me':
      if (event.me.auth === 'off') return { phase: 'off', user: event.me.user ?? LOCAL_USER };
      return event.me.user
        ? { phase: 'signed-in', user: event.me.user, session: sessionAfter(state) }
        : { phase: 'signed-out', session: sessionsOf(state) };
    case 'me-failed':
      return { phase: 'unreachable', message: event.message };
    case 'signed-in':
      return { phase: 'signed-in', user: event.user, session: sessionAfter(state) };
    case 'signed-out': {
      const session = sessionsOf(state);
      return event.reason
        ? { phase: 'signed-out', session, reason: event.reason }
        : { phase: 'signed-out', session };
    }
    case 'expired':
      // Late 401s of requests sent before a sign-out change nothing; with accounts off there
      // is no session to lose.
      return state.phase === 'signed-in'
        ? { phase: 'signed-out', session: state.session, reason: 'expired' }
        : state;
  }
}

function sessionsOf(state: AuthState): number {
  return state.phase === 'signed-in' || state.phase === 'signed-out' ? state.session : 0;
}

function sessionAfter(state: AuthState): number {
  return sessionsOf(state) + 1;
}

/** Whether the studio (its header, pages and requests) may be shown. */
export function studioOpen(
  state: AuthState,
): state is Extract<AuthState, { phase: 'off' | 'signed-in' }> {
  return state.phase === 'off' || state.phase === 'signed-in';
}

/** The invite token of an invite link's path (`/invite/<token>`), or null. */
export function inviteTokenOf(pathname: string): string | null {
  const match = /^\/invite\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}
