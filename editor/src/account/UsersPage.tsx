/**
 * The admin's users page: every user with role and state, making users and invite links,
 * changing roles, disabling and enabling, resetting passwords. The server's refusals (the last
 * admin, disabling oneself, a taken name) are shown in its words above the list.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import {
  accountApi,
  type CreatedInvite,
  type InviteInfo,
  type UserInfo,
  type UserRole,
} from '../api/accounts';
import { ConfirmDialog, Dialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { useNow } from '../ui/useNow';
import {
  formatExpiry,
  INVITE_EXPIRIES,
  newAccountProblem,
  newPasswordProblem,
  problemOf,
  type FormProblem,
} from './account-forms';
import {
  AccountField,
  NewPasswordFields,
  FormAlert,
  ShownOnce,
  useAccountForm,
} from './AccountField';
import { useAuth } from './AuthGate';

export function UsersPage() {
  const auth = useAuth();
  const toasts = useToasts();
  const now = useNow(true, 60_000);
  const [users, setUsers] = useState<UserInfo[] | null>(null);
  const [invites, setInvites] = useState<InviteInfo[]>([]);
  const [reloads, setReloads] = useState(0);
  const [problem, setProblem] = useState<FormProblem | null>(null);
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<UserInfo | null>(null);
  const [revoking, setRevoking] = useState<InviteInfo | null>(null);
  const [madeInvite, setMadeInvite] = useState<CreatedInvite | null>(null);
  const [inviteRole, setInviteRole] = useState<UserRole>('member');
  const [inviteHours, setInviteHours] = useState(72);
  const isAdmin = auth.mode === 'on' && auth.user.role === 'admin';

  const reload = useCallback(() => setReloads((n) => n + 1), []);
  useEffect(() => {
    if (!isAdmin) return;
    let alive = true;
    Promise.all([accountApi.listUsers(), accountApi.listInvites()]).then(
      ([userList, inviteList]) => {
        if (!alive) return;
        setUsers(userList);
        setInvites(inviteList);
      },
      (error: unknown) => {
        if (!alive) return;
        setUsers([]);
        setProblem(problemOf(error));
      },
    );
    return () => {
      alive = false;
    };
  }, [isAdmin, reloads]);

  /** One change to a user; a refusal (last_admin, cannot_disable_self) shows above the list. */
  const change = async (user: UserInfo, patch: Parameters<typeof accountApi.updateUser>[1]) => {
    setProblem(null);
    try {
      const updated = await accountApi.updateUser(user.id, patch);
      setUsers((list) => list?.map((u) => (u.id === updated.id ? updated : u)) ?? null);
      return true;
    } catch (error) {
      setProblem(problemOf(error));
      return false;
    }
  };

  const makeInvite = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      setMadeInvite(
        await accountApi.createInvite({ role: inviteRole, expiresInHours: inviteHours }),
      );
      reload();
    } catch (error) {
      setProblem(problemOf(error));
    }
  };

  const revoke = async (invite: InviteInfo) => {
    setRevoking(null);
    try {
      await accountApi.revokeInvite(invite.id);
      toasts.success('Invite link revoked');
    } catch (error) {
      toasts.error(error, 'Could not revoke the invite');
    }
    reload();
  };

  if (!isAdmin) {
    return (
      <div className="page">
        <div className="page-message">
          <h1>Users</h1>
          <p>
            {auth.mode === 'off'
              ? 'Accounts are off on this server (LAB_AUTH=off): there is one local user.'
              : 'Only an admin manages users.'}
          </p>
        </div>
      </div>
    );
  }

  return (
    <div className="page account-page">
      <header className="page__header">
        <h1>Users</h1>
        <div className="page__actions">
          <button className="button button--primary" onClick={() => setCreating(true)}>
            New user…
          </button>
        </div>
      </header>
      {problem && (
        <p className="form-alert" role="alert" data-testid="users-problem">
          {problem.message}
        </p>
      )}
      {users === null ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="account-table" data-testid="user-list">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id} data-testid={`user-${user.username}`}>
                <th scope="row">
                  {user.username}
                  {user.id === auth.user.id && <span className="muted"> (you)</span>}
                </th>
                <td>
                  <RoleSelect
                    className="input account-table__select"
                    aria-label={`Role of ${user.username}`}
                    value={user.role}
                    onChange={(role) => void change(user, { role })}
                  />
                </td>
                <td>
                  {user.disabled ? (
                    <span className="state-badge state-badge--off">disabled</span>
                  ) : (
                    <span className="state-badge">active</span>
                  )}
                </td>
                <td>{new Date(user.createdAt).toLocaleDateString()}</td>
                <td className="account-table__actions">
                  <button
                    className="button button--small"
                    onClick={() => void change(user, { disabled: !user.disabled })}
                  >
                    {user.disabled ? 'Enable' : 'Disable'}
                  </button>
                  <button className="button button--small" onClick={() => setResetting(user)}>
                    Reset password…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <section className="account-section" aria-labelledby="invites-title">
        <h2 id="invites-title">Invite links</h2>
        <p className="muted">
          An invite link lets one person choose a username and password. It works once.
        </p>
        <form className="account-inline-form" onSubmit={(event) => void makeInvite(event)}>
          <label className="field">
            <span className="field__label">Role</span>
            <RoleSelect
              className="input"
              name="invite-role"
              value={inviteRole}
              onChange={setInviteRole}
            />
          </label>
          <label className="field">
            <span className="field__label">Expires after</span>
            <select
              className="input"
              name="invite-expiry"
              value={inviteHours}
              onChange={(event) => setInviteHours(Number(event.target.value))}
            >
              {INVITE_EXPIRIES.map((choice) => (
                <option key={choice.hours} value={choice.hours}>
                  {choice.label}
                </option>
              ))}
            </select>
          </label>
          <button className="button" type="submit">
            Make invite link
          </button>
        </form>
        {madeInvite && (
          <ShownOnce
            label={`Invite link (${madeInvite.role}, expires ${formatExpiry(madeInvite.expiresAt, now)})`}
            value={madeInvite.url}
            warning="Copy it now and send it to the person you invite: it will not be shown again."
            testId="invite-url"
          />
        )}
        {invites.length === 0 ? (
          <p className="empty-hint">No open invite links.</p>
        ) : (
          <table className="account-table" data-testid="invite-list">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Made by</th>
                <th scope="col">Made</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {invites.map((invite) => (
                <tr key={invite.id}>
                  <td>{invite.role}</td>
                  <td>{invite.createdBy.replace(/^usr_/, '')}</td>
                  <td>{new Date(invite.createdAt).toLocaleString()}</td>
                  <td>{formatExpiry(invite.expiresAt, now)}</td>
                  <td className="account-table__actions">
                    <button
                      className="button button--small button--danger"
                      onClick={() => setRevoking(invite)}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {creating && (
        <NewUserDialog
          onClose={() => setCreating(false)}
          onCreated={(user) => {
            setCreating(false);
            toasts.success(`Created ${user.username}`);
            reload();
          }}
        />
      )}
      {resetting && (
        <ResetPasswordDialog
          user={resetting}
          onClose={() => setResetting(null)}
          onReset={async (password) => {
            const done = await accountApi.updateUser(resetting.id, { password });
            toasts.success(`New password set for ${done.username}`, 'Their sessions ended.');
            setResetting(null);
          }}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke invite link"
          message={`The ${revoking.role} invite link made ${new Date(revoking.createdAt).toLocaleString()} stops working.`}
          confirmLabel="Revoke"
          onConfirm={() => void revoke(revoking)}
          onCancel={() => setRevoking(null)}
        />
      )}
    </div>
  );
}

/** A user's role to choose: member or admin. */
function RoleSelect(props: {
  value: UserRole;
  onChange(role: UserRole): void;
  className: string;
  name?: string;
  'aria-label'?: string;
}) {
  return (
    <select
      className={props.className}
      name={props.name}
      aria-label={props['aria-label']}
      value={props.value}
      onChange={(event) => props.onChange(event.target.value as UserRole)}
    >
      <option value="member">member</option>
      <option value="admin">admin</option>
    </select>
  );
}

function NewUserDialog(props: { onClose(): void; onCreated(user: UserInfo): void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<UserRole>('member');
  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () => newAccountProblem({ username, password }),
    send: async () =>
      props.onCreated(await accountApi.createUser({ username: username.trim(), password, role })),
  });

  return (
    <Dialog title="New user" onClose={props.onClose}>
      <form ref={form} noValidate onSubmit={onSubmit}>
        <FormAlert problem={problem} />
        <AccountField
          name="username"
          label="Username"
          value={username}
          onChange={setUsername}
          problem={problem}
          autoComplete="off"
        />
        <AccountField
          name="password"
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          problem={problem}
          autoComplete="new-password"
          help="At least 10 characters. Hand it over privately; they can change it."
        />
        <label className="field">
          <span className="field__label">Role</span>
          <RoleSelect className="input" name="role" value={role} onChange={setRole} />
        </label>
        <div className="dialog__actions">
          <button type="button" className="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Create user
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetPasswordDialog(props: {
  user: UserInfo;
  onClose(): void;
  onReset(password: string): Promise<void>;
}) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const { problem, busy, form, onSubmit } = useAccountForm({
    check: () => newPasswordProblem(password, repeat),
    send: () => props.onReset(password),
  });

  return (
    <Dialog title={`Reset the password of ${props.user.username}`} onClose={props.onClose}>
      <form ref={form} noValidate onSubmit={onSubmit}>
        <FormAlert problem={problem} />
        <NewPasswordFields
          password={password}
          repeat={repeat}
          onPassword={setPassword}
          onRepeat={setRepeat}
          problem={problem}
          label="New password"
          help="At least 10 characters. Every session of theirs ends."
        />
        <div className="dialog__actions">
          <button type="button" className="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={busy}>
            Set password
          </button>
        </div>
      </form>
    </Dialog>
  );
}
