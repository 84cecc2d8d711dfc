/**
 * A small typed fetch wrapper: JSON in and out, and every non-2xx answer turned into an
 * ApiError carrying the server's `{ error: { code, message, details } }`, so toasts can show
 * the server's own words and views can branch on the stable code.
 */
import type { GraphProblem } from './types';

/** An error answered by the API (or a network failure, code `network_error`). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The graph problems a 400 carries (`details.errors` or `details` as a list), if any. */
  get problems(): GraphProblem[] {
    return problemsFromDetails(this.details);
  }
}

/** Reads a problem list from an error's details, whichever of the usual spellings it uses. */
export function problemsFromDetails(details: unknown): GraphProblem[] {
  const list = Array.isArray(details)
    ? details
    : isRecord(details) && Array.isArray(details.errors)
      ? details.errors
      : isRecord(details) && Array.isArray(details.problems)
        ? details.problems
        : [];
  return list.filter(
    (item): item is GraphProblem =>
      isRecord(item) && typeof item.code === 'string' && typeof item.message === 'string',
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A JSON body, or FormData for uploads. */
  body?: unknown;
  signal?: AbortSignal;
}

/** Calls the API and returns the parsed JSON body (undefined for 204). */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const { method = 'GET', body, signal } = options;
  const init: RequestInit = { method, signal, headers: { accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(
      'network_error',
      `cannot reach the Character Lab server (${error instanceof Error ? error.message : String(error)}): check that \`npx charlab serve\` is running`,
      0,
    );
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const error = errorFromBody(parsed, response.status, path);
    if (error.code === UNAUTHENTICATED) reportUnauthenticated();
    throw error;
  }
  return parsed as T;
}

/** The code every route answers when the browser's session is missing or ended (accounts on). */
export const UNAUTHENTICATED = 'unauthenticated';

const unauthenticatedListeners = new Set<() => void>();

/**
 * Calls `listener` whenever the server says the session is gone (it expired, the password
 * changed, an admin disabled the user), so the app shell can ask for a sign-in again instead of
 * every view showing its own error. Other 401s (a wrong password on sign-in) are the form's.
 */
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/** Tells the listeners the session is gone (also used by the socket, refused at its handshake). */
export function reportUnauthenticated(): void {
  for (const listener of unauthenticatedListeners) listener();
}

function errorFromBody(body: unknown, status: number, path: string): ApiError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : isRecord(body) ? body : {};
  const code = typeof error.code === 'string' ? error.code : `http_${status}`;
  const message =
    typeof error.message === 'string' && error.message !== ''
      ? error.message
      : typeof body === 'string' && body.trim() !== '' && body.length < 300
        ? body
        : `the server answered ${status} for ${path}`;
  return new ApiError(code, message, status, error.details);
}

/** The array in a list answer: the body itself, or its first array-valued field (`{ items }`). */
export function listFrom<T>(body: unknown): T[] {
  if (Array.isArray(body)) return body as T[];
  if (isRecord(body)) {
    for (const value of Object.values(body)) if (Array.isArray(value)) return value as T[];
  }
  return [];
}
