/**
 * HTTP plumbing shared by the Stable Diffusion providers (AUTOMATIC1111 and ComfyUI): JSON
 * requests with a deadline and the caller's abort signal, and one mapping of failures onto
 * "retry later" (LabError) versus "fails for good" (NonRetryableNodeError).
 */
import { LabError } from '../../../engine/errors';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { bodyExcerpt, createScrub } from '../../../engine/providers/scrub';

/** Render parameters shared by both servers (the sd-lora-frame node's params). */
export interface SdRenderParams {
  width: number;
  height: number;
  steps: number;
  cfgScale: number;
  /** A1111 sampler name ("DPM++ 2M", "Euler a"); ComfyUI maps it onto its own names. */
  sampler: string;
  /** Base seed; the shot index is added so shots differ but stay reproducible. */
  seed: number;
  /** Checkpoint to load; empty keeps the server's current model (A1111) or picks the first (ComfyUI). */
  checkpoint: string;
}

export interface SdServerConfig {
  url: string;
  /** How often to poll progress or history; default 1000 ms. */
  pollIntervalMs?: number;
}

export interface HttpRequest {
  method?: 'GET' | 'POST';
  /** Sent as JSON, or as multipart when it is a FormData. */
  body?: unknown;
  signal: AbortSignal;
  timeoutMs: number;
  /** Statuses handed back to the caller instead of thrown (e.g. 404 on an optional route). */
  passStatuses?: number[];
}

/** Largest seed both servers accept (A1111 takes a uint32). */
const MAX_SEED = 4_294_967_295;

/** The per-shot seed: base + shot index, wrapped into the uint32 range. */
export function shotSeed(base: number, shotIndex: number): number {
  return (base + shotIndex) % (MAX_SEED + 1);
}

/** Joins a server base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The URL without credentials, for messages: SD_API_URL may carry `user:pass@`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Sends a request and returns the raw response if it is 2xx; maps every failure. Credentials
 * in the URL (A1111 `--api-auth`, a proxy in front of ComfyUI) become a Basic auth header,
 * since fetch refuses URLs that carry them.
 */
export async function sdRequest(
  server: string,
  url: string,
  request: HttpRequest,
): Promise<Response> {
  const { method = 'GET', body, signal, timeoutMs } = request;
  const target = new URL(url);
  const headers: Record<string, string> = {};
  if (target.username) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  // FormData (ComfyUI's /upload/image) sets its own multipart content type.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers,
      ...(body === undefined ? {} : { body: form ? body : JSON.stringify(body) }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new LabError(
      timedOut ? 'sd_timeout' : 'sd_unreachable',
      timedOut
        ? `sd_timeout: ${redactUrl(server)} did not answer ${method} ${target.pathname} within ${Math.round(timeoutMs / 1000)} s; the run will retry`
        : `sd_unreachable: cannot reach the Stable Diffusion server at ${redactUrl(server)} (${causeOf(error)}); ` +
            'start it (A1111 needs --api) or fix SD_API_URL; the run will retry',
      503,
    );
  }
  if (response.ok || request.passStatuses?.includes(response.status)) return response;
  const text = await response.text().catch(() => '');
  throw httpError(server, method, target.toString(), response.status, text);
}

/** Like sdRequest, but parses the JSON body. */
export async function sdJson<T>(server: string, url: string, request: HttpRequest): Promise<T> {
  const response = await sdRequest(server, url, request);
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new LabError(
      'sd_bad_response',
      `sd_bad_response: ${redactUrl(server)} answered ${new URL(url).pathname} with something that is not JSON ` +
        `("${bodyExcerpt(text, createScrub(), 120)}"); check that SD_API_URL points at the right server`,
      502,
    );
  }
}

/** A readable error for a non-2xx answer: 5xx retries, 4xx fails the node. */
export function httpError(
  server: string,
  method: string,
  url: string,
  status: number,
  text: string,
): Error {
  const path = new URL(url).pathname;
  const detail = errorDetail(text);
  if (status >= 500 || status === 429 || status === 408) {
    return new LabError(
      'sd_server_error',
      `sd_server_error: ${redactUrl(server)} answered ${method} ${path} with ${status} (${detail}); the run will retry`,
      502,
    );
  }
  // FastAPI answers a missing route with exactly {"detail":"Not Found"}; any other 404 body
  // comes from a real endpoint rejecting a value (e.g. A1111's "Sampler not found").
  const routeMissing = status === 404 && (detail === 'Not Found' || detail === 'no details');
  const hint = routeMissing
    ? path.includes('/sdapi/')
      ? 'start AUTOMATIC1111/Forge with --api, or set SD_API_KIND=comfyui for a ComfyUI server'
      : 'check SD_API_URL and SD_API_KIND'
    : status === 401 || status === 403
      ? 'the server wants credentials: put them in SD_API_URL as http://user:pass@host'
      : 'check the node params (sampler, size, steps, checkpoint)';
  return new NonRetryableNodeError(
    `sd_request_rejected: ${redactUrl(server)} rejected ${method} ${path} with ${status} (${detail}); ${hint}`,
    'sd_request_rejected',
  );
}

/**
 * Pulls the human part out of A1111 / FastAPI / ComfyUI error bodies, as a short scrubbed
 * excerpt: the raw body never reaches an error (errors are stored and logged).
 */
function errorDetail(text: string): string {
  return bodyExcerpt(humanPart(text), createScrub(), 300);
}

function humanPart(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const nodeErrors = describeNodeErrors(body.node_errors);
    if (nodeErrors) return nodeErrors;
    // A1111's handle_exception: `{error, detail, body, errors}`, where `detail` is often empty
    // and the real cause ("CUDA out of memory…") is only in `errors` (str(exception)).
    if (typeof body.detail === 'string' || typeof body.errors === 'string') {
      const detail = typeof body.detail === 'string' ? body.detail.trim() : '';
      const errors = typeof body.errors === 'string' ? body.errors.trim() : '';
      const kind = typeof body.error === 'string' ? body.error : '';
      // HTTPException's str() repeats the detail ("404: Sampler not found"): say it once.
      const errorsAddSomething = errors !== '' && !(detail && errors.includes(detail));
      if (errorsAddSomething) {
        return [kind, detail, errors].filter(Boolean).join(': ');
      }
      if (detail) return detail;
      if (kind) return kind;
    }
    if (Array.isArray(body.detail)) {
      return body.detail
        .map(
          (item: { loc?: unknown[]; msg?: string }) =>
            `${(item.loc ?? []).join('.')}: ${item.msg ?? ''}`,
        )
        .join('; ');
    }
    if (body.error && typeof body.error === 'object') {
      const error = body.error as { message?: string };
      if (error.message) return error.message;
    }
    if (typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 300) || 'no details';
}

/** ComfyUI's `/prompt` 400: `{ "<node>": { class_type, errors: [{ message, details }] } }`. */
function describeNodeErrors(nodeErrors: unknown): string {
  if (!nodeErrors || typeof nodeErrors !== 'object') return '';
  return Object.entries(
    nodeErrors as Record<
      string,
      { class_type?: string; errors?: { message?: string; details?: string }[] }
    >,
  )
    .flatMap(([id, node]) =>
      (node.errors ?? []).map(
        (item) =>
          `${node.class_type ?? 'node'} ${id}: ${item.message ?? 'invalid'}${item.details ? ` (${item.details})` : ''}`,
      ),
    )
    .join('; ');
}

function causeOf(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Buffer): boolean {
  return bytes.length > PNG_MAGIC.length && bytes.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC);
}

/** The LoRA name as A1111 knows it: the file name without folders or extension. */
export function loraStem(name: string): string {
  return name
    .split(/[\\/]/)
    .pop()!
    .replace(/\.(safetensors|ckpt|pt|bin)$/i, '');
}
