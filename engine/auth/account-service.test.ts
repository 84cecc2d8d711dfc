import { scryptSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDocumentStore } from '../stores/documents/sqlite';
import {
  AccountService,
  INVITE_DEFAULT_HOURS,
  SESSION_IDLE_MS,
  SESSION_MAX_MS,
} from './account-service';
import { hashPassword, verifyPassword } from './passwords';
import type { Viewer } from './viewer';

const START = Date.parse('2026-01-05T09:00:00.000Z');
const DAY = 24 * 3600_000;
const PASSWORD = 'correct horse battery';

// scrypt at production cost (tens of ms alone, seconds on a loaded 2-core box) in most tests.
const SLOW = { timeout: 600_000 };

describe('passwords', SLOW, () => {
  it('stores scrypt with its parameters and a fresh salt, and checks them', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash).toMatch(/^scrypt\$32768\$8\$3\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(hash).not.toContain(PASSWORD);
    expect(await hashPassword(PASSWORD)).not.toBe(hash);
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
    expect(await verifyPassword(`${PASSWORD} `, hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('verifies with the parameters read from the hash, so old hashes keep working', async () => {
    // Made the way an earlier, cheaper setting would have (N=2^10, r=8, p=1).
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync(PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 });
    const old = `scrypt$1024$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword(PASSWORD, old)).toBe(true);
    expect(await verifyPassword('wrong password!', old)).toBe(false);
  });

  it('treats a damaged or foreign hash as a wrong password, never as an error', async () => {
    const good = await hashPassword(PASSWORD);
    const [, , , , salt, key] = good.split('$');
    for (const stored of [
      '',
      'plain',
      `bcrypt$32768$8$3$${salt}$${key}`,
      `scrypt$abc$8$3$${salt}$${key}`,
      `scrypt$1000$8$3$${salt}$${key}`,
      `scrypt$32768$8$3$${salt}$`,
      `scrypt$${2 ** 40}$8$3$${salt}$${key}`,
    ]) {
      expect(await verifyPassword(PASSWORD, stored), stored).toBe(false);
    }
  });
});

describe('AccountService on SQLite', SLOW, () => {
  let dataDir: string;
  let store: SqliteDocumentStore;
  let now: number;
  let accounts: AccountService;
  let admin: Viewer;

  const viewer = (id: string, role: Viewer['role'] = 'member'): Viewer => ({
    id,
    username: id.replace(/^usr_/, ''),
    role,
    via: 'session',
  });
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'charlab-accounts-'));
    store = new SqliteDocumentStore(dataDir);
    now = START;
    accounts = new AccountService(store, () => now);
    const created = await accounts.createUser({
      username: 'root',
      password: PASSWORD,
      role: 'admin',
    });
    admin = viewer(created.id, 'admin');
  });

  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('signing in', () => {
    it('gives a wrong username and a wrong password the same answer', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const wrongPassword = await accounts.signIn('mara', 'not the password').catch((e) => e);
      const wrongName = await accounts.signIn('nobody', PASSWORD).catch((e) => e);
      const badName = await accounts.signIn('NO SUCH USER!', PASSWORD).catch((e) => e);
      const noPassword = await accounts.signIn('mara', undefined).catch((e) => e);
      for (const error of [wrongPassword, wrongName, badName, noPassword]) {
        expect(error).toMatchObject({ code: 'invalid_credentials', status: 401 });
        expect(error.message).toBe(wrongPassword.message);
      }
      // Names are case- and space-insensitive.
      const session = await accounts.signIn('  Mara ', PASSWORD);
      expect(session.viewer).toEqual({
        id: 'usr_mara',
        username: 'mara',
        role: 'member',
        via: 'session',
      });
      expect(session.token).toMatch(/^clab_ses_[0-9a-f]{16}_[0-9a-f]{64}$/);
      expect(await accounts.viewerOfSession(session.token)).toEqual(session.viewer);
    });

    it('rejects forged, altered and foreign cookies', async () => {
      const { token } = await accounts.signIn('root', PASSWORD);
      const altered = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
      const asToken = (await accounts.createToken(admin, { name: 'cli' })).token;
      for (const cookie of [undefined, '', 'garbage', altered, asToken, token.toUpperCase()]) {
        expect(await accounts.viewerOfSession(cookie), String(cookie)).toBeNull();
      }
      expect(await accounts.viewerOfSession(token)).not.toBeNull();
    });

    it('ends a session after the idle time, and refreshes it on use without a write per read', async () => {
      const { token, expiresAt } = await accounts.signIn('root', PASSWORD);
      expect(Date.parse(expiresAt)).toBe(START + SESSION_IDLE_MS);
      const id = `ses_${token.split('_')[2]}`;

      now = START + 60_000;
      expect(await accounts.viewerOfSession(token)).not.toBeNull();
      // A read a minute in does not rewrite the record.
      expect((await store.sessions.get(id))?.lastSeenAt).toBe(new Date(START).toISOString());

      now = START + 13 * DAY;
      expect(await accounts.viewerOfSession(token)).not.toBeNull();
      expect((await store.sessions.get(id))?.expiresAt).toBe(
        new Date(now + SESSION_IDLE_MS).toISOString(),
      );

      // Idle for longer than SESSION_IDLE_MS since that use: over, and the record is gone.
      now = START + 13 * DAY + SESSION_IDLE_MS;
      expect(await accounts.viewerOfSession(token)).toBeNull();
      expect(await store.sessions.get(id)).toBeNull();
    });

    it('ends even a session in daily use after SESSION_MAX_MS', async () => {
      const { token } = await accounts.signIn('root', PASSWORD);
      for (now = START; now < START + SESSION_MAX_MS; now += DAY) {
        expect(await accounts.viewerOfSession(token), `day ${(now - START) / DAY}`).not.toBeNull();
      }
      now = START + SESSION_MAX_MS;
      expect(await accounts.viewerOfSession(token)).toBeNull();
    });

    it('signs out: the cookie stops working', async () => {
      const { token } = await accounts.signIn('root', PASSWORD);
      await accounts.signOut(token);
      expect(await accounts.viewerOfSession(token)).toBeNull();
      await accounts.signOut('garbage');
      await accounts.signOut(undefined);
    });
  });

  describe('users', () => {
    it('keeps usernames unique and validated, and never shows a password hash', async () => {
      const mara = await accounts.createUser({ username: 'Mara', password: PASSWORD });
      expect(mara).toEqual({
        id: 'usr_mara',
        username: 'mara',
        role: 'member',
        disabled: false,
        createdAt: new Date(START).toISOString(),
      });
      expect(await codeOf(accounts.createUser({ username: 'mara', password: PASSWORD }))).toBe(
        'username_taken',
      );
      for (const username of ['a', '-dash', 'white space', 'x'.repeat(41), 'ünï', 42]) {
        expect(await codeOf(accounts.createUser({ username, password: PASSWORD }))).toBe(
          'invalid_username',
        );
      }
      expect(await codeOf(accounts.createUser({ username: 'ana', password: 'short' }))).toBe(
        'weak_password',
      );
      expect(
        await codeOf(accounts.createUser({ username: 'ana', password: PASSWORD, role: 'root' })),
      ).toBe('invalid_role');
      expect(JSON.stringify(await accounts.listUsers())).not.toContain('scrypt');
    });

    it('of concurrent creates of one username exactly one wins', async () => {
      const results = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          codeOf(accounts.createUser({ username: 'twin', password: `${PASSWORD} ${i}` })),
        ),
      );
      expect(results.filter((r) => r === 'resolved')).toHaveLength(1);
      expect(results.filter((r) => r === 'username_taken')).toHaveLength(3);
    });

    it('stops the sessions and tokens of a disabled user', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const mara = viewer('usr_mara');
      const { token: cookie } = await accounts.signIn('mara', PASSWORD);
      const { token } = await accounts.createToken(mara, { name: 'laptop' });
      expect(await accounts.viewerOfToken(token)).toMatchObject({ id: 'usr_mara', via: 'token' });

      await accounts.updateUser(admin, 'usr_mara', { disabled: true });
      expect(await accounts.viewerOfSession(cookie)).toBeNull();
      expect(await accounts.viewerOfToken(token)).toBeNull();
      expect(await codeOf(accounts.signIn('mara', PASSWORD))).toBe('invalid_credentials');

      // Enabled again: the old session stays ended; signing in works.
      await accounts.updateUser(admin, 'usr_mara', { disabled: false });
      expect(await accounts.viewerOfSession(cookie)).toBeNull();
      expect(await accounts.signIn('mara', PASSWORD)).toMatchObject({
        viewer: { id: 'usr_mara' },
      });
    });

    it('ends every session when the password changes, by the user or by an admin', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const mara = viewer('usr_mara');
      const first = await accounts.signIn('mara', PASSWORD);
      const second = await accounts.signIn('mara', PASSWORD);
      const other = await accounts.signIn('root', PASSWORD);

      expect(
        await codeOf(accounts.changeOwnPassword(mara, 'wrong current', 'a new long password')),
      ).toBe('invalid_credentials');
      expect(await codeOf(accounts.changeOwnPassword(mara, PASSWORD, 'short'))).toBe(
        'weak_password',
      );
      // Refused changes changed nothing.
      expect(await accounts.viewerOfSession(first.token)).not.toBeNull();

      await accounts.changeOwnPassword(mara, PASSWORD, 'a new long password');
      expect(await accounts.viewerOfSession(first.token)).toBeNull();
      expect(await accounts.viewerOfSession(second.token)).toBeNull();
      expect(await accounts.viewerOfSession(other.token)).not.toBeNull();
      expect(await codeOf(accounts.signIn('mara', PASSWORD))).toBe('invalid_credentials');
      const third = await accounts.signIn('mara', 'a new long password');

      await accounts.updateUser(admin, 'usr_mara', { password: 'set by the admin' });
      expect(await accounts.viewerOfSession(third.token)).toBeNull();
      expect(await accounts.signIn('mara', 'set by the admin')).toBeTruthy();
      // A role change alone keeps sessions (the role is read on every request).
      const fourth = await accounts.signIn('mara', 'set by the admin');
      await accounts.updateUser(admin, 'usr_mara', { role: 'admin' });
      expect(await accounts.viewerOfSession(fourth.token)).toMatchObject({ role: 'admin' });
    });

    it('never demotes or disables the last enabled admin, nor lets an admin disable themself', async () => {
      expect(await codeOf(accounts.updateUser(admin, admin.id, { role: 'member' }))).toBe(
        'last_admin',
      );
      expect(await codeOf(accounts.updateUser(admin, admin.id, { disabled: true }))).toBe(
        'last_admin',
      );
      await accounts.createUser({ username: 'second', password: PASSWORD, role: 'admin' });
      expect(await codeOf(accounts.updateUser(admin, admin.id, { disabled: true }))).toBe(
        'cannot_disable_self',
      );
      await accounts.updateUser(admin, 'usr_second', { disabled: true });
      // A disabled admin does not count: root is the last enabled one again.
      expect(await codeOf(accounts.updateUser(admin, admin.id, { role: 'member' }))).toBe(
        'last_admin',
      );
      await accounts.updateUser(admin, 'usr_second', { disabled: false });
      await accounts.updateUser(viewer('usr_second', 'admin'), admin.id, { role: 'member' });
      expect((await accounts.getUser(admin.id))?.role).toBe('member');
      expect(await codeOf(accounts.updateUser(admin, 'usr_nobody', { role: 'member' }))).toBe(
        'user_not_found',
      );
    });

    it('keeps an enabled admin when two admins are demoted at once', async () => {
      await accounts.createUser({ username: 'second', password: PASSWORD, role: 'admin' });
      const second = viewer('usr_second', 'admin');
      for (let round = 0; round < 3; round += 1) {
        await Promise.allSettled([
          accounts.updateUser(second, admin.id, { role: 'member' }),
          accounts.updateUser(admin, second.id, { role: 'member' }),
        ]);
        const admins = (await accounts.listUsers()).filter(
          (user) => user.role === 'admin' && !user.disabled,
        );
        expect(admins.length, `round ${round}`).toBeGreaterThanOrEqual(1);
        // Make both admins again for the next round.
        for (const id of [admin.id, second.id]) {
          const user = await store.users.get(id);
          await store.users.put({ ...user!, role: 'admin' });
        }
      }
    });
  });

  describe('invites', () => {
    it('creates the account the invite offers, once, and signs in with it', async () => {
      const { token, invite } = await accounts.createInvite(admin, { role: 'admin' });
      expect(token).toMatch(/^clab_inv_/);
      expect(invite).not.toHaveProperty('secretHash');
      expect(Date.parse(invite.expiresAt)).toBe(START + INVITE_DEFAULT_HOURS * 3600_000);
      expect(await accounts.inviteInfo(token)).toEqual({
        role: 'admin',
        expiresAt: invite.expiresAt,
      });
      expect(await accounts.listInvites()).toEqual([invite]);

      const user = await accounts.acceptInvite(token, { username: 'ana', password: PASSWORD });
      expect(user).toMatchObject({ id: 'usr_ana', role: 'admin' });
      expect(await accounts.signIn('ana', PASSWORD)).toBeTruthy();
      expect(
        await codeOf(accounts.acceptInvite(token, { username: 'ana2', password: PASSWORD })),
      ).toBe('invite_not_found');
      expect(await codeOf(accounts.inviteInfo(token))).toBe('invite_not_found');
      expect(await accounts.listInvites()).toEqual([]);
    });

    it('is single-use even when two people accept it at once', async () => {
      for (let round = 0; round < 3; round += 1) {
        const { token } = await accounts.createInvite(admin, {});
        const results = await Promise.all(
          ['a', 'b', 'c'].map((who) =>
            codeOf(
              accounts.acceptInvite(token, { username: `${who}${round}`, password: PASSWORD }),
            ),
          ),
        );
        expect(
          results.filter((r) => r === 'resolved'),
          `round ${round}`,
        ).toHaveLength(1);
        expect(results.filter((r) => r === 'invite_not_found')).toHaveLength(2);
      }
      // Three rounds: three new users besides root.
      expect(await accounts.listUsers()).toHaveLength(4);
    });

    it('refuses an expired, revoked or forged invite', async () => {
      const { token } = await accounts.createInvite(admin, { expiresInHours: 1 });
      now = START + 3600_000;
      expect(await codeOf(accounts.inviteInfo(token))).toBe('invite_not_found');
      expect(
        await codeOf(accounts.acceptInvite(token, { username: 'late', password: PASSWORD })),
      ).toBe('invite_not_found');
      expect(await accounts.listInvites()).toEqual([]);

      const revoked = await accounts.createInvite(admin, {});
      await accounts.revokeInvite(revoked.invite.id);
      expect(await codeOf(accounts.revokeInvite(revoked.invite.id))).toBe('invite_not_found');
      expect(await codeOf(accounts.inviteInfo(revoked.token))).toBe('invite_not_found');

      const live = await accounts.createInvite(admin, {});
      const forged = `${live.token.slice(0, -4)}0000`;
      for (const bad of [forged, 'clab_inv_x', undefined, 42, live.token.replace('inv', 'pat')]) {
        expect(await codeOf(accounts.inviteInfo(bad)), String(bad)).toBe('invite_not_found');
      }
      for (const hours of [0, -1, 10_000, Number.NaN, '24']) {
        expect(await codeOf(accounts.createInvite(admin, { expiresInHours: hours }))).toBe(
          'invalid_request',
        );
      }
      expect(await accounts.listUsers()).toHaveLength(1);
    });

    it('gives the invite back when the username is taken or the password too weak', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const { token } = await accounts.createInvite(admin, {});
      expect(
        await codeOf(accounts.acceptInvite(token, { username: 'mara', password: PASSWORD })),
      ).toBe('username_taken');
      expect(
        await codeOf(accounts.acceptInvite(token, { username: 'ana', password: 'short' })),
      ).toBe('weak_password');
      expect(await accounts.inviteInfo(token)).toMatchObject({ role: 'member' });
      expect(await accounts.acceptInvite(token, { username: 'ana', password: PASSWORD })).toEqual(
        expect.objectContaining({ id: 'usr_ana', role: 'member' }),
      );
      // The taken account is untouched: its password still signs in.
      expect(await accounts.signIn('mara', PASSWORD)).toBeTruthy();
    });
  });

  describe('tokens', () => {
    it('shows a token once, lists it without its hash, and revokes it', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const mara = viewer('usr_mara');
      const { token, record } = await accounts.createToken(mara, { name: ' laptop ' });
      expect(token).toMatch(/^clab_pat_[0-9a-f]{16}_[0-9a-f]{64}$/);
      expect(record).toEqual({
        id: token.split('_').slice(1, 3).join('_'),
        kind: 'personal',
        userId: 'usr_mara',
        name: 'laptop',
        createdAt: new Date(START).toISOString(),
      });
      expect(await accounts.listTokens(mara)).toEqual([record]);
      expect(await accounts.viewerOfToken(token)).toEqual({
        id: 'usr_mara',
        username: 'mara',
        role: 'member',
        via: 'token',
      });
      expect((await store.apiTokens.get(record.id))?.lastUsedAt).toBe(
        new Date(START).toISOString(),
      );

      // Nobody else revokes it, not even an admin; a made-up id is as missing as another's.
      expect(await codeOf(accounts.revokeToken(admin, record.id))).toBe('token_not_found');
      expect(await codeOf(accounts.revokeToken(mara, 'pat_0000000000000000'))).toBe(
        'token_not_found',
      );
      expect(await accounts.listTokens(admin)).toEqual([]);
      await accounts.revokeToken(mara, record.id);
      expect(await accounts.viewerOfToken(token)).toBeNull();
      expect(await accounts.listTokens(mara)).toEqual([]);

      for (const name of ['', '   ', 'x'.repeat(81), 42]) {
        expect(await codeOf(accounts.createToken(mara, { name }))).toBe('invalid_request');
      }
      expect(await codeOf(accounts.createToken(mara, { name: 'x', kind: 'root' }))).toBe(
        'invalid_request',
      );
    });

    it('lets only admins make worker tokens, which work only as worker tokens', async () => {
      await accounts.createUser({ username: 'mara', password: PASSWORD });
      const mara = viewer('usr_mara');
      expect(await codeOf(accounts.createToken(mara, { name: 'gpu', kind: 'worker' }))).toBe(
        'admin_only',
      );
      const worker = await accounts.createToken(admin, { name: 'gpu-1', kind: 'worker' });
      const personal = await accounts.createToken(mara, { name: 'cli' });
      expect(worker.token).toMatch(/^clab_wrk_/);
      expect(await accounts.workerToken(worker.token)).toMatchObject({ kind: 'worker' });
      // Neither kind passes as the other.
      expect(await accounts.viewerOfToken(worker.token)).toBeNull();
      expect(await accounts.workerToken(personal.token)).toBeNull();

      // Every admin sees (and may revoke) worker tokens; members see only their own.
      await accounts.createUser({ username: 'second', password: PASSWORD, role: 'admin' });
      const second = viewer('usr_second', 'admin');
      expect((await accounts.listTokens(second)).map((t) => t.id)).toEqual([worker.record.id]);
      expect((await accounts.listTokens(mara)).map((t) => t.id)).toEqual([personal.record.id]);

      // A worker token works while its maker is an enabled admin.
      await accounts.updateUser(second, admin.id, { role: 'member' });
      expect(await accounts.workerToken(worker.token)).toBeNull();
      await accounts.updateUser(second, admin.id, { role: 'admin' });
      expect(await accounts.workerToken(worker.token)).not.toBeNull();
      await accounts.revokeToken(second, worker.record.id);
      expect(await accounts.workerToken(worker.token)).toBeNull();
    });
  });

  it('stores no token, secret or password in clear', async () => {
    await accounts.createUser({ username: 'mara', password: 'mara secret password' });
    const minted = [
      (await accounts.signIn('root', PASSWORD)).token,
      (await accounts.signIn('mara', 'mara secret password')).token,
      (await accounts.createToken(admin, { name: 'cli' })).token,
      (await accounts.createToken(admin, { name: 'gpu', kind: 'worker' })).token,
      (await accounts.createInvite(admin, {})).token,
    ];
    // A token in use is only read: lastUsedAt is the one thing written.
    await accounts.viewerOfToken(minted[2]);
    const needles = [
      ...minted,
      ...minted.map((token) => token.split('_').at(-1)!),
      PASSWORD,
      'mara secret password',
    ];
    const haystacks = async () => {
      const files = await readdir(dataDir);
      return Promise.all(
        files.map(async (name) => ({ name, bytes: await readFile(join(dataDir, name)) })),
      );
    };
    const hits = (files: { name: string; bytes: Buffer }[]) =>
      files.flatMap(({ name, bytes }) =>
        needles.filter((needle) => bytes.includes(needle)).map((needle) => `${name}: ${needle}`),
      );

    const live = await haystacks();
    // The WAL holds the recent writes while the store is open.
    expect(live.map((f) => f.name)).toContain('lab.db-wal');
    expect(live.reduce((sum, f) => sum + f.bytes.length, 0)).toBeGreaterThan(0);
    expect(hits(live)).toEqual([]);
    await store.close();
    expect(hits(await haystacks())).toEqual([]);
    // The records are there, as hashes: the store was not simply empty.
    store = new SqliteDocumentStore(dataDir);
    expect(await store.sessions.list()).toHaveLength(2);
    expect(await store.apiTokens.list()).toHaveLength(2);
  });
});
