/**
 * How the OpenAI providers (storyboard, voice-over) retry, instead of the SDK's own retries.
 * openai-node 6.x (src/client.ts `shouldRetry`, checked against 6.49.0) retries every 408, 409,
 * 429 and 5xx, and its `timeout` is per attempt. Two things follow that a node cannot live with:
 * - A 429 whose code is `insufficient_quota` (or a billing code) cannot succeed by waiting, yet
 *   the SDK retries it, and then Temporal retries the activity again.
 * - `timeout × attempts` plus the backoffs can exceed the node's startToClose, so Temporal kills
 *   the activity in the middle of a retry that could have answered.
 * Here the SDK gets `maxRetries: 0`; this loop decides what is retried and bounds the worst case.
 * Worker-only.
 */
import { APIConnectionError, APIError } from 'openai';
import { sleep } from './sleep';

/** How many attempts, how long each may take and the longest pause between two. */
export interface OpenAIAttemptPolicy {
  maxAttempts: number;
  attemptTimeoutMs: number;
  maxBackoffMs: number;
}

/**
 * OpenAI error codes that no retry can fix: the account has no credit or is switched off
 * (platform.openai.com/docs/guides/error-codes: "429 – You exceeded your current quota").
 */
export const FINAL_OPENAI_CODES: readonly string[] = [
  'insufficient_quota',
  'billing_hard_limit_reached',
  'billing_not_active',
  'access_terminated',
  'account_deactivated',
];

/**
 * The policy whose worst case — every attempt running into its timeout, every pause at its
 * cap — still ends `marginMs` before the node's startToClose, leaving time to report.
 */
export function attemptsWithin(
  startToCloseSec: number,
  maxAttempts = 3,
  marginMs = 10_000,
): OpenAIAttemptPolicy {
  const maxBackoffMs = 4_000;
  const budgetMs = startToCloseSec * 1000 - marginMs - maxBackoffMs * (maxAttempts - 1);
  return { maxAttempts, maxBackoffMs, attemptTimeoutMs: Math.floor(budgetMs / maxAttempts) };
}

/** The longest a call under this policy can take, pauses included. */
export function worstCaseMs(policy: OpenAIAttemptPolicy): number {
  return (
    policy.maxAttempts * policy.attemptTimeoutMs + (policy.maxAttempts - 1) * policy.maxBackoffMs
  );
}

/** True for an API error whose code (or type) says waiting will not help. */
export function isFinalQuotaError(error: unknown): error is APIError {
  if (!(error instanceof APIError)) return false;
  const code = typeof error.code === 'string' ? error.code : '';
  const type = typeof error.type === 'string' ? error.type : '';
  return FINAL_OPENAI_CODES.includes(code) || FINAL_OPENAI_CODES.includes(type);
}

/**
 * Errors another attempt may fix: connection problems, timeouts, 408/409/429/5xx — unless the
 * server says otherwise in `x-should-retry` (openai-node's shouldRetry reads it first, too).
 */
export function isRetryableOpenAIError(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (!(error instanceof APIError) || isFinalQuotaError(error)) return false;
  const serverSays = error.headers?.get('x-should-retry');
  if (serverSays === 'false') return false;
  if (serverSays === 'true') return true;
  const status = error.status ?? 0;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Runs `call` (an SDK call given these request options) under the policy. A `retry-after`
 * longer than the policy's pause is not waited out here: the error goes back to Temporal's
 * retry policy, whose backoff does not eat the activity's timeout.
 */
export async function withOpenAIAttempts<T>(
  policy: OpenAIAttemptPolicy,
  signal: AbortSignal,
  call: (options: { signal: AbortSignal; timeout: number; maxRetries: 0 }) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call({ signal, timeout: policy.attemptTimeoutMs, maxRetries: 0 });
    } catch (error) {
      if (signal.aborted || attempt >= policy.maxAttempts || !isRetryableOpenAIError(error)) {
        throw error;
      }
      const pause = pauseMs(error, attempt, policy.maxBackoffMs);
      if (pause === undefined) throw error;
      await sleep(pause, signal);
    }
  }
}

/** The server's retry-after (ms) when it sent one and it fits the cap; else exponential. */
function pauseMs(error: unknown, attempt: number, capMs: number): number | undefined {
  const headers = error instanceof APIError ? error.headers : undefined;
  const requested = retryAfterMs(headers);
  if (requested !== undefined) return requested <= capMs ? requested : undefined;
  return Math.min(capMs, 500 * 2 ** (attempt - 1));
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (headers?.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
