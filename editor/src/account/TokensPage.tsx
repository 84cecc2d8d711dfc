/**
 * API tokens: personal ones for the CLI and scripts, and, for admins, worker tokens for
 * remote workers. A new token is shown once (the server keeps only its hash); revoking asks
 * first, because every program using the token stops working.
 */
import { useEffect, useState } from 'react';
import { accountApi, type CreatedToken, type TokenInfo, type TokenKind } from '../api/accounts';
import { ConfirmDialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { useNow } from '../ui/useNow';
import { cliCommand, formatLastUsed, workerCommand } from './account-forms';
import { AccountField, FormAlert, ShownOnce, useAccountForm } from './AccountField';
import { useAuth } from './AuthGate';

export function TokensPage() {
  const auth = useAuth();
  const toasts = useToasts();
  const now = useNow(true, 60_000);
  const [tokens, setTokens] = useState<TokenInfo[] | null>(null);
  const [reloads, setReloads] = useState(0);
  const [made, setMade] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<TokenInfo | null>(null);
  const isAdmin = auth.user.role === 'admin';

  useEffect(() => {
    if (auth.mode === 'off') return;
    let alive = true;
    accountApi.listTokens().then(
      (list) => alive && setTokens(list),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the tokens');
        setTokens([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [auth.mode, toasts, reloads]);

  const onMade = (token: CreatedToken) => {
    setMade(token);
    setReloads((n) => n + 1);
  };

  const revoke = async (token: TokenInfo) => {
    setRevoking(null);
    try {
      await accountApi.revokeToken(token.id);
      toasts.success(`Revoked “${token.name}”`);
      if (made?.id === token.id) setMade(null);
    } catch (error) {
      toasts.error(error, 'Could not revoke the token');
    }
    setReloads((n) => n + 1);
  };

  if (auth.mode === 'off') {
    return (
      <div className="page">
        <div className="page-message">
          <h1>Tokens</h1>
          <p>
            Accounts are off on this server (LAB_AUTH=off): the CLI and workers need no token here.
          </p>
        </div>
      </div>
    );
  }

  const personal = tokens?.filter((token) => token.kind === 'personal') ?? [];
  const workers = tokens?.filter((token) => token.kind === 'worker') ?? [];
  const origin = window.location.origin;
  const list = (items: TokenInfo[], testId: string, showMaker: boolean) => (
    <table className="account-table" data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Name</th>
          {showMaker && <th scope="col">Made by</th>}
          <th scope="col">Created</th>
          <th scope="col">Last used</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {items.map((token) => (
          <tr key={token.id}>
            <th scope="row">{token.name}</th>
            {showMaker && <td>{token.userId.replace(/^usr_/, '')}</td>}
            <td>{new Date(token.createdAt).toLocaleString()}</td>
            <td>{formatLastUsed(token.lastUsedAt, now)}</td>
            <td className="account-table__actions">
              <button
                className="button button--small button--danger"
                onClick={() => setRevoking(token)}
              >
                Revoke
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

  return (
    <div className="page account-page">
      <header className="page__header">
        <h1>Tokens</h1>
      </header>

      <section className="account-section" aria-labelledby="personal-title">
        <h2 id="personal-title">Personal API tokens</h2>
        <p className="muted">
          A personal token acts as you, for the CLI and scripts:{' '}
          <code>{cliCommand(origin, '…')}</code>
        </p>
        <NewTokenForm kind="personal" onMade={onMade} />
        {made?.kind === 'personal' && <MadeToken token={made} origin={origin} />}
        {tokens === null ? (
          <p className="muted">Loading…</p>
        ) : personal.length === 0 ? (
          <p className="empty-hint">No personal tokens yet.</p>
        ) : (
          list(personal, 'token-list', false)
        )}
      </section>

      {isAdmin && (
        <section className="account-section" aria-labelledby="worker-title">
          <h2 id="worker-title">Worker tokens</h2>
          <p className="muted">
            A worker token lets one remote worker report the runs it is given:{' '}
            <code>{workerCommand(origin, '…')}</code>
          </p>
          <NewTokenForm kind="worker" onMade={onMade} />
          {made?.kind === 'worker' && <MadeToken token={made} origin={origin} />}
          {tokens !== null &&
            (workers.length === 0 ? (
              <p className="empty-hint">No worker tokens.</p>
            ) : (
              list(workers, 'worker-token-list', true)
            ))}
        </section>
      )}

      {revoking && (
        <ConfirmDialog
          title="Revoke token"
          message={`Every program using “${revoking.name}” stops working at once. This cannot be undone.`}
          confirmLabel="Revoke"
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(null)}
        />
      )}
    </div>
  );
}

function NewTokenForm(props: { kind: TokenKind; onMade(token: CreatedToken): void }) {
  const [name, setName] = useState('');
  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () =>
      name.trim() === '' || name.trim().length > 80
        ? { field: 'name', message: 'Name the token (1–80 characters).' }
        : null,
    send: async () => {
      props.onMade(await accountApi.createToken({ name: name.trim(), kind: props.kind }));
      setName('');
    },
    staysOpen: true,
  });

  return (
    <form
      ref={form}
      className="account-inline-form"
      noValidate
      aria-label={props.kind === 'worker' ? 'New worker token' : 'New personal token'}
      onSubmit={onSubmit}
    >
      <FormAlert problem={problem} />
      <AccountField
        name="name"
        label={props.kind === 'worker' ? 'Worker name' : 'Token name'}
        value={name}
        onChange={setName}
        problem={problem}
        autoComplete="off"
        help={props.kind === 'worker' ? 'e.g. gpu-box-1' : 'e.g. laptop CLI'}
      />
      <button className="button" type="submit" disabled={busy}>
        {props.kind === 'worker' ? 'Make worker token' : 'Make token'}
      </button>
    </form>
  );
}

function MadeToken({ token, origin }: { token: CreatedToken; origin: string }) {
  return (
    <div className="made-token">
      <ShownOnce
        label={`Token “${token.name}”`}
        value={token.token}
        warning="Copy it now: it will not be shown again. Only its hash is stored; if it is lost, revoke it and make a new one."
        testId="made-token"
      />
      <p className="field__help">
        {token.kind === 'worker' ? 'On the worker machine:' : 'For example:'}{' '}
        <code>
          {token.kind === 'worker'
            ? workerCommand(origin, token.token)
            : cliCommand(origin, token.token)}
        </code>
      </p>
    </div>
  );
}
