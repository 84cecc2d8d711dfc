/**
 * Accounts (LAB_AUTH=on): users, browser sessions, personal API tokens, worker tokens and
 * invites, over the document store so every API replica sees the same ones. Secrets are minted
 * and checked by secret-token.ts (stored as hashes), passwords by passwords.ts (scrypt).
 *
 * Sessions last SESSION_IDLE_MS after their last use (refreshed at most every
 * SESSION_TOUCH_MS, so reads do not turn into writes) and at most SESSION_MAX_MS in all. A
 * password change or disabling a user bumps its credentialsVersion, which ends every session
 * begun before; disabling also stops the user's tokens.
 */
import { LabError } from '../errors';
import type {
  ApiTokenRecord,
  DocumentStore,
  InviteRecord,
  UserRecord,
  UserRole,
} from '../stores/ports';
import { checkPasswordStrength, decoyHash, hashPassword, verifyPassword } from './passwords';
import { kindOfSecret, mintSecret, parseSecret, secretMatches } from './secret-token';
import type { Viewer } from './viewer';

export const SESSION_IDLE_MS = 14 * 24 * 3600_000;
export const SESSION_MAX_MS = 90 * 24 * 3600_000;
const SESSION_TOUCH_MS = 10 * 60_000;
/** How long an invite link works unless its maker says otherwise. */
export const INVITE_DEFAULT_HOURS = 72;
const INVITE_MAX_HOURS = 30 * 24;
/** The cookie a browser session travels in. */
export const SESSION_COOKIE = 'clab_session';

const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{1,39}$/;
const ROLES: readonly UserRole[] = ['admin', 'member'];

/** A user as the API shows it: never the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  role: UserRole;
  disabled: boolean;
  createdAt: string;
}

/** A token as listed: never its hash. */
export type PublicToken = Omit<ApiTokenRecord, 'secretHash'>;

export interface NewUser {
  username: unknown;
  password: unknown;
  role?: unknown;
}

export interface UserChange {
  role?: unknown;
  disabled?: unknown;
  password?: unknown;
}

export class AccountService {
  /** Told the id of every token revoked here (sockets of a worker token are closed at once). */
  private readonly revokedListeners = new Set<(tokenId: string) => void>();

  constructor(
    private readonly documents: DocumentStore,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- who is asking ------------------------------------------------------------------

  /** The viewer behind a session cookie value, or null (unknown, expired, ended). */
  async viewerOfSession(cookie: string | undefined): Promise<Viewer | null> {
    const parsed = parseSecret(cookie, 'ses');
    if (!parsed) return null;
    const session = await this.documents.sessions.get(parsed.id);
    if (!session || !secretMatches(parsed.secret, session.secretHash)) return null;
    const now = this.now();
    if (Date.parse(session.expiresAt) <= now) {
      await this.documents.sessions.delete(session.id);
      return null;
    }
    const user = await this.documents.users.get(session.userId);
    if (!user || user.disabled || user.credentialsVersion !== session.credentialsVersion) {
      return null;
    }
    if (now - Date.parse(session.lastSeenAt) > SESSION_TOUCH_MS) {
      const hardEnd = Date.parse(session.createdAt) + SESSION_MAX_MS;
      await this.documents.sessions.put({
        ...session,
        lastSeenAt: new Date(now).toISOString(),
        expiresAt: new Date(Math.min(now + SESSION_IDLE_MS, hardEnd)).toISOString(),
      });
    }
    return { id: user.id, username: user.username, role: user.role, via: 'session' };
  }

  /** The viewer behind `Authorization: Bearer <personal token>`, or null. */
  async viewerOfToken(token: string): Promise<Viewer | null> {
    const record = await this.tokenRecord(token, 'pat');
    if (!record) return null;
    const user = await this.documents.users.get(record.userId);
    if (!user || user.disabled) return null;
    return { id: user.id, username: user.username, role: user.role, via: 'token' };
  }

  /** A live worker token's record (its maker still an enabled admin), or null. */
  async workerToken(token: unknown): Promise<ApiTokenRecord | null> {
    const record = await this.tokenRecord(token, 'wrk');
    if (!record) return null;
    const maker = await this.documents.users.get(record.userId);
    return maker && !maker.disabled && maker.role === 'admin' ? record : null;
  }

  /** Whether a string looks like one of our tokens at all (for choosing the check). */
  static isToken(value: string): boolean {
    return kindOfSecret(value) !== null;
  }

  // ---- signing in -----------------------------------------------------------------------

  /** Checks a username and password and begins a session; the token goes in the cookie. */
  async signIn(
    username: unknown,
    password: unknown,
  ): Promise<{ viewer: Viewer; token: string; expiresAt: string; cookieExpiresAt: string }> {
    const name = typeof username === 'string' ? username.trim().toLowerCase() : '';
    const user = USERNAME_PATTERN.test(name)
      ? await this.documents.users.get(userIdOf(name))
      : null;
    const given = typeof password === 'string' ? password.slice(0, 1_000) : '';
    // The decoy keeps a wrong username as slow as a wrong password.
    const valid = await verifyPassword(given, user?.passwordHash ?? (await decoyHash()));
    if (!user || !valid || user.disabled) {
      throw new LabError(
        'invalid_credentials',
        'that username and password do not match an active account',
        401,
      );
    }
    const minted = mintSecret('ses');
    const now = this.now();
    const expiresAt = new Date(now + SESSION_IDLE_MS).toISOString();
    await this.documents.sessions.put({
      id: minted.id,
      userId: user.id,
      secretHash: minted.secretHash,
      credentialsVersion: user.credentialsVersion,
      createdAt: new Date(now).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      expiresAt,
    });
    return {
      viewer: { id: user.id, username: user.username, role: user.role, via: 'session' },
      token: minted.token,
      expiresAt,
      // The browser keeps the cookie until the session's hard end: the idle end moves with
      // every use (viewerOfSession), and a cookie that expired at the first idle end would
      // sign out a user who was active all along.
      cookieExpiresAt: new Date(now + SESSION_MAX_MS).toISOString(),
    };
  }

  async signOut(cookie: string | undefined): Promise<void> {
    const parsed = parseSecret(cookie, 'ses');
    if (parsed) await this.documents.sessions.delete(parsed.id);
  }

  // ---- users ------------------------------------------------------------------------

  async hasUsers(): Promise<boolean> {
    return (await this.documents.users.list({ limit: 1 })).length > 0;
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.documents.users.list()).map(publicUser);
  }

  async getUser(id: string): Promise<PublicUser | null> {
    const user = await this.documents.users.get(id);
    return user && publicUser(user);
  }

  /** Creates a user; 409 username_taken when the name exists (creation is atomic). */
  async createUser(input: NewUser): Promise<PublicUser> {
    const username = checkUsername(input.username);
    const password = checkPasswordStrength(input.password);
    const role = checkRole(input.role ?? 'member');
    const now = new Date(this.now()).toISOString();
    const user: UserRecord = {
      id: userIdOf(username),
      username,
      role,
      passwordHash: await hashPassword(password),
      disabled: false,
      credentialsVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.documents.users.create(user))) {
      throw new LabError(
        'username_taken',
        `the username "${username}" is taken: pick another`,
        409,
      );
    }
    return publicUser(user);
  }

  /**
   * An admin's change to a user. The last enabled admin cannot be demoted or disabled, so
   * a server can never lock everyone out of administration.
   */
  async updateUser(actor: Viewer, id: string, change: UserChange): Promise<PublicUser> {
    const user = await this.documents.users.get(id);
    if (!user) throw new LabError('user_not_found', `user "${id}" does not exist`, 404);
    const next: UserRecord = { ...user, updatedAt: new Date(this.now()).toISOString() };
    if (change.role !== undefined) next.role = checkRole(change.role);
    if (change.disabled !== undefined) {
      if (typeof change.disabled !== 'boolean') {
        throw new LabError('invalid_request', '"disabled" is true or false', 400);
      }
      next.disabled = change.disabled;
    }
    if (change.password !== undefined) {
      next.passwordHash = await hashPassword(checkPasswordStrength(change.password));
    }
    const losesAdmin =
      user.role === 'admin' && !user.disabled && (next.role !== 'admin' || next.disabled);
    if (losesAdmin && (await this.enabledAdmins()) <= 1) throw lastAdmin(user.username);
    if (next.disabled !== user.disabled || next.passwordHash !== user.passwordHash) {
      next.credentialsVersion = user.credentialsVersion + 1;
    }
    if (actor.id === id && next.disabled) {
      throw new LabError('cannot_disable_self', 'you cannot disable your own account', 409);
    }
    await this.documents.users.put(next);
    // Two admins demoted at once both counted two admins above: checked again after the
    // write, and undone when no enabled admin is left (both may be undone; neither is lost).
    if (losesAdmin && (await this.enabledAdmins()) < 1) {
      await this.documents.users.put(user);
      throw lastAdmin(user.username);
    }
    if (next.credentialsVersion !== user.credentialsVersion) await this.endSessionsOf(id);
    return publicUser(next);
  }

  /** A user changing their own password: the current one is asked again. */
  async changeOwnPassword(viewer: Viewer, current: unknown, next: unknown): Promise<void> {
    const user = await this.documents.users.get(viewer.id);
    if (
      !user ||
      typeof current !== 'string' ||
      !(await verifyPassword(current, user.passwordHash))
    ) {
      throw new LabError('invalid_credentials', 'the current password is wrong', 401);
    }
    await this.documents.users.put({
      ...user,
      passwordHash: await hashPassword(checkPasswordStrength(next)),
      credentialsVersion: user.credentialsVersion + 1,
      updatedAt: new Date(this.now()).toISOString(),
    });
    await this.endSessionsOf(user.id);
  }

  // ---- invites ----------------------------------------------------------------------

  async createInvite(
    actor: Viewer,
    input: { role?: unknown; expiresInHours?: unknown },
  ): Promise<{ token: string; invite: Omit<InviteRecord, 'secretHash'> }> {
    const role = checkRole(input.role ?? 'member');
    const hours = input.expiresInHours ?? INVITE_DEFAULT_HOURS;
    if (
      typeof hours !== 'number' ||
      !Number.isFinite(hours) ||
      hours <= 0 ||
      hours > INVITE_MAX_HOURS
    ) {
      throw new LabError(
        'invalid_request',
        `"expiresInHours" is a number of hours from 1 to ${INVITE_MAX_HOURS}`,
        400,
      );
    }
    const minted = mintSecret('inv');
    const now = this.now();
    const invite: InviteRecord = {
      id: minted.id,
      secretHash: minted.secretHash,
      role,
      createdBy: actor.id,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + hours * 3600_000).toISOString(),
    };
    await this.documents.invites.put(invite);
    const { secretHash: _hash, ...shown } = invite;
    return { token: minted.token, invite: shown };
  }

  async listInvites(): Promise<Omit<InviteRecord, 'secretHash'>[]> {
    const now = this.now();
    return (await this.documents.invites.list({ orderByDesc: 'createdAt' }))
      .filter((invite) => Date.parse(invite.expiresAt) > now)
      .map(({ secretHash: _hash, ...shown }) => shown);
  }

  async revokeInvite(id: string): Promise<void> {
    if (!(await this.documents.invites.delete(id))) {
      throw new LabError('invite_not_found', `invite "${id}" does not exist or was used`, 404);
    }
  }

  /** What an invite link offers, for the page that accepts it; 404 when it is no longer good. */
  async inviteInfo(token: unknown): Promise<{ role: UserRole; expiresAt: string }> {
    const invite = await this.liveInvite(token);
    return { role: invite.role, expiresAt: invite.expiresAt };
  }

  /**
   * Creates the account an invite offers and uses the invite up. The delete is what makes an
   * invite single-use: of two accepts at once only one deletes it. A username that is taken
   * gives the invite back, so the holder can pick another name.
   */
  async acceptInvite(token: unknown, input: Omit<NewUser, 'role'>): Promise<PublicUser> {
    const invite = await this.liveInvite(token);
    checkUsername(input.username);
    checkPasswordStrength(input.password);
    if (!(await this.documents.invites.delete(invite.id))) throw inviteGone();
    try {
      return await this.createUser({ ...input, role: invite.role });
    } catch (error) {
      await this.documents.invites.put(invite);
      throw error;
    }
  }

  // ---- tokens -----------------------------------------------------------------------

  /** A new token, shown once. Worker tokens are an admin's to make. */
  async createToken(
    viewer: Viewer,
    input: { name?: unknown; kind?: unknown },
  ): Promise<{ token: string; record: PublicToken }> {
    const kind = input.kind ?? 'personal';
    if (kind !== 'personal' && kind !== 'worker') {
      throw new LabError('invalid_request', '"kind" is "personal" or "worker"', 400);
    }
    if (kind === 'worker' && viewer.role !== 'admin') {
      throw new LabError('admin_only', 'only an admin can make worker tokens', 403);
    }
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length < 1 || name.length > 80) {
      throw new LabError('invalid_request', 'a token needs a "name" of 1-80 characters', 400);
    }
    const minted = mintSecret(kind === 'worker' ? 'wrk' : 'pat');
    const record: ApiTokenRecord = {
      id: minted.id,
      kind,
      userId: viewer.id,
      name,
      secretHash: minted.secretHash,
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.documents.apiTokens.put(record);
    return { token: minted.token, record: publicToken(record) };
  }

  /** A user's own tokens; an admin also sees every worker token. */
  async listTokens(viewer: Viewer): Promise<PublicToken[]> {
    const own = await this.documents.apiTokens.list({
      where: { userId: viewer.id },
      orderByDesc: 'createdAt',
    });
    const workers =
      viewer.role === 'admin'
        ? await this.documents.apiTokens.list({
            where: { kind: 'worker' },
            orderByDesc: 'createdAt',
          })
        : [];
    const seen = new Set<string>();
    return [...own, ...workers]
      .filter((record) => !seen.has(record.id) && seen.add(record.id))
      .map(publicToken);
  }

  async revokeToken(viewer: Viewer, id: string): Promise<void> {
    const record = await this.documents.apiTokens.get(id);
    const mayRevoke =
      record &&
      (record.userId === viewer.id || (viewer.role === 'admin' && record.kind === 'worker'));
    if (!record || !mayRevoke) {
      throw new LabError('token_not_found', `token "${id}" does not exist`, 404);
    }
    await this.documents.apiTokens.delete(id);
    for (const listener of this.revokedListeners) listener(id);
  }

  /**
   * Calls `listener` with the id of each token revoked through this service; returns the
   * unsubscribe function. Other API replicas learn of it on the token's next use.
   */
  onTokenRevoked(listener: (tokenId: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => void this.revokedListeners.delete(listener);
  }

  // ---- internals --------------------------------------------------------------------

  private async tokenRecord(token: unknown, kind: 'pat' | 'wrk'): Promise<ApiTokenRecord | null> {
    const parsed = parseSecret(token, kind);
    if (!parsed) return null;
    const record = await this.documents.apiTokens.get(parsed.id);
    if (!record || !secretMatches(parsed.secret, record.secretHash)) return null;
    const now = this.now();
    if (!record.lastUsedAt || now - Date.parse(record.lastUsedAt) > SESSION_TOUCH_MS) {
      await this.documents.apiTokens.put({ ...record, lastUsedAt: new Date(now).toISOString() });
    }
    return record;
  }

  private async liveInvite(token: unknown): Promise<InviteRecord> {
    const parsed = parseSecret(token, 'inv');
    const invite = parsed ? await this.documents.invites.get(parsed.id) : null;
    if (
      !parsed ||
      !invite ||
      !secretMatches(parsed.secret, invite.secretHash) ||
      Date.parse(invite.expiresAt) <= this.now()
    ) {
      throw inviteGone();
    }
    return invite;
  }

  private async enabledAdmins(): Promise<number> {
    return (await this.documents.users.list({ where: { role: 'admin', disabled: false } })).length;
  }

  private async endSessionsOf(userId: string): Promise<void> {
    for (const session of await this.documents.sessions.list({ where: { userId } })) {
      await this.documents.sessions.delete(session.id);
    }
  }
}

/** A user's id is derived from the username, so creating one is atomic on every store. */
export function userIdOf(username: string): string {
  return `usr_${username}`;
}

function checkUsername(value: unknown): string {
  const name = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!USERNAME_PATTERN.test(name)) {
    throw new LabError(
      'invalid_username',
      'a username is 2-40 characters: lower-case letters, digits and _ . - (starting with a letter or digit)',
      400,
    );
  }
  return name;
}

function checkRole(value: unknown): UserRole {
  if (!ROLES.includes(value as UserRole)) {
    throw new LabError('invalid_role', `a role is one of: ${ROLES.join(', ')}`, 400);
  }
  return value as UserRole;
}

function lastAdmin(username: string): LabError {
  return new LabError(
    'last_admin',
    `${username} is the last enabled admin: make another user admin first`,
    409,
  );
}

function inviteGone(): LabError {
  return new LabError(
    'invite_not_found',
    'this invite link is not valid any more (used, revoked or expired): ask an admin for a new one',
    404,
  );
}

function publicUser(user: UserRecord): PublicUser {
  return {
    id: user.id,
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    createdAt: user.createdAt,
  };
}

function publicToken(record: ApiTokenRecord): PublicToken {
  const { secretHash: _hash, ...shown } = record;
  return shown;
}
