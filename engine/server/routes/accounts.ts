/**
 * Accounts over HTTP: who am I, sign-in and sign-out, invites, the admin's users page, and
 * personal and worker tokens. With accounts off only `GET /api/auth/me` answers (it says so);
 * the rest answer 409 `accounts_off`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AccountService } from '../../auth/account-service';
import type { Viewer } from '../../auth/viewer';
import { LabError } from '../../errors';
import { clearSessionCookie, sessionCookieOf, setSessionCookie, type AuthOptions } from '../auth';
import { requireId, viewerOf, type ServerContext } from '../context';
import { sendMintedSecret } from '../minted-secret';
import { RateLimiter } from '../rate-limit';

const signInSchema = z.strictObject({
  username: z.string().max(200),
  password: z.string().max(1_000),
});
const newUserSchema = z.strictObject({
  username: z.string().max(200),
  password: z.string().max(1_000),
  role: z.enum(['admin', 'member']).optional(),
});
const acceptSchema = z.strictObject({
  username: z.string().max(200),
  password: z.string().max(1_000),
});
const userChangeSchema = z.strictObject({
  role: z.enum(['admin', 'member']).optional(),
  disabled: z.boolean().optional(),
  password: z.string().max(1_000).optional(),
});
const passwordChangeSchema = z.strictObject({
  current: z.string().max(1_000),
  next: z.string().max(1_000),
});
const inviteSchema = z.strictObject({
  role: z.enum(['admin', 'member']).optional(),
  expiresInHours: z.number().optional(),
});
const tokenSchema = z.strictObject({
  name: z.string().max(200),
  kind: z.enum(['personal', 'worker']).optional(),
});

/** Failed sign-ins allowed per client address and username in SIGN_IN_WINDOW_MS. */
const SIGN_IN_ATTEMPTS = 10;
const SIGN_IN_WINDOW_MS = 5 * 60_000;

export function accountRoutes(
  app: FastifyInstance,
  ctx: ServerContext,
  auth: AuthOptions,
  /** Where links (invites) point: the studio's public URL, or the address it answers on. */
  baseUrlOf: (request: FastifyRequest) => string,
): void {
  const accounts = (): AccountService => {
    if (!ctx.accounts || auth.mode === 'off') {
      throw new LabError(
        'accounts_off',
        'accounts are off on this server (LAB_AUTH=off): there is one local user and nothing to sign in to',
        409,
      );
    }
    return ctx.accounts;
  };
  const requireAdmin = (request: FastifyRequest): Viewer => {
    const viewer = viewerOf(request);
    if (viewer.role !== 'admin') throw new LabError('admin_only', 'only an admin can do this', 403);
    return viewer;
  };
  // Guessing passwords is slowed per address and username, on top of the general rate limit.
  const signInFailures = new RateLimiter({ max: SIGN_IN_ATTEMPTS, windowMs: SIGN_IN_WINDOW_MS });
  const publicRoute = { config: { public: true } };

  app.get('/api/auth/me', publicRoute, async (request) => ({
    auth: auth.mode,
    user: request.viewer
      ? { id: request.viewer.id, username: request.viewer.username, role: request.viewer.role }
      : null,
  }));

  app.post('/api/auth/sign-in', publicRoute, async (request, reply) => {
    const service = accounts();
    const body = signInSchema.parse(request.body ?? {});
    const key = `${request.ip}|${body.username.trim().toLowerCase()}`;
    if (signInFailures.peek(key) >= SIGN_IN_ATTEMPTS) {
      throw new LabError(
        'too_many_sign_ins',
        `too many failed sign-ins for this name from here: wait ${SIGN_IN_WINDOW_MS / 60_000} minutes`,
        429,
        { retryAfterSec: SIGN_IN_WINDOW_MS / 1000 },
      );
    }
    try {
      const session = await service.signIn(body.username, body.password);
      setSessionCookie(reply, session.token, session.cookieExpiresAt, auth);
      return { user: describe(session.viewer) };
    } catch (error) {
      if (error instanceof LabError && error.code === 'invalid_credentials')
        signInFailures.hit(key);
      throw error;
    }
  });

  app.post('/api/auth/sign-out', publicRoute, async (request, reply) => {
    if (ctx.accounts && auth.mode === 'on') {
      await ctx.accounts.signOut(sessionCookieOf(request.headers.cookie));
    }
    clearSessionCookie(reply, auth);
    return reply.code(204).send();
  });

  app.post('/api/auth/password', async (request, reply) => {
    const body = passwordChangeSchema.parse(request.body ?? {});
    await accounts().changeOwnPassword(viewerOf(request), body.current, body.next);
    // Every session ended, this one too: sign in again with the new password.
    clearSessionCookie(reply, auth);
    return reply.code(204).send();
  });

  app.get('/api/auth/invites/:token', publicRoute, async (request) =>
    accounts().inviteInfo((request.params as { token?: unknown }).token),
  );

  app.post('/api/auth/invites/:token/accept', publicRoute, async (request, reply) => {
    const service = accounts();
    const body = acceptSchema.parse(request.body ?? {});
    const user = await service.acceptInvite((request.params as { token?: unknown }).token, body);
    const session = await service.signIn(body.username, body.password);
    setSessionCookie(reply, session.token, session.cookieExpiresAt, auth);
    return reply.code(201).send({ user });
  });

  // ---- admin: users and invites ----

  app.get('/api/users', async (request) => {
    requireAdmin(request);
    return accounts().listUsers();
  });

  app.post('/api/users', async (request, reply) => {
    requireAdmin(request);
    const body = newUserSchema.parse(request.body ?? {});
    return reply.code(201).send(await accounts().createUser(body));
  });

  app.patch('/api/users/:id', async (request) => {
    const actor = requireAdmin(request);
    const body = userChangeSchema.parse(request.body ?? {});
    return accounts().updateUser(actor, requireId(request.params), body);
  });

  app.get('/api/invites', async (request) => {
    requireAdmin(request);
    return accounts().listInvites();
  });

  app.post('/api/invites', async (request, reply) => {
    const actor = requireAdmin(request);
    const body = inviteSchema.parse(request.body ?? {});
    const { token, invite } = await accounts().createInvite(actor, body);
    return sendMintedSecret(reply, 201, {
      ...invite,
      token,
      url: `${baseUrlOf(request)}/invite/${token}`,
    });
  });

  app.delete('/api/invites/:id', async (request, reply) => {
    requireAdmin(request);
    await accounts().revokeInvite(requireId(request.params));
    return reply.code(204).send();
  });

  // ---- tokens ----

  app.get('/api/tokens', async (request) => accounts().listTokens(viewerOf(request)));

  app.post('/api/tokens', async (request, reply) => {
    const body = tokenSchema.parse(request.body ?? {});
    const { token, record } = await accounts().createToken(viewerOf(request), body);
    // The only time the token is shown: it is stored as a hash.
    return sendMintedSecret(reply, 201, { ...record, token });
  });

  app.delete('/api/tokens/:id', async (request, reply) => {
    await accounts().revokeToken(viewerOf(request), requireId(request.params));
    return reply.code(204).send();
  });
}

function describe(viewer: Viewer): { id: string; username: string; role: string } {
  return { id: viewer.id, username: viewer.username, role: viewer.role };
}
