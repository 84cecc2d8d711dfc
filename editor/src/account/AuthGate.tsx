/**
 * The studio's door. It asks `GET /api/auth/me` before anything else loads; with accounts off
 * it opens at once, with accounts on it shows the sign-in page (or the invite page of an
 * invite link) until there is a session. Any later 401 `unauthenticated` brings the sign-in
 * page back over the same URL. The socket is restarted at every sign-in and closed at every
 * sign-out, because the server reads who a socket is only from its handshake's cookie.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useReducer } from 'react';
import { useState, type ReactNode } from 'react';
import { accountApi, type AccountUser } from '../api/accounts';
import { onUnauthenticated } from '../api/http';
import { closeSocket, restartSocket } from '../api/run-socket';
import { authReducer, INITIAL_AUTH, inviteTokenOf, studioOpen } from './auth-state';
import { InvitePage } from './InvitePage';
import { SignInPage } from './SignInPage';
import './account.css';

export interface AuthInfo {
  /** LAB_AUTH of the server: `off` is the one local user, who is also the admin. */
  mode: 'off' | 'on';
  user: AccountUser;
  /** Ends this browser's session and shows the sign-in page. */
  signOut(): Promise<void>;
  /** The password changed, which ended every session: sign in again with the new one. */
  passwordChanged(): void;
}

const AuthContext = createContext<AuthInfo | null>(null);

/** Who the studio acts for; only inside <AuthGate>. */
export function useAuth(): AuthInfo {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth needs an <AuthGate> above it');
  return auth;
}

export function AuthGate(props: {
  /** The studio; `session` changes at every sign-in, for a `key` that rebuilds it. */
  children(session: number): ReactNode;
}) {
  const [state, dispatch] = useReducer(authReducer, INITIAL_AUTH);
  const [inviteToken, setInviteToken] = useState(() => inviteTokenOf(window.location.pathname));
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let alive = true;
    accountApi.me().then(
      (me) => alive && dispatch({ type: 'me', me }),
      (error: unknown) =>
        alive &&
        dispatch({
          type: 'me-failed',
          message: error instanceof Error ? error.message : String(error),
        }),
    );
    return () => {
      alive = false;
    };
  }, [attempt]);

  useEffect(() => onUnauthenticated(() => dispatch({ type: 'expired' })), []);

  const session = state.phase === 'signed-in' ? state.session : 0;
  useEffect(() => {
    if (state.phase === 'signed-out') closeSocket();
    else if (state.phase === 'signed-in') restartSocket();
  }, [state.phase, session]);

  const signIn = useCallback((user: AccountUser) => dispatch({ type: 'signed-in', user }), []);

  const auth = useMemo<AuthInfo | null>(() => {
    if (!studioOpen(state)) return null;
    return {
      mode: state.phase === 'off' ? 'off' : 'on',
      user: state.user,
      async signOut() {
        try {
          await accountApi.signOut();
        } finally {
          // The next person to sign in starts from the list, not from this user's workflow.
          window.history.replaceState(null, '', '/#/workflows');
          dispatch({ type: 'signed-out', reason: 'signed-out' });
        }
      },
      passwordChanged: () => dispatch({ type: 'signed-out', reason: 'password-changed' }),
    };
  }, [state]);

  if (inviteToken) {
    return (
      <InvitePage
        token={inviteToken}
        onAccepted={(user) => {
          // Off the invite path: the studio's routes are hashes under `/`.
          window.history.replaceState(null, '', '/#/workflows');
          setInviteToken(null);
          signIn(user);
        }}
      />
    );
  }
  if (state.phase === 'loading') {
    return (
      <p className="auth-loading" role="status">
        Loading…
      </p>
    );
  }
  if (state.phase === 'unreachable') {
    return (
      <div className="auth-page">
        <div className="auth-card" role="alert">
          <h1>Cannot reach the server</h1>
          <p>{state.message}</p>
          <button className="button button--primary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (state.phase === 'signed-out') {
    return <SignInPage {...(state.reason ? { reason: state.reason } : {})} onSignedIn={signIn} />;
  }
  return <AuthContext.Provider value={auth}>{props.children(session)}</AuthContext.Provider>;
}
