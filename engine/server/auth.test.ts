import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SESSION_IDLE_MS, SESSION_MAX_MS } from '../auth/account-service';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import { buildServer, refuseUnsafeExposure, type LabServer, type ServerOptions } from './app';
import type { LogLevel } from './context';

const PASSWORD = 'correct horse battery';
/** The studio as the browser sees it: the Host it talks to and its own Origin. */
const STUDIO = { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' };

// Sign-ins run scrypt at production cost: slow on a loaded machine, never timed.
describe.skipIf(temporalUnavailable())(
  'accounts over HTTP and Socket.IO (LAB_AUTH=on)',
  { timeout: 600_000 },
  () => {
    let lab: TestEngine;
    let server: LabServer;
    let url: string;
    const servers: LabServer[] = [];
    let logs: { level: LogLevel; message: string }[] = [];

    /** Another server on the same engine (and so the same users). */
    const serverWith = (options: ServerOptions) => {
      const extra = buildServer(lab.engine, {
        editorDir: '/nonexistent',
        rateLimit: false,
        log: (level, message) => logs.push({ level, message }),
        ...options,
      });
      servers.push(extra);
      return extra;
    };
    const inject = (options: InjectOptions, on: LabServer = server) =>
      on.app.inject({ ...options, headers: { host: STUDIO.host, ...options.headers } });
    const setCookieOf = (response: LightMyRequestResponse): string => {
      const header = response.headers['set-cookie'];
      return (Array.isArray(header) ? header : [header ?? '']).join('\n');
    };
    /** The `clab_session=…` pair a browser would send back. */
    const cookieOf = (response: LightMyRequestResponse): string => {
      const match = /clab_session=([^;]+)/.exec(setCookieOf(response));
      if (!match) throw new Error(`no session cookie in ${response.statusCode} ${response.body}`);
      return `clab_session=${match[1]}`;
    };
    const signIn = (username: string, password = PASSWORD, on: LabServer = server) =>
      inject(
        {
          method: 'POST',
          url: '/api/auth/sign-in',
          headers: { origin: STUDIO.origin },
          payload: { username, password },
        },
        on,
      );
    /** A request from the studio page of a signed-in browser. */
    const asBrowser = (cookie: string, options: InjectOptions) =>
      inject({ ...options, headers: { cookie, origin: STUDIO.origin, ...options.headers } });
    const wipeUsers = async () => {
      for (const user of await lab.engine.documents.users.list()) {
        await lab.engine.documents.users.delete(user.id);
      }
    };

    beforeAll(async () => {
      lab = await startTestEngine({ startWorker: false });
      server = serverWith({ auth: 'on', bootstrapAdmin: { username: 'root', password: PASSWORD } });
      ({ url } = await server.listen('127.0.0.1', 0));
    });

    afterAll(async () => {
      for (const each of servers) await each.close();
      await lab?.close();
    });

    beforeEach(() => {
      logs = [];
    });

    describe('sessions', () => {
      it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, for the whole session', async () => {
        const before = Date.now();
        const response = await signIn('root');
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({
          user: { id: 'usr_root', username: 'root', role: 'admin' },
        });
        const header = setCookieOf(response);
        expect(header).toMatch(/^clab_session=clab_ses_[0-9a-f]{16}_[0-9a-f]{64};/);
        expect(header).toMatch(/; HttpOnly(;|$)/);
        expect(header).toMatch(/; SameSite=Lax(;|$)/);
        expect(header).toMatch(/; Path=\/(;|$)/);
        expect(header).not.toMatch(/Secure/i);
        // The browser keeps it until the session's hard end; the server ends idle sessions
        // sooner, and moves that end on every use (a cookie dying at the first idle end would
        // sign out someone active all along).
        const expires = Date.parse(/; Expires=([^;]+)/.exec(header)?.[1] ?? '');
        expect(expires).toBeGreaterThan(before + SESSION_IDLE_MS);
        expect(expires).toBeLessThanOrEqual(Date.now() + SESSION_MAX_MS);
      });

      it('marks the cookie Secure only when the studio is served over HTTPS', async () => {
        const https = serverWith({ auth: 'on', publicUrl: 'https://studio.example' });
        expect(setCookieOf(await signIn('root', PASSWORD, https))).toMatch(/; Secure(;|$)/);
        const http = serverWith({ auth: 'on', publicUrl: 'http://studio.lan:8080' });
        expect(setCookieOf(await signIn('root', PASSWORD, http))).not.toMatch(/Secure/i);
      });

      it('signs in, knows who is there, signs out, and then answers 401', async () => {
        const signedOut = await inject({ method: 'GET', url: '/api/auth/me' });
        expect(signedOut.json()).toEqual({ auth: 'on', user: null });
        const anonymous = await inject({ method: 'GET', url: '/api/workflows' });
        expect(anonymous.statusCode).toBe(401);
        expect(anonymous.json().error.code).toBe('unauthenticated');

        const cookie = cookieOf(await signIn(' ROOT '));
        const me = await inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
        expect(me.json()).toEqual({
          auth: 'on',
          user: { id: 'usr_root', username: 'root', role: 'admin' },
        });
        expect(
          (await inject({ method: 'GET', url: '/api/workflows', headers: { cookie } })).statusCode,
        ).toBe(200);

        const out = await asBrowser(cookie, { method: 'POST', url: '/api/auth/sign-out' });
        expect(out.statusCode).toBe(204);
        expect(setCookieOf(out)).toMatch(/clab_session=;.*Expires=Thu, 01 Jan 1970/);
        // The old cookie, replayed, is dead on the server too.
        expect(
          (await inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).json(),
        ).toEqual({ auth: 'on', user: null });
        const after = await inject({ method: 'GET', url: '/api/workflows', headers: { cookie } });
        expect(after.statusCode).toBe(401);
        expect(after.json().error.code).toBe('unauthenticated');
      });

      it('answers a wrong password and an unknown user alike', async () => {
        const wrong = await signIn('root', 'not the password', server);
        const unknown = await signIn('nobody-here', PASSWORD, server);
        expect(wrong.statusCode).toBe(401);
        expect(unknown.statusCode).toBe(401);
        expect(wrong.json()).toEqual(unknown.json());
        expect(wrong.json().error.code).toBe('invalid_credentials');
        expect(setCookieOf(wrong)).toBe('');
      });

      it('limits failed sign-ins per address and username with 429 and Retry-After', async () => {
        const from = (remoteAddress: string, username: string, password: string) =>
          server.app.inject({
            method: 'POST',
            url: '/api/auth/sign-in',
            remoteAddress,
            headers: { host: STUDIO.host, origin: STUDIO.origin },
            payload: { username, password },
          });
        for (let attempt = 1; attempt <= 10; attempt += 1) {
          expect((await from('10.1.1.1', 'root', `guess number ${attempt}`)).statusCode).toBe(401);
        }
        // Now even the right password waits: the guesser cannot tell.
        for (const password of ['guess number 11', PASSWORD]) {
          const limited = await from('10.1.1.1', 'Root', password);
          expect(limited.statusCode).toBe(429);
          expect(limited.json().error.code).toBe('too_many_sign_ins');
          expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
          expect(setCookieOf(limited)).toBe('');
        }
        // Another address, or another name from the same address, is not held back.
        expect((await from('10.1.1.2', 'root', PASSWORD)).statusCode).toBe(200);
        expect((await from('10.1.1.1', 'someone', PASSWORD)).statusCode).toBe(401);
      });
    });

    describe('API tokens and CSRF', () => {
      let cookie: string;

      beforeAll(async () => {
        cookie = cookieOf(await signIn('root'));
      });

      it('accepts a personal token from the CLI, and never falls back to the cookie for a bad one', async () => {
        const made = await asBrowser(cookie, {
          method: 'POST',
          url: '/api/tokens',
          payload: { name: 'cli' },
        });
        expect(made.statusCode).toBe(201);
        const { token, id } = made.json<{ token: string; id: string }>();
        // Shown once, whole (not blanked by the response redactor), and never cached.
        expect(token).toMatch(/^clab_pat_[0-9a-f]{16}_[0-9a-f]{64}$/);
        expect(made.headers['cache-control']).toBe('no-store');
        const listed = await inject({ method: 'GET', url: '/api/tokens', headers: { cookie } });
        expect(listed.body).toContain(id);
        expect(listed.body).not.toContain(token);
        expect(listed.body).not.toContain('secretHash');

        // The CLI: a bearer token, no Origin, no cookie, and it may change things.
        const bearer = { authorization: `Bearer ${token}` };
        const me = await inject({ method: 'GET', url: '/api/auth/me', headers: bearer });
        expect(me.json().user).toEqual({ id: 'usr_root', username: 'root', role: 'admin' });
        const write = await inject({
          method: 'POST',
          url: '/api/tokens',
          headers: bearer,
          payload: { name: 'from the cli' },
        });
        expect(write.statusCode).toBe(201);

        for (const authorization of [
          `Bearer ${token.slice(0, -1)}0`,
          'Bearer clab_pat_nonsense',
          `Basic ${Buffer.from('root:pw').toString('base64')}`,
          `Bearer ${cookie.split('=')[1]}`,
          `Bearer ${token} extra`,
        ]) {
          const refused = await inject({
            method: 'GET',
            url: '/api/workflows',
            headers: { authorization, cookie },
          });
          expect(refused.statusCode, authorization).toBe(401);
          expect(refused.json().error.code).toBe('invalid_token');
        }

        const revoked = await inject({
          method: 'DELETE',
          url: `/api/tokens/${id}`,
          headers: bearer,
        });
        expect(revoked.statusCode).toBe(204);
        const after = await inject({ method: 'GET', url: '/api/workflows', headers: bearer });
        expect(after.statusCode).toBe(401);
        expect(after.json().error.code).toBe('invalid_token');
      });

      it('refuses a cookie-carried change that names no origin, and one from another origin', async () => {
        const tokens = async () =>
          (await inject({ method: 'GET', url: '/api/tokens', headers: { cookie } })).json<
            unknown[]
          >().length;
        const before = await tokens();
        const post = (headers: Record<string, string>) =>
          inject({
            method: 'POST',
            url: '/api/tokens',
            headers: { cookie, ...headers },
            payload: { name: 'csrf probe' },
          });

        for (const headers of [
          {} as Record<string, string>,
          { 'sec-fetch-site': 'same-site' },
          { 'sec-fetch-site': 'cross-site' },
        ]) {
          const refused = await post(headers);
          expect(refused.statusCode, JSON.stringify(headers)).toBe(403);
          expect(refused.json().error.code).toBe('csrf_refused');
        }
        const foreign = await post({ origin: 'http://evil.example' });
        expect(foreign.statusCode).toBe(403);
        expect(foreign.json().error.code).toBe('origin_not_allowed');
        expect(await tokens()).toBe(before);

        expect((await post({ origin: STUDIO.origin })).statusCode).toBe(201);
        expect((await post({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
        expect(await tokens()).toBe(before + 2);
        // Reads need no origin: a cookie GET from a link is fine.
        expect(
          (await inject({ method: 'GET', url: '/api/tokens', headers: { cookie } })).statusCode,
        ).toBe(200);
      });
    });

    describe('admins, members and invites', () => {
      let admin: string;
      let member: string;

      beforeAll(async () => {
        admin = cookieOf(await signIn('root'));
        const created = await asBrowser(admin, {
          method: 'POST',
          url: '/api/users',
          payload: { username: 'mara', password: PASSWORD },
        });
        expect(created.statusCode).toBe(201);
        expect(created.body).not.toContain('scrypt');
        member = cookieOf(await signIn('mara'));
      });

      it('keeps users and invites to admins (403 admin_only for members)', async () => {
        for (const [method, path, payload] of [
          ['GET', '/api/users'],
          ['POST', '/api/users', { username: 'sneaky', password: PASSWORD, role: 'admin' }],
          ['PATCH', '/api/users/usr_root', { role: 'member' }],
          ['GET', '/api/invites'],
          ['POST', '/api/invites', { role: 'admin' }],
          ['DELETE', '/api/invites/inv_0000000000000000'],
          ['POST', '/api/tokens', { name: 'gpu', kind: 'worker' }],
        ] as const) {
          const refused = await asBrowser(member, {
            method,
            url: path,
            ...(payload ? { payload } : {}),
          });
          expect(refused.statusCode, `${method} ${path}`).toBe(403);
          expect(refused.json().error.code).toBe('admin_only');
        }
        const users = await inject({
          method: 'GET',
          url: '/api/users',
          headers: { cookie: admin },
        });
        expect(users.json<{ username: string; role: string }[]>()).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ username: 'root', role: 'admin' }),
            expect.objectContaining({ username: 'mara', role: 'member' }),
          ]),
        );
        expect(users.json<{ username: string }[]>().map((u) => u.username)).not.toContain('sneaky');
      });

      it('runs the invite flow: an admin invites, a signed-out browser accepts and is signed in', async () => {
        const made = await asBrowser(admin, {
          method: 'POST',
          url: '/api/invites',
          payload: { role: 'member', expiresInHours: 2 },
        });
        expect(made.statusCode).toBe(201);
        const invite = made.json<{ token: string; url: string; role: string }>();
        expect(invite.token).toMatch(/^clab_inv_[0-9a-f]{16}_[0-9a-f]{64}$/);
        expect(invite.url).toBe(`http://${STUDIO.host}/invite/${invite.token}`);
        expect(made.headers['cache-control']).toBe('no-store');

        const info = await inject({ method: 'GET', url: `/api/auth/invites/${invite.token}` });
        expect(info.statusCode).toBe(200);
        expect(info.json()).toMatchObject({ role: 'member' });

        const accepted = await inject({
          method: 'POST',
          url: `/api/auth/invites/${invite.token}/accept`,
          headers: { origin: STUDIO.origin },
          payload: { username: 'ana', password: PASSWORD },
        });
        expect(accepted.statusCode).toBe(201);
        expect(accepted.json().user).toMatchObject({ id: 'usr_ana', role: 'member' });
        const cookie = cookieOf(accepted);
        expect(
          (await inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).json().user,
        ).toEqual({ id: 'usr_ana', username: 'ana', role: 'member' });

        const again = await inject({
          method: 'POST',
          url: `/api/auth/invites/${invite.token}/accept`,
          payload: { username: 'ana2', password: PASSWORD },
        });
        expect(again.statusCode).toBe(404);
        expect(again.json().error.code).toBe('invite_not_found');
      });
    });

    describe('first admin', () => {
      it('makes the admin from LAB_ADMIN_USERNAME/PASSWORD when there are no users', async () => {
        await wipeUsers();
        const fresh = serverWith({
          auth: 'on',
          bootstrapAdmin: { username: 'boss', password: PASSWORD },
        });
        await fresh.listen('127.0.0.1', 0);
        expect((await lab.engine.documents.users.list()).map((u) => [u.username, u.role])).toEqual([
          ['boss', 'admin'],
        ]);
        expect(logs).toContainEqual({
          level: 'info',
          message: 'created the first admin, "boss" (LAB_ADMIN_USERNAME)',
        });
        // A restart with users does nothing.
        logs = [];
        const again = serverWith({
          auth: 'on',
          bootstrapAdmin: { username: 'other', password: PASSWORD },
        });
        await again.listen('127.0.0.1', 0);
        expect(await lab.engine.documents.users.list()).toHaveLength(1);
        expect(logs.filter((l) => l.message.includes('first admin'))).toEqual([]);
      });

      it('refuses a weak LAB_ADMIN_PASSWORD before it takes the port', async () => {
        await wipeUsers();
        const weak = serverWith({
          auth: 'on',
          bootstrapAdmin: { username: 'boss', password: 'short' },
        });
        const error = await weak.listen('127.0.0.1', 0).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'weak_password' });
        expect((error as Error).message).toContain('LAB_ADMIN_PASSWORD');
        expect(weak.app.server.listening).toBe(false);
        expect(await lab.engine.documents.users.list()).toEqual([]);
      });

      it('logs a one-time invite link for the first admin when there is no password', async () => {
        await wipeUsers();
        const fresh = serverWith({ auth: 'on' });
        const { url: freshUrl } = await fresh.listen('127.0.0.1', 0);
        const line = logs.find((l) => l.message.includes('/invite/'));
        expect(line?.level).toBe('warn');
        const link = /(http:\/\/\S+)\/invite\/(clab_inv_\S+)/.exec(line!.message);
        expect(link?.[1]).toBe(freshUrl);
        const token = link![2];

        const accepted = await fetch(`${freshUrl}/api/auth/invites/${token}/accept`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: freshUrl },
          body: JSON.stringify({ username: 'boss', password: PASSWORD }),
        });
        expect(accepted.status).toBe(201);
        expect(((await accepted.json()) as { user: { role: string } }).user.role).toBe('admin');
        const cookie = /clab_session=[^;]+/.exec(accepted.headers.get('set-cookie') ?? '')?.[0];
        const users = await fetch(`${freshUrl}/api/users`, { headers: { cookie: cookie ?? '' } });
        expect(users.status).toBe(200);
        // Used up.
        const reused = await fetch(`${freshUrl}/api/auth/invites/${token}`);
        expect(reused.status).toBe(404);
      });

      afterAll(async () => {
        // Later tests in this file sign in as root.
        await wipeUsers();
        const restore = serverWith({
          auth: 'on',
          bootstrapAdmin: { username: 'root', password: PASSWORD },
        });
        await restore.listen('127.0.0.1', 0);
      });
    });

    describe('listening', () => {
      it('refuses a non-loopback address without accounts, before taking it', async () => {
        const open = serverWith({});
        const error = await open.listen('0.0.0.0', 0).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ code: 'auth_required' });
        expect((error as Error).message).toContain('LAB_AUTH=on');
        expect((error as Error).message).toContain('LAB_ALLOW_NO_AUTH');
        expect(open.app.server.listening).toBe(false);
        for (const host of ['::', '192.168.1.20', 'studio.lan']) {
          expect(() => refuseUnsafeExposure(host, 'x'.repeat(32), 'off', false, () => {})).toThrow(
            /refusing to listen/,
          );
        }
        for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]']) {
          expect(() =>
            refuseUnsafeExposure(host, 'x'.repeat(32), 'off', false, () => {}),
          ).not.toThrow();
        }
      });

      it('listens anyway with LAB_ALLOW_NO_AUTH, warning loudly', () => {
        // Checked without binding 0.0.0.0: tests listen on loopback only.
        const warnings: string[] = [];
        refuseUnsafeExposure('0.0.0.0', 'x'.repeat(32), 'off', true, (level, message) => {
          if (level === 'warn') warnings.push(message);
        });
        expect(warnings).toEqual([expect.stringContaining('WITHOUT ACCOUNTS')]);
      });

      it('refuses a guessable worker token with accounts on', async () => {
        for (const token of ['change-me', 'CHANGEME', 'short-but-random']) {
          const weak = buildServer({ ...lab.engine, workerToken: token }, { auth: 'on' });
          const error = await weak.listen('127.0.0.1', 0).catch((caught: unknown) => caught);
          expect(error, token).toMatchObject({ code: 'weak_worker_token' });
          expect(weak.app.server.listening).toBe(false);
          await weak.close();
        }
        // Accounts off on loopback: the local default is allowed (no one else can connect).
        expect(() =>
          refuseUnsafeExposure('127.0.0.1', 'change-me', 'off', false, () => {}),
        ).not.toThrow();
      });

      it('answers /api/auth/me with the local user, and 409 accounts_off elsewhere, with accounts off', async () => {
        const off = serverWith({});
        const me = await inject({ method: 'GET', url: '/api/auth/me' }, off);
        expect(me.json()).toEqual({
          auth: 'off',
          user: { id: 'local', username: 'local', role: 'admin' },
        });
        for (const [method, path, payload] of [
          ['POST', '/api/auth/sign-in', { username: 'root', password: PASSWORD }],
          ['POST', '/api/auth/password', { current: PASSWORD, next: `${PASSWORD}!` }],
          ['GET', '/api/auth/invites/clab_inv_x'],
          ['POST', '/api/auth/invites/clab_inv_x/accept', { username: 'x1', password: PASSWORD }],
          ['GET', '/api/users'],
          ['POST', '/api/users', { username: 'x1', password: PASSWORD }],
          ['PATCH', '/api/users/usr_root', { role: 'member' }],
          ['GET', '/api/invites'],
          ['POST', '/api/invites', {}],
          ['DELETE', '/api/invites/inv_0000000000000000'],
          ['GET', '/api/tokens'],
          ['POST', '/api/tokens', { name: 'cli' }],
          ['DELETE', '/api/tokens/pat_0000000000000000'],
        ] as const) {
          const response = await inject(
            { method, url: path, ...(payload ? { payload } : {}) },
            off,
          );
          expect(response.statusCode, `${method} ${path}`).toBe(409);
          expect(response.json().error.code).toBe('accounts_off');
        }
      });
    });

    describe('Socket.IO', () => {
      const sockets: Socket[] = [];
      const open = (options: Parameters<typeof connect>[1]) => {
        const socket = connect(url, { transports: ['websocket'], reconnection: false, ...options });
        sockets.push(socket);
        return new Promise<{ connected: true } | { refused: string }>((resolve) => {
          socket.on('connect', () => resolve({ connected: true }));
          socket.on('connect_error', (error) => resolve({ refused: error.message }));
        });
      };

      afterAll(() => {
        for (const socket of sockets) socket.close();
      });

      it('refuses a handshake without a session or token, or with a bad one', async () => {
        expect(await open({})).toEqual({ refused: 'unauthenticated' });
        expect(
          await open({ auth: { token: 'clab_pat_0000000000000000_' + '0'.repeat(64) } }),
        ).toEqual({
          refused: 'unauthenticated',
        });
        expect(await open({ extraHeaders: { cookie: 'clab_session=forged' } })).toEqual({
          refused: 'unauthenticated',
        });
      });

      it('connects with the session cookie or a personal token, and watches as that user', async () => {
        const cookie = cookieOf(await signIn('root'));
        expect(await open({ extraHeaders: { cookie } })).toEqual({ connected: true });
        const made = await asBrowser(cookie, {
          method: 'POST',
          url: '/api/tokens',
          payload: { name: 'sock' },
        });
        const { token } = made.json<{ token: string }>();
        expect(await open({ auth: { token } })).toEqual({ connected: true });
        const socket = sockets.at(-1)!;
        const ack = (await socket
          .timeout(10_000)
          .emitWithAck('run:watch', { runId: 'run_missing' })) as {
          error?: { code: string };
        };
        expect(ack.error?.code).toBe('run_not_found');
      });
    });
  },
);
