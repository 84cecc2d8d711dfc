/**
 * An invite link (`/invite/<token>`): says what role it offers, or that it is no longer good,
 * and creates the account with a chosen username and password. Accepting signs this browser
 * in as the new user.
 */
import { useEffect, useState } from 'react';
import { accountApi, type AccountUser, type UserRole } from '../api/accounts';
import { ApiError } from '../api/http';
import { formatExpiry, newAccountProblem, problemOf } from './account-forms';
import { useNow } from '../ui/useNow';
import { AccountField, NewPasswordFields, FormAlert, useAccountForm } from './AccountField';

type Offer =
  | { state: 'loading' }
  | { state: 'open'; role: UserRole; expiresAt: string }
  | { state: 'gone' }
  | { state: 'failed'; message: string };

export function InvitePage(props: { token: string; onAccepted(user: AccountUser): void }) {
  const [offer, setOffer] = useState<Offer>({ state: 'loading' });
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const now = useNow(true, 60_000);

  useEffect(() => {
    let alive = true;
    accountApi.inviteInfo(props.token).then(
      (info) => alive && setOffer({ state: 'open', ...info }),
      (error: unknown) => {
        if (!alive) return;
        if (error instanceof ApiError && error.code === 'invite_not_found')
          setOffer({ state: 'gone' });
        else setOffer({ state: 'failed', message: problemOf(error).message });
      },
    );
    return () => {
      alive = false;
    };
  }, [props.token]);

  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () => newAccountProblem({ username, password, repeat }),
    send: async () => {
      const user = await accountApi.acceptInvite(props.token, username.trim(), password);
      props.onAccepted({ id: user.id, username: user.username, role: user.role });
    },
    refusal: (error) => {
      if (error instanceof ApiError && error.code === 'invite_not_found')
        setOffer({ state: 'gone' });
      return problemOf(error);
    },
  });

  if (offer.state !== 'open') {
    return (
      <main className="auth-page">
        <div className="auth-card" role={offer.state === 'loading' ? 'status' : 'alert'}>
          <p className="brand">
            <span className="brand__mark" aria-hidden /> Character Lab
          </p>
          <h1>Invitation</h1>
          {offer.state === 'loading' && <p>Checking the invite link…</p>}
          {offer.state === 'gone' && (
            <p data-testid="invite-gone">
              This invite link is not valid any more: it was used, revoked or it expired. Ask an
              admin of this studio for a new one.
            </p>
          )}
          {offer.state === 'failed' && <p>{offer.message}</p>}
          {offer.state !== 'loading' && (
            <a className="button" href="/">
              Go to sign-in
            </a>
          )}
        </div>
      </main>
    );
  }

  return (
    <main className="auth-page">
      <form
        ref={form}
        className="auth-card"
        aria-labelledby="invite-title"
        noValidate
        onSubmit={onSubmit}
      >
        <p className="brand">
          <span className="brand__mark" aria-hidden /> Character Lab
        </p>
        <h1 id="invite-title">Create your account</h1>
        <p data-testid="invite-offer">
          You are invited as <strong>{offer.role === 'admin' ? 'an admin' : 'a member'}</strong>.
          This link works once and expires {formatExpiry(offer.expiresAt, now)}.
        </p>
        <FormAlert problem={problem} />
        <AccountField
          name="username"
          label="Username"
          value={username}
          onChange={setUsername}
          problem={problem}
          autoComplete="username"
          help="2–40 characters: lower-case letters, digits and _ . -"
        />
        <NewPasswordFields
          password={password}
          repeat={repeat}
          onPassword={setPassword}
          onRepeat={setRepeat}
          problem={problem}
          label="Password"
          help="At least 10 characters."
        />
        <button className="button button--primary auth-card__submit" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account and sign in'}
        </button>
      </form>
    </main>
  );
}
