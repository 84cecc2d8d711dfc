/** The sign-in page of a server with accounts: username and password, errors by their code. */
import { useState } from 'react';
import { accountApi, type AccountUser } from '../api/accounts';
import { signInProblem } from './account-forms';
import { AccountField, FormAlert, useAccountForm } from './AccountField';
import type { SignedOutReason } from './auth-state';

const NOTICES: Record<SignedOutReason, string> = {
  expired: 'Your session ended. Sign in again to go on where you were.',
  'signed-out': 'You are signed out.',
  'password-changed': 'Your password was changed. Sign in with the new one.',
};

export function SignInPage(props: {
  reason?: SignedOutReason;
  onSignedIn(user: AccountUser): void;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () => signInProblem(username, password),
    send: async () => props.onSignedIn(await accountApi.signIn(username.trim(), password)),
  });

  return (
    <main className="auth-page">
      <form
        ref={form}
        className="auth-card"
        aria-labelledby="sign-in-title"
        noValidate
        onSubmit={onSubmit}
      >
        <p className="brand">
          <span className="brand__mark" aria-hidden /> Character Lab
        </p>
        <h1 id="sign-in-title">Sign in</h1>
        {props.reason && !problem && (
          <p className="auth-notice" role="status">
            {NOTICES[props.reason]}
          </p>
        )}
        <FormAlert problem={problem} />
        <AccountField
          name="username"
          label="Username"
          value={username}
          onChange={setUsername}
          problem={problem}
          autoComplete="username"
        />
        <AccountField
          name="password"
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          problem={problem}
          autoComplete="current-password"
        />
        <button className="button button--primary auth-card__submit" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted auth-card__hint">
          No account? Ask an admin of this studio for an invite link.
        </p>
      </form>
    </main>
  );
}
