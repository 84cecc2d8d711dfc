/**
 * Origin and Host allowlists: what stops another web page from driving the API.
 *
 * - **Host** (every request, HTTP and Socket.IO): a page on `attacker.example` whose DNS name is
 *   re-pointed at 127.0.0.1 (DNS rebinding) talks to us "same-origin", and the only trace is
 *   its Host header. So a Host must be an IP literal (nothing to rebind), `localhost` or a
 *   `*.localhost` name (they always resolve to loopback), the host of the public URL, the host
 *   the server listens on, or one of LAB_ALLOWED_HOSTS. Vite's dev server (`server.allowedHosts`)
 *   draws the same line.
 * - **Origin** (state-changing requests and every Socket.IO handshake): a browser names the
 *   page that sent a request. It must be the server's own origin (the Host it was sent to), the
 *   public URL, or one of LAB_ALLOWED_ORIGINS (by default the Vite dev server, which proxies
 *   the API with `changeOrigin`). No Origin at all means no browser (the CLI, a remote worker,
 *   curl): those carry no ambient credentials a page could borrow, so they pass. `null`
 *   (sandboxed frames, file: pages) is refused. WebSockets are not covered by CORS at all, so
 *   the Socket.IO check matters as much as the HTTP one.
 */
import { isIP } from 'node:net';
import { LabError } from '../errors';

/** Origins the studio is served from in development: Vite's default port, on loopback. */
export const DEV_SERVER_ORIGINS: readonly string[] = [
  'http://localhost:5173',
  'http://127.0.0.1:5173',
  'http://[::1]:5173',
];

export interface OriginPolicyOptions {
  /** LAB_PUBLIC_URL: where browsers reach the studio (behind a proxy or load balancer). */
  publicUrl?: string;
  /** LAB_ALLOWED_ORIGINS; unset → DEV_SERVER_ORIGINS. */
  allowedOrigins?: readonly string[];
  /** LAB_ALLOWED_HOSTS: host names (`studio.internal`), or `.example.com` for its subdomains. */
  allowedHosts?: readonly string[];
}

/** What the guard needs to know about a request (an HTTP request or a Socket.IO handshake). */
export interface GuardedRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

/** The verdict on one request: undefined when it may pass. */
export type GuardRefusal = LabError | undefined;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Builds the allowlists once; `allowHost` adds the address the server ends up listening on. */
export class OriginGuard {
  private readonly origins: Set<string>;
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(options: OriginPolicyOptions = {}) {
    const publicOrigin = options.publicUrl ? originOf(options.publicUrl) : undefined;
    this.origins = new Set(
      [...(options.allowedOrigins ?? DEV_SERVER_ORIGINS), ...(publicOrigin ? [publicOrigin] : [])]
        .map((origin) => originOf(origin))
        .filter((origin): origin is string => origin !== undefined),
    );
    for (const host of options.allowedHosts ?? []) this.allowHost(host);
    if (options.publicUrl) this.allowHost(new URL(options.publicUrl).hostname);
  }

  /** Accepts one more host name (`.example.com`: that domain and its subdomains). */
  allowHost(host: string): void {
    const name = normaliseHostname(host);
    if (!name) return;
    if (name.startsWith('.')) this.suffixes.push(name);
    else this.hosts.add(name);
  }

  /** Whether a Host header names this server (see the module comment for the rules). */
  hostAllowed(hostHeader: string | undefined): boolean {
    // HTTP/1.0 clients may omit it; browsers never do, so a missing Host is no rebinding.
    if (hostHeader === undefined || hostHeader === '') return true;
    const name = hostnameOfHeader(hostHeader);
    if (name === undefined) return false;
    if (isIP(name.replace(/^\[|\]$/g, '')) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    if (this.hosts.has(name)) return true;
    return this.suffixes.some((suffix) => name === suffix.slice(1) || name.endsWith(suffix));
  }

  /** Whether a page of `origin` may send a request to `hostHeader`. */
  originAllowed(origin: string, hostHeader: string | undefined): boolean {
    const normalised = originOf(origin);
    if (!normalised) return false;
    if (this.origins.has(normalised)) return true;
    if (!hostHeader) return false;
    // Same origin: the page was served by the host this request is sent to (already allowed).
    const own = originOf(`${new URL(normalised).protocol}//${hostHeader}`);
    return own === normalised;
  }

  /**
   * Checks an HTTP request: its Host always, its Origin when it changes state (or, with
   * `everyMethod`, always: a Socket.IO handshake is a GET that opens a two-way channel).
   */
  check(request: GuardedRequest, everyMethod = false): GuardRefusal {
    const host = single(request.headers.host);
    if (!this.hostAllowed(host)) {
      return new LabError(
        'host_not_allowed',
        `this server does not answer to the host "${(host ?? '').slice(0, 200)}": open the studio at its own address, ` +
          'or add the name to LAB_ALLOWED_HOSTS (or LAB_PUBLIC_URL) on the server',
        403,
      );
    }
    if (!everyMethod && SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
    const origin = single(request.headers.origin);
    if (origin === undefined) return undefined;
    if (!this.originAllowed(origin, host)) {
      return new LabError(
        'origin_not_allowed',
        `requests from pages on ${origin.slice(0, 200)} are refused: use the studio on this server's own address, ` +
          'or add that origin to LAB_ALLOWED_ORIGINS (or LAB_PUBLIC_URL) on the server',
        403,
      );
    }
    return undefined;
  }
}

/** `http://Example.com:80/path` → `http://example.com`; undefined for `null` or junk. */
function originOf(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** The host name of a Host header (`Example.com:8080` → `example.com`, `[::1]:80` → `[::1]`). */
function hostnameOfHeader(header: string): string | undefined {
  try {
    const url = new URL(`http://${header.trim()}`);
    // A Host with a path, credentials or spaces parses into something else: refuse it.
    if (url.pathname !== '/' || url.username || url.password || url.search || url.hash) {
      return undefined;
    }
    return normaliseHostname(url.hostname);
  } catch {
    return undefined;
  }
}

function normaliseHostname(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
