/**
 * The accounts routes (LAB_AUTH=on, engine/server/routes/accounts.ts): who is signed in,
 * sign-in and sign-out, invites, the admin's users and invites, personal and worker tokens.
 * With accounts off only `me()` answers; the rest answer 409 `accounts_off`.
 */
import { listFrom, request } from './http';

export type UserRole = 'admin' | 'member';

/** The signed-in user as `/api/auth/me` names them. */
export interface AccountUser {
  id: string;
  username: string;
  role: UserRole;
}

/** `GET /api/auth/me`: whether accounts are on, and who this browser is signed in as. */
export interface MeInfo {
  auth: 'off' | 'on';
  user: AccountUser | null;
}

/** A user on the admin's users page (the password hash never leaves the server). */
export interface UserInfo extends AccountUser {
  disabled: boolean;
  createdAt: string;
}

/** An open invite; its secret link was shown once, when it was made. */
export interface InviteInfo {
  id: string;
  role: UserRole;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
}

/** A made invite: the link to hand over, shown this once. */
export interface CreatedInvite extends InviteInfo {
  token: string;
  url: string;
}

export type TokenKind = 'personal' | 'worker';

/** A token as listed: never its secret. */
export interface TokenInfo {
  id: string;
  kind: TokenKind;
  userId: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string;
}

/** A made token, with the secret shown this once. */
export interface CreatedToken extends TokenInfo {
  token: string;
}

export interface UserChange {
  role?: UserRole;
  disabled?: boolean;
  password?: string;
}

const enc = encodeURIComponent;

export const accountApi = {
  me: () => request<MeInfo>('/api/auth/me'),

  async signIn(username: string, password: string): Promise<AccountUser> {
    const body = await request<{ user: AccountUser }>('/api/auth/sign-in', {
      method: 'POST',
      body: { username, password },
    });
    return body.user;
  },

  signOut: () => request<void>('/api/auth/sign-out', { method: 'POST' }),

  /** Ends every session of the user, this one too: sign in again afterwards. */
  changePassword: (current: string, next: string) =>
    request<void>('/api/auth/password', { method: 'POST', body: { current, next } }),

  /** What an invite link offers; 404 `invite_not_found` once it is used, revoked or expired. */
  inviteInfo: (token: string) =>
    request<{ role: UserRole; expiresAt: string }>(`/api/auth/invites/${enc(token)}`),

  /** Creates the account and signs this browser in as it. */
  async acceptInvite(token: string, username: string, password: string): Promise<UserInfo> {
    const body = await request<{ user: UserInfo }>(`/api/auth/invites/${enc(token)}/accept`, {
      method: 'POST',
      body: { username, password },
    });
    return body.user;
  },

  async listUsers(): Promise<UserInfo[]> {
    return listFrom<UserInfo>(await request<unknown>('/api/users'));
  },

  createUser: (input: { username: string; password: string; role: UserRole }) =>
    request<UserInfo>('/api/users', { method: 'POST', body: input }),

  updateUser: (id: string, change: UserChange) =>
    request<UserInfo>(`/api/users/${enc(id)}`, { method: 'PATCH', body: change }),

  async listInvites(): Promise<InviteInfo[]> {
    return listFrom<InviteInfo>(await request<unknown>('/api/invites'));
  },

  createInvite: (input: { role: UserRole; expiresInHours: number }) =>
    request<CreatedInvite>('/api/invites', { method: 'POST', body: input }),

  revokeInvite: (id: string) => request<void>(`/api/invites/${enc(id)}`, { method: 'DELETE' }),

  async listTokens(): Promise<TokenInfo[]> {
    return listFrom<TokenInfo>(await request<unknown>('/api/tokens'));
  },

  createToken: (input: { name: string; kind: TokenKind }) =>
    request<CreatedToken>('/api/tokens', { method: 'POST', body: input }),

  revokeToken: (id: string) => request<void>(`/api/tokens/${enc(id)}`, { method: 'DELETE' }),
};
