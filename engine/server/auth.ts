/**
 * Who each request acts for. With accounts off every request is the local user. With
 * LAB_AUTH=on a request proves who it is with the session cookie a sign-in set (browsers) or
 * `Authorization: Bearer <personal API token>` (the CLI, scripts); every /api route answers
 * 401 `unauthenticated` without one, except the few marked public (health, sign-in, invites,
 * share links).
 *
 * CSRF: the cookie is SameSite=Lax, so other sites' forms and fetches do not carry it, and the
 * Origin guard refuses state-changing requests from pages on other origins. A cookie-carrying
 * state-changing request that names no origin (no Origin, and no `Sec-Fetch-Site: same-origin`:
 * every browser of the last years sends one of them) is refused too, so the cookie alone never
 * suffices.
 * Bearer tokens are never sent by a browser on its own, so they need neither check.
 */
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../auth/account-service';
import { SESSION_COOKIE } from '../auth/account-service';
import { LOCAL_VIEWER, type Viewer } from '../auth/viewer';
import { LabError } from '../errors';

export interface AuthOptions {
  /** LAB_AUTH. */
  mode: 'off' | 'on';
  /** Cookies marked Secure: on when the studio is served over HTTPS (LAB_PUBLIC_URL). */
  secureCookies: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without signing in (accounts on). */
    public?: boolean;
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installAuth(
  app: FastifyInstance,
  accounts: AccountService | undefined,
  options: AuthOptions,
): void {
  void app.register(fastifyCookie);
  app.decorateRequest('viewer', null);
  app.addHook('onRequest', async (request) => {
    if (!accounts || options.mode === 'off') {
      request.viewer = LOCAL_VIEWER;
      return;
    }
    // The studio's files need no viewer: no session lookup for every script and stylesheet.
    if (!request.url.startsWith('/api/')) return;
    request.viewer = await viewerOfRequest(request, accounts);
    if (request.routeOptions.config?.public === true) return;
    if (!request.viewer) {
      throw new LabError(
        'unauthenticated',
        'sign in first, or send an API token (Authorization: Bearer …)',
        401,
      );
    }
    if (request.viewer.via === 'session' && UNSAFE_METHODS.has(request.method)) {
      // An Origin was already vetted by the origin guard. Without one, only the browser's own
      // word that the page is ours will do: `Sec-Fetch-Site: same-site` is a sibling subdomain,
      // which SameSite=Lax lets carry the cookie.
      const namesOrigin =
        request.headers.origin !== undefined || request.headers['sec-fetch-site'] === 'same-origin';
      if (!namesOrigin) {
        throw new LabError(
          'csrf_refused',
          'a change sent with a session cookie must come from a browser page of this studio (it names no Origin); scripts use an API token instead',
          403,
        );
      }
    }
  });
}

/** The viewer behind a request's token or cookie, or null. A bad token is a 401, not a fall-back. */
export async function viewerOfRequest(
  request: Pick<FastifyRequest, 'headers'>,
  accounts: AccountService,
): Promise<Viewer | null> {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    const viewer = token ? await accounts.viewerOfToken(token) : null;
    if (!viewer) {
      throw new LabError(
        'invalid_token',
        'the API token is unknown, revoked or malformed: make a new one on the Tokens page',
        401,
      );
    }
    return viewer;
  }
  // Parsed here rather than by the cookie plugin's own hook, which may run after this one.
  return accounts.viewerOfSession(sessionCookieOf(request.headers.cookie));
}

export function sessionCookieOf(cookieHeader: string | string[] | undefined): string | undefined {
  return typeof cookieHeader === 'string'
    ? fastifyCookie.parse(cookieHeader)[SESSION_COOKIE]
    : undefined;
}

/** The viewer behind a Socket.IO handshake (cookie of the page, or `auth.token`), or null. */
export async function viewerOfHandshake(
  headers: Record<string, string | string[] | undefined>,
  auth: Record<string, unknown> | undefined,
  accounts: AccountService,
): Promise<Viewer | null> {
  const token = auth?.token;
  if (typeof token === 'string' && token !== '') return accounts.viewerOfToken(token);
  return accounts.viewerOfSession(sessionCookieOf(headers.cookie));
}

export function setSessionCookie(
  reply: FastifyReply,
  token: string,
  expiresAt: string,
  options: AuthOptions,
): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secureCookies,
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(reply: FastifyReply, options: AuthOptions): void {
  reply.clearCookie(SESSION_COOKIE, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: options.secureCookies,
  });
}
