/**
 * Scrubbing credentials out of text and errors at the source: a provider error is scrubbed
 * before it is thrown, so what Temporal stores (temporal.db), what the run store keeps (lab.db
 * and its WAL), what the log prints and what the API answers never held a key in the first
 * place. Redacting only when a response is sent (the old design) missed the stores and the
 * logs, and missed a key that was configured before a restart but not after it.
 *
 * Two nets, because either alone leaks:
 * - the configured secrets (provider keys, the worker token, S3 keys…), replaced exactly —
 *   catches a key whatever its shape;
 * - generic credential shapes (`Authorization:`/`Bearer …`, `sk-…`, `key=`/`api_key=` query
 *   parameters, JSON `"api_key": "…"` fields, URL userinfo) — catches a key nobody configured
 *   any more (an old key echoed by an upstream, quoted in a stored error).
 * Service URLs (SD_API_URL, OPENAI_BASE_URL, …) are replaced by the service's name: they say
 * where a private server lives, which a user-facing run error has no need to show.
 *
 * Pure (no I/O): importable by the server, the CLI
 * and node activities alike.
 */
import type { ProviderConfig, ProviderService } from '../config';

/** What a scrubbed secret becomes. */
export const REDACTED = '[redacted]';

/** Shorter strings would blank innocent text (a test key "k" would mask every k). */
export const MIN_SECRET_LENGTH = 8;

/** A configured service URL and the words that replace it in scrubbed text. */
export interface ServiceUrl {
  url: string;
  name: string;
}

export interface ScrubOptions {
  /** Exact values to blank wherever they appear (also URL-encoded). */
  secrets?: readonly string[];
  /** Service URLs to replace by their names. */
  services?: readonly ServiceUrl[];
}

/** Scrubs one string. */
export type Scrub = (text: string) => string;

/**
 * Credential shapes, applied after the exact secrets. Each keeps the label (so a reader still
 * sees "Bearer" or "api_key=") and blanks only the value.
 */
const SHAPES: readonly [RegExp, string][] = [
  // URL userinfo: https://user:pass@host, mongodb://u:p@db — before anything else sees "pass@".
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@'"<>]+(?::[^/\s@'"<>]*)?@/gi, `$1${REDACTED}@`],
  // Authorization schemes with a token after them.
  [/\b(Bearer|Basic|Token|Digest)(\s+)[A-Za-z0-9._~+/=:-]{6,}/gi, `$1$2${REDACTED}`],
  // OpenAI-style keys (sk-…, sk-proj-…) and Runway-style keys (key_…), wherever they stand.
  [/\bsk-[A-Za-z0-9_-]{6,}/g, REDACTED],
  [/\bkey_[A-Za-z0-9]{16,}/g, REDACTED],
  // Query parameters that carry credentials: ?key=…, &api_key=…, &access_token=…, signatures.
  [
    /([?&;](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|secret|password|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&\s"'#<>]+/gi,
    `$1${REDACTED}`,
  ],
  // Header or JSON field forms: `Authorization: xyz`, `"api_key": "xyz"`, `x-api-key=xyz`.
  [
    /((?<![A-Za-z0-9_-])["']?(?:authorization|proxy-authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|secret[_-]?key|secret|password|passwd|token)["']?\s*[:=]\s*["']?)(?!Bearer\b|Basic\b|Token\b|Digest\b|\[redacted\])[^\s"',;}&]{6,}/gi,
    `$1${REDACTED}`,
  ],
];

/** The service names scrubbed text uses instead of a configured URL. */
const SERVICE_NAMES: Record<ProviderService, string> = {
  openai: 'the OpenAI API (OPENAI_BASE_URL)',
  a1111: 'the A1111 server (SD_API_URL)',
  comfyui: 'the ComfyUI server (SD_API_URL)',
  runway: 'the Runway API (RUNWAY_BASE_URL)',
};

/** A scrubber for exact secrets, service URLs and every credential shape. */
export function createScrub(options: ScrubOptions = {}): Scrub {
  const secrets = [
    ...new Set(
      (options.secrets ?? [])
        .filter((s) => typeof s === 'string' && s.length >= MIN_SECRET_LENGTH)
        .flatMap((s) => [s, encodeURIComponent(s)]),
    ),
  ].sort((a, b) => b.length - a.length); // a key that contains another key goes first
  const services = (options.services ?? []).flatMap(serviceForms);
  return (text) => {
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement);
    for (const { form, name } of services) if (out.includes(form)) out = out.split(form).join(name);
    return out;
  };
}

/**
 * The forms a URL takes in error text: as configured, without its trailing slash, its origin
 * and its host:port (Node's "connect ECONNREFUSED 127.0.0.1:7860"). Longest first.
 */
function serviceForms({ url, name }: ServiceUrl): { form: string; name: string }[] {
  const forms = new Set([url, url.replace(/\/+$/, '')]);
  try {
    const parsed = new URL(url);
    forms.add(parsed.origin);
    if (parsed.port) forms.add(parsed.host);
  } catch {
    // Not a URL: the configured text alone.
  }
  return [...forms]
    .filter((form) => form.length >= MIN_SECRET_LENGTH)
    .sort((a, b) => b.length - a.length)
    .map((form) => ({ form, name }));
}

/**
 * The password in a URL's userinfo (SD_API_URL=http://user:pass@host), as written and as the
 * Basic credentials a client derives from it: an upstream may echo either.
 */
function userinfoSecrets(url: string): string[] {
  try {
    const { username, password } = new URL(url);
    if (!password) return [];
    const user = decodeURIComponent(username);
    const pass = decodeURIComponent(password);
    return [pass, password, Buffer.from(`${user}:${pass}`).toString('base64')];
  } catch {
    return [];
  }
}

/** The secrets and service URLs among the provider settings. */
export function scrubOptionsOf(
  providers: Pick<ProviderConfig, 'services'>,
  extraSecrets: readonly (string | undefined)[] = [],
): Required<ScrubOptions> {
  const secrets: string[] = [];
  const services: ServiceUrl[] = [];
  for (const [service, settings] of Object.entries(providers.services) as [
    ProviderService,
    Record<string, unknown>,
  ][]) {
    if (!settings) continue;
    if (typeof settings.apiKey === 'string') secrets.push(settings.apiKey);
    for (const field of ['url', 'baseURL'] as const) {
      const url = settings[field];
      if (typeof url !== 'string') continue;
      services.push({ url, name: SERVICE_NAMES[service] });
      secrets.push(...userinfoSecrets(url));
    }
  }
  for (const extra of extraSecrets) if (extra) secrets.push(extra);
  return { secrets, services };
}

/** Scrubs every string in a value, deeply; objects and arrays are copied, never changed. */
export function scrubDeep<T>(value: T, scrub: Scrub): T {
  const visit = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return scrub(item);
    if (depth > 64 || !item || typeof item !== 'object') return item;
    if (item instanceof Uint8Array || item instanceof Date) return item;
    if (item instanceof Error) return scrubError(item, scrub);
    if (Array.isArray(item)) return item.map((entry) => visit(entry, depth + 1));
    return Object.fromEntries(
      Object.entries(item).map(([key, entry]) => [key, visit(entry, depth + 1)]),
    );
  };
  return visit(value, 0) as T;
}

/**
 * Fields of SDK errors that hold the raw upstream answer or our own request (headers with the
 * key in them): openai-node's APIError keeps `error` (the body) and `headers`, @runwayml/sdk the
 * same, fetch errors a `cause`. They are dropped; the message keeps a scrubbed excerpt.
 */
const RAW_FIELDS = ['error', 'body', 'headers', 'response', 'request', 'config', 'responseBody'];

/**
 * Scrubs an error in place (message, stack, cause chain, Temporal `details`) and drops the
 * fields that hold raw upstream bodies or request headers. In place, so its class survives:
 * a NonRetryableNodeError or a non-retryable ApplicationFailure stays what it was.
 */
export function scrubError<E>(error: E, scrub: Scrub, depth = 0): E {
  if (!(error instanceof Error)) {
    return (typeof error === 'string' ? scrub(error) : scrubDeep(error, scrub)) as E;
  }
  const target = error as Error & Record<string, unknown>;
  try {
    target.message = scrub(target.message);
    if (typeof target.stack === 'string') target.stack = scrub(target.stack);
    for (const field of RAW_FIELDS) {
      if (field in target && field !== 'cause') delete target[field];
    }
    if ('details' in target && target.details !== undefined) {
      Object.defineProperty(target, 'details', {
        value: scrubDeep(target.details, scrub),
        writable: true,
        configurable: true,
      });
    }
    if (target.cause !== undefined) {
      if (depth < 8) target.cause = scrubError(target.cause, scrub, depth + 1);
      else delete target.cause;
    }
  } catch {
    // A frozen error: replace it with a plain one that says the same, scrubbed.
    const copy = new Error(scrub(String(target.message)));
    copy.name = target.name;
    return copy as E;
  }
  return error;
}

/**
 * A short, scrubbed excerpt of an upstream body for an error message: enough to recognise the
 * answer, never the whole body (which would then live on in every store).
 */
export function bodyExcerpt(body: string, scrub: Scrub, maxChars = 200): string {
  const flat = scrub(body.replace(/\s+/g, ' ').trim());
  return flat.length > maxChars ? `${flat.slice(0, maxChars)}…` : flat;
}

/**
 * Runs `work`, scrubbing whatever it throws: the provider layer's one way out for errors.
 */
export async function withScrubbedErrors<T>(scrub: Scrub, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw scrubError(error, scrub);
  }
}

/**
 * A provider's scrubber: its own key, its URL (replaced by `service`'s name) and every
 * credential shape.
 */
export function providerScrub(
  service: ProviderService,
  config: { apiKey?: string; url?: string; baseURL?: string },
): Scrub {
  const services: ServiceUrl[] = [];
  const secrets = config.apiKey ? [config.apiKey] : [];
  for (const url of [config.url, config.baseURL]) {
    if (!url) continue;
    services.push({ url, name: SERVICE_NAMES[service] });
    secrets.push(...userinfoSecrets(url));
  }
  return createScrub({ secrets, services });
}

/**
 * The process-wide secrets, for the one consumer that cannot be handed them: the Temporal
 * SDK's runtime logger, installed once per process before any worker (or config) exists.
 * Every engine and worker registers its secrets here when it starts.
 */
const registered = new Set<string>();
const registeredServices: ServiceUrl[] = [];
let registeredScrub: Scrub = createScrub();

/** Adds secrets (and service URLs) to the process-wide scrubber. */
export function registerSecrets(options: ScrubOptions): void {
  for (const secret of options.secrets ?? []) registered.add(secret);
  registeredServices.push(...(options.services ?? []));
  registeredScrub = createScrub({ secrets: [...registered], services: registeredServices });
}

/** Scrubs with every secret registered in this process, plus the shapes. */
export function scrubRegistered(text: string): string {
  return registeredScrub(text);
}
