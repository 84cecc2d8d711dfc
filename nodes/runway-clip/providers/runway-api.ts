/**
 * Runway's task API as both Runway providers use it (image-to-video clips here, Gen-4 image
 * frames in sd-lora-frame): one REST client and one paid-task lifecycle. Generations are paid,
 * so a task is idempotent across retries: an earlier attempt's task id (from the heartbeat
 * checkpoint or the external-task record) is followed instead of submitting again, and a task
 * that failed for good is never resubmitted. Output URLs expire, so the output is downloaded
 * the moment the task succeeds.
 *
 * Follows docs.dev.runwayml.com (`/errors/errors` for HTTP statuses, `/errors/task-failures`
 * for failure codes, `/usage/tiers` for 429s) and @runwayml/sdk 4.20.1 for the wire format.
 */
import { LabError } from '../../../engine/errors';
import type { Collection, ExternalTaskRecord } from '../../../engine/stores/ports';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { sleep } from '../../../engine/providers/sleep';
import {
  bodyExcerpt,
  createScrub,
  providerScrub,
  withScrubbedErrors,
} from '../../../engine/providers/scrub';

export interface RunwayConfig {
  apiKey: string;
  /** Default `https://api.dev.runwayml.com` (no `/v1`). */
  baseURL?: string;
  /** Task polling interval; also the first back-off step after 429/5xx. */
  pollIntervalMs: number;
}

export interface RunwayCheckpoint {
  taskId: string;
}

/** What one paid Runway task needs from the activity. */
export interface RunwayTaskArgs {
  config: RunwayConfig;
  signal: AbortSignal;
  /** Generation progress 0..1. */
  onProgress(fraction: number): void;
  /** What an earlier attempt saved with saveCheckpoint, if anything. */
  checkpoint: unknown;
  saveCheckpoint(value: RunwayCheckpoint): void;
  externalTasks: Collection<ExternalTaskRecord>;
  /** Identifies this generation across attempts (run, node, item): the external-task record id. */
  taskKey: string;
}

type TaskStatus = 'PENDING' | 'THROTTLED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

interface RunwayTask {
  id: string;
  status: TaskStatus;
  progress?: number;
  output?: string[];
  failure?: string;
  failureCode?: string;
}

export const RUNWAY_API_VERSION = '2024-11-06';
export const DEFAULT_RUNWAY_BASE_URL = 'https://api.dev.runwayml.com';
/** Runway's limit for an image data URI, measured on the encoded string (/assets/inputs: 5 MB). */
export const MAX_DATA_URI_BYTES = 5 * 1024 * 1024;
const ACCEPTED_IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/webp'];
const PROVIDER = 'runway';
/** The external-task status of a task that failed for good: never resubmitted. */
const REJECTED = 'REJECTED';
const MAX_HTTP_TRIES = 5;
const MAX_BACKOFF_MS = 60_000;
const REQUEST_TIMEOUT_MS = 60_000;
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;
/** Temporal cancellation reasons after which a retry will resume the task: keep it alive. */
const RESUMABLE_ABORT_REASONS = new Set([
  'WORKER_SHUTDOWN',
  'TIMED_OUT',
  'HEARTBEAT_DETAILS_CONVERSION_FAILED',
  'PAUSED',
]);

/**
 * True for failure codes Runway says not to retry (/errors/task-failures): moderation of
 * inputs or outputs (`SAFETY.*`) and moderation of the prompt before processing
 * (`INPUT_PREPROCESSING.SAFETY.*`). `INTERNAL.BAD_OUTPUT.*` and `INPUT_PREPROCESSING.INTERNAL`
 * (the moderation system itself failed) may be retried.
 */
export function isFinalFailureCode(code: string | undefined): boolean {
  return !!code && (code.startsWith('SAFETY.') || code.startsWith('INPUT_PREPROCESSING.SAFETY.'));
}

/** An image as a data URI, refused before any call when Runway could not take it. */
export function imageDataUri(image: Buffer, imageMime: string, what: string): string {
  const mime = imageMime.toLowerCase();
  if (!ACCEPTED_IMAGE_MIMES.includes(mime)) {
    throw new NonRetryableNodeError(
      `runway_bad_image: Runway takes PNG, JPEG or WebP images, not ${imageMime} (${what}); use a PNG, JPEG or WebP image`,
      'runway_bad_image',
    );
  }
  const uri = `data:${mime};base64,${image.toString('base64')}`;
  if (uri.length >= MAX_DATA_URI_BYTES) {
    throw new NonRetryableNodeError(
      `runway_image_too_large: ${what} is ${(uri.length / 1024 / 1024).toFixed(1)} MB as a data URI; ` +
        'Runway accepts under 5 MB: use a smaller image or JPEG',
      'runway_image_too_large',
    );
  }
  return uri;
}

/**
 * Runs one paid Runway task to its output: submits `body` to `path` (or follows the task an
 * earlier attempt started), polls it, downloads `output[0]` and checks it with `isOutput`.
 * Cancels the task on Runway when the node is cancelled.
 */
export async function runRunwayTask(args: RunwayTaskRunArgs): Promise<Buffer> {
  // Scrubbed before it leaves the provider: an upstream (or a proxy in front of it) that echoes
  // the Authorization header in an error body must not put the key in Temporal's history.
  return withScrubbedErrors(providerScrub('runway', args.config), () => runTask(args));
}

type RunwayTaskRunArgs = RunwayTaskArgs & {
  path: string;
  body: unknown;
  /** What the output must be (checked on its bytes), e.g. "an MP4". */
  output: { what: string; isValid(bytes: Buffer): boolean };
};

async function runTask(args: RunwayTaskRunArgs): Promise<Buffer> {
  const { config, signal, onProgress } = args;
  if (!config.apiKey) {
    throw new NonRetryableNodeError(
      'runway_not_configured: no Runway API key; set RUNWAY_API_KEY or choose the local provider',
      'runway_not_configured',
    );
  }
  const api = new RunwayApi(config, signal);

  let taskId = await previousTaskId(args);
  let resumed = taskId !== undefined;
  for (;;) {
    if (taskId === undefined) {
      taskId = await submit(api, args.path, args.body, args);
      resumed = false;
    }
    let task: RunwayTask | undefined;
    try {
      task = await waitForTask(api, taskId, resumed, args);
    } catch (error) {
      if (signal.aborted) {
        await cancelTask(api, taskId, signal.reason, args);
        throw signal.reason ?? error;
      }
      throw error;
    }
    if (task) {
      const bytes = await downloadOutput(api, task, signal, args.output);
      await recordTask(args.externalTasks, args.taskKey, taskId, 'SUCCEEDED');
      onProgress(1);
      return bytes;
    }
    // The earlier attempt's task is gone, cancelled or failed for a retryable reason: start over.
    taskId = undefined;
  }
}

/** The task id an earlier attempt started: the heartbeat checkpoint first, then the store. */
async function previousTaskId(args: RunwayTaskArgs): Promise<string | undefined> {
  const record = await args.externalTasks.get(args.taskKey);
  if (record && record.provider === PROVIDER && record.status === REJECTED) {
    // Runway said not to retry this generation; submitting it again would pay for the same refusal.
    throw contentRejected(record.taskId, 'an earlier attempt');
  }
  const checkpoint = args.checkpoint as Partial<RunwayCheckpoint> | null | undefined;
  if (checkpoint && typeof checkpoint.taskId === 'string' && checkpoint.taskId)
    return checkpoint.taskId;
  if (!record || record.provider !== PROVIDER) return undefined;
  // A cancelled or gone task cannot succeed any more; only live or finished ones are worth following.
  return ['FAILED', 'CANCELLED', 'GONE'].includes(record.status) ? undefined : record.taskId;
}

function contentRejected(taskId: string, code: string): NonRetryableNodeError {
  return new NonRetryableNodeError(
    `runway_content_rejected: Runway's moderation rejected task ${taskId} (${code}) and asks not to retry it; ` +
      'change the image or the prompt',
    'runway_content_rejected',
  );
}

async function submit(
  api: RunwayApi,
  path: string,
  body: unknown,
  args: RunwayTaskArgs,
): Promise<string> {
  const created = await api.request<{ id?: string }>('POST', path, body);
  if (!created.id) {
    throw new LabError(
      'runway_bad_response',
      'runway_bad_response: Runway accepted the task without a task id; the run will retry',
      502,
    );
  }
  // Save at once: from here on a retry must follow this task instead of paying for another.
  await recordTask(args.externalTasks, args.taskKey, created.id, 'PENDING');
  args.saveCheckpoint({ taskId: created.id });
  return created.id;
}

/**
 * Polls the task until it ends. Returns the succeeded task, or undefined when a resumed task
 * turns out to be unusable (deleted, cancelled, failed for a retryable reason).
 */
async function waitForTask(
  api: RunwayApi,
  taskId: string,
  resumed: boolean,
  args: RunwayTaskArgs,
): Promise<RunwayTask | undefined> {
  const { config, signal, onProgress } = args;
  let lastStatus: string | undefined;
  // A fresh task is never done at once; a resumed one may be, so look straight away.
  if (!resumed) await sleep(config.pollIntervalMs, signal);
  for (;;) {
    const task = await api.request<RunwayTask>(
      'GET',
      `/v1/tasks/${encodeURIComponent(taskId)}`,
      undefined,
      { notFoundIsNull: true },
    );
    if (!task) {
      if (resumed) {
        await recordTask(args.externalTasks, args.taskKey, taskId, 'GONE');
        return undefined;
      }
      throw new LabError(
        'runway_task_missing',
        `runway_task_missing: Runway lost task ${taskId}; the run will retry`,
        502,
      );
    }
    const code = task.failureCode ?? '';
    const final = task.status === 'FAILED' && isFinalFailureCode(code);
    if (task.status !== lastStatus) {
      lastStatus = task.status;
      if (task.status !== 'SUCCEEDED')
        await recordTask(args.externalTasks, args.taskKey, taskId, final ? REJECTED : task.status);
    }
    switch (task.status) {
      case 'SUCCEEDED':
        return task;
      case 'RUNNING':
        onProgress(Math.min(0.95, Math.max(0.05, (task.progress ?? 0) * 0.95)));
        break;
      case 'PENDING':
      case 'THROTTLED':
        onProgress(0.02);
        break;
      case 'CANCELLED':
        if (resumed) return undefined;
        throw new LabError(
          'runway_task_cancelled',
          `runway_task_cancelled: task ${taskId} was cancelled on Runway's side; the run will retry`,
          503,
        );
      case 'FAILED': {
        // Final for a fresh task and a resumed one alike: a resubmit would pay for the same refusal.
        if (final) throw contentRejected(taskId, code);
        if (resumed) return undefined;
        throw new LabError(
          'runway_task_failed',
          `runway_task_failed: Runway could not finish task ${taskId} (${task.failure ?? 'no reason given'}` +
            `${code ? `, ${code}` : ''}); the run will retry`,
          502,
        );
      }
    }
    await sleep(config.pollIntervalMs, signal);
  }
}

/** Downloads output[0] now (the URL expires); on an expired link, fetch the task again for a fresh one. */
async function downloadOutput(
  api: RunwayApi,
  task: RunwayTask,
  signal: AbortSignal,
  output: { what: string; isValid(bytes: Buffer): boolean },
): Promise<Buffer> {
  let current = task;
  for (let attempt = 0; ; attempt++) {
    const url = current.output?.[0];
    if (!url) {
      throw new LabError(
        'runway_no_output',
        `runway_no_output: task ${task.id} succeeded without an output URL; the run will retry`,
        502,
      );
    }
    // No Authorization header: output URLs are pre-signed and may live on another host.
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]),
    }).catch((error: unknown) => {
      if (signal.aborted) throw signal.reason ?? error;
      throw new LabError(
        'runway_download_failed',
        `runway_download_failed: could not download task ${task.id}'s output (${String(error)}); the run will retry`,
        503,
      );
    });
    if (response.ok) {
      const bytes = Buffer.from(await response.arrayBuffer());
      if (!output.isValid(bytes)) {
        throw new LabError(
          'runway_bad_output',
          `runway_bad_output: task ${task.id}'s output is not ${output.what}; the run will retry`,
          502,
        );
      }
      return bytes;
    }
    if (attempt >= 1 || ![403, 404, 410].includes(response.status)) {
      throw new LabError(
        'runway_download_failed',
        `runway_download_failed: the download of task ${task.id}'s output answered ${response.status}; the run will retry`,
        503,
      );
    }
    const fresh = await api.request<RunwayTask>('GET', `/v1/tasks/${encodeURIComponent(task.id)}`);
    if (!fresh)
      throw new LabError(
        'runway_task_missing',
        `runway_task_missing: Runway lost task ${task.id}; the run will retry`,
        502,
      );
    current = fresh;
  }
}

/** On a real cancel, stop the paid generation; on a worker shutdown or timeout keep it for the retry. */
async function cancelTask(
  api: RunwayApi,
  taskId: string,
  reason: unknown,
  args: RunwayTaskArgs,
): Promise<void> {
  const name = reason instanceof Error ? reason.message : String(reason ?? '');
  if (RESUMABLE_ABORT_REASONS.has(name)) return;
  try {
    await api.request('DELETE', `/v1/tasks/${encodeURIComponent(taskId)}`, undefined, {
      ignoreAbort: true,
    });
    await recordTask(args.externalTasks, args.taskKey, taskId, 'CANCELLED');
  } catch {
    // The node is cancelled either way; the task may finish on Runway's side unobserved.
  }
}

async function recordTask(
  tasks: Collection<ExternalTaskRecord>,
  key: string,
  taskId: string,
  status: string,
): Promise<void> {
  const existing = await tasks.get(key);
  const now = new Date().toISOString();
  await tasks.put({
    id: key,
    provider: PROVIDER,
    taskId,
    status,
    createdAt: existing && existing.taskId === taskId ? existing.createdAt : now,
    updatedAt: now,
  });
}

interface RequestOptions {
  /** Return null on 404 instead of failing. */
  notFoundIsNull?: boolean;
  /** Send even though the caller's signal has aborted (cleanup after a cancel). */
  ignoreAbort?: boolean;
}

/** Minimal Runway REST client: auth and version headers, back-off on 429/5xx, readable errors. */
class RunwayApi {
  private readonly base: string;

  constructor(
    private readonly config: RunwayConfig,
    private readonly signal: AbortSignal,
  ) {
    this.base = (config.baseURL || DEFAULT_RUNWAY_BASE_URL)
      .replace(/\/+$/, '')
      .replace(/\/v1$/, '');
  }

  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<T> {
    const signal = options.ignoreAbort ? AbortSignal.timeout(10_000) : this.signal;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.base}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${this.config.apiKey}`,
            'X-Runway-Version': RUNWAY_API_VERSION,
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        // A POST that may have reached Runway must not be repeated here: it could pay twice.
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if ((method !== 'POST' || refused) && attempt < MAX_HTTP_TRIES) {
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        throw new LabError(
          'runway_unreachable',
          `runway_unreachable: cannot reach Runway at ${this.base} (${String((error as { cause?: unknown }).cause ?? error)}); ` +
            'check RUNWAY_BASE_URL and the network, the run will retry',
          503,
        );
      }
      if (response.ok) {
        if (response.status === 204) return undefined as T;
        return (await response.json()) as T;
      }
      const text = await response.text().catch(() => '');
      if (response.status === 404 && options.notFoundIsNull) return null as T;
      if (response.status === 429 && method === 'POST') {
        // Runway has no per-minute request limit; a 429 on task creation means the
        // organization's daily generation limit for this model is used up (/usage/tiers).
        // Retrying within minutes cannot succeed, so neither we nor Temporal retry it.
        throw new NonRetryableNodeError(
          `runway_daily_limit: Runway refused ${path} with 429 ${errorText(text)}: your organization's ` +
            'daily generation limit for this model is used up (it is a rolling 24-hour window); run again later, raise the tier, or choose another model or the local provider',
          'runway_daily_limit',
        );
      }
      const retryable = method === 'POST' ? [502, 503, 504] : [429, 500, 502, 503, 504];
      if (retryable.includes(response.status)) {
        if (attempt < MAX_HTTP_TRIES) {
          await sleep(this.backoff(attempt, response.headers.get('retry-after')), signal);
          continue;
        }
        throw new LabError(
          response.status === 429 ? 'runway_rate_limited' : 'runway_unavailable',
          `${response.status === 429 ? 'runway_rate_limited' : 'runway_unavailable'}: Runway answered ` +
            `${method} ${path} with ${response.status} ${errorText(text)} ${MAX_HTTP_TRIES} times; the run will retry later`,
          503,
        );
      }
      if (response.status === 500) {
        throw new LabError(
          'runway_unavailable',
          `runway_unavailable: Runway answered 500 ${errorText(text)}; the run will retry`,
          502,
        );
      }
      const [code, hint] =
        response.status === 401
          ? ['runway_auth', 'check RUNWAY_API_KEY']
          : response.status === 403
            ? ['runway_forbidden', 'check that your Runway plan includes this model']
            : response.status === 404
              ? ['runway_not_found', 'check RUNWAY_BASE_URL (https://api.dev.runwayml.com)']
              : [
                  'runway_bad_request',
                  'check the node params (model, ratio, duration) and the images',
                ];
      throw new NonRetryableNodeError(
        `${code}: Runway rejected ${method} ${path} with ${response.status} ${errorText(text)}; ${hint}`,
        code,
      );
    }
  }

  /** Exponential from the poll interval, ≤ 50 % jitter, capped; Retry-After wins when given. */
  private backoff(attempt: number, retryAfter?: string | null): number {
    const seconds = retryAfter ? Number(retryAfter) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(MAX_BACKOFF_MS, seconds * 1000);
    const base = Math.min(MAX_BACKOFF_MS, this.config.pollIntervalMs * 2 ** (attempt - 1));
    return base * (1 + Math.random() * 0.5);
  }
}

/** Runway's `error` field, or a short scrubbed excerpt of the body: never the whole body. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return `"${bodyExcerpt(body.error, createScrub())}"`;
  } catch {
    // not JSON
  }
  return text ? `"${bodyExcerpt(text, createScrub())}"` : '';
}
