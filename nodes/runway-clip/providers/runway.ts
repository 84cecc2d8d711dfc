/**
 * Clips from Runway image-to-video over its REST API. Generations are paid, so the task is
 * idempotent across retries: an earlier attempt's task id (from the heartbeat checkpoint or
 * the external-task record) is followed instead of submitting again. Output URLs expire, so
 * the MP4 is downloaded the moment the task succeeds.
 */
import { LabError } from '../../../engine/errors';
import type { Camera, Shot } from '../../../engine/graph/values';
import type { Collection, ExternalTaskRecord } from '../../../engine/stores/ports';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { sleep } from '../../../engine/providers/sleep';

export interface RunwayClipParams {
  model: string;
  ratio: string;
  seed: number;
}

export interface RunwayConfig {
  apiKey: string;
  /** Default `https://api.dev.runwayml.com` (no `/v1`). */
  baseURL?: string;
  /** Task polling interval; also the first back-off step after 429/5xx. */
  pollIntervalMs: number;
}

export interface RenderClipArgs {
  image: Buffer;
  imageMime: string;
  shot: Shot;
  params: RunwayClipParams;
  config: RunwayConfig;
  signal: AbortSignal;
  /** Generation progress 0..1. */
  onProgress(fraction: number): void;
  /** What an earlier attempt saved with saveCheckpoint, if anything. */
  checkpoint: unknown;
  saveCheckpoint(value: RunwayCheckpoint): void;
  externalTasks: Collection<ExternalTaskRecord>;
  /** Identifies this clip across attempts (run, node, item): the external-task record id. */
  taskKey: string;
}

export interface RunwayCheckpoint {
  taskId: string;
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
/** Runway's limit for a data URI, measured on the encoded string. */
export const MAX_DATA_URI_BYTES = 5 * 1024 * 1024;
const PROVIDER = 'runway';
const ACCEPTED_MIMES = ['image/png', 'image/jpeg', 'image/webp'];
const MAX_PROMPT_CHARS = 1000;
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

/** Allowed durations (seconds) per model; a range is integers from min to max. */
const MODEL_DURATIONS: Record<string, number[] | { min: number; max: number }> = {
  gen4_turbo: { min: 2, max: 10 },
  'gen4.5': { min: 2, max: 10 },
  'veo3.1': [4, 6, 8],
  'veo3.1_fast': [4, 6, 8],
  gen3a_turbo: [5, 10],
};
const DEFAULT_DURATIONS = { min: 2, max: 10 };

const CAMERA_TEXT: Record<Camera, string> = {
  static: 'static camera, subtle natural motion',
  'push-in': 'slow dolly-in towards the subject',
  'pull-out': 'slow dolly-out away from the subject',
  'pan-left': 'camera pans slowly to the left',
  'pan-right': 'camera pans slowly to the right',
  'tilt-up': 'camera tilts slowly upwards',
  'tilt-down': 'camera tilts slowly downwards',
};

/**
 * Animates one frame into a clip and returns the MP4 bytes. Resumes the task of an earlier
 * attempt when there is one; cancels the task on Runway when the node is cancelled.
 */
export async function renderClipRunway(args: RenderClipArgs): Promise<Buffer> {
  const { config, signal, onProgress } = args;
  if (!config.apiKey) {
    throw new NonRetryableNodeError(
      'runway_not_configured: no Runway API key; set RUNWAY_API_KEY or choose the local provider',
      'runway_not_configured',
    );
  }
  const api = new RunwayApi(config, signal);
  const body = buildRequest(args);

  let taskId = await previousTaskId(args);
  let resumed = taskId !== undefined;
  for (;;) {
    if (taskId === undefined) {
      taskId = await submit(api, body, args);
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
      const video = await downloadOutput(api, task, signal);
      await recordTask(args.externalTasks, args.taskKey, taskId, 'SUCCEEDED');
      onProgress(1);
      return video;
    }
    // The earlier attempt's task is gone, cancelled or failed for a retryable reason: start over.
    taskId = undefined;
  }
}

/** The image_to_video body: data URI, prompt with the camera move, duration fitted to the model. */
export function buildRequest(
  args: Pick<RenderClipArgs, 'image' | 'imageMime' | 'shot' | 'params'>,
) {
  const { image, imageMime, shot, params } = args;
  const mime = imageMime.toLowerCase();
  if (!ACCEPTED_MIMES.includes(mime)) {
    throw new NonRetryableNodeError(
      `runway_bad_image: Runway takes PNG, JPEG or WebP frames, not ${imageMime}; connect an image node`,
      'runway_bad_image',
    );
  }
  const promptImage = `data:${mime};base64,${image.toString('base64')}`;
  if (promptImage.length >= MAX_DATA_URI_BYTES) {
    throw new NonRetryableNodeError(
      `runway_image_too_large: the frame is ${(promptImage.length / 1024 / 1024).toFixed(1)} MB as a data URI; ` +
        'Runway accepts under 5 MB: render smaller frames or use JPEG',
      'runway_image_too_large',
    );
  }
  return {
    model: params.model,
    promptImage,
    promptText: promptText(shot),
    ratio: params.ratio,
    duration: clipDuration(params.model, shot.durationSec),
    seed: params.seed,
  };
}

/** The shot duration fitted to what the model can make (nearest allowed value). */
export function clipDuration(model: string, seconds: number): number {
  const allowed = MODEL_DURATIONS[model] ?? DEFAULT_DURATIONS;
  if (Array.isArray(allowed)) {
    return allowed.reduce((best, value) =>
      Math.abs(value - seconds) < Math.abs(best - seconds) ? value : best,
    );
  }
  return Math.min(allowed.max, Math.max(allowed.min, Math.round(seconds)));
}

function promptText(shot: Shot): string {
  const text = `${shot.prompt.trim()}. ${CAMERA_TEXT[shot.camera]}`;
  return text.length <= MAX_PROMPT_CHARS ? text : text.slice(0, MAX_PROMPT_CHARS);
}

/** The task id an earlier attempt started: the heartbeat checkpoint first, then the store. */
async function previousTaskId(args: RenderClipArgs): Promise<string | undefined> {
  const checkpoint = args.checkpoint as Partial<RunwayCheckpoint> | null | undefined;
  if (checkpoint && typeof checkpoint.taskId === 'string' && checkpoint.taskId)
    return checkpoint.taskId;
  const record = await args.externalTasks.get(args.taskKey);
  if (!record || record.provider !== PROVIDER) return undefined;
  // A failed or cancelled task cannot succeed any more; only live or finished ones are worth following.
  return ['FAILED', 'CANCELLED', 'GONE'].includes(record.status) ? undefined : record.taskId;
}

async function submit(
  api: RunwayApi,
  body: ReturnType<typeof buildRequest>,
  args: RenderClipArgs,
): Promise<string> {
  const created = await api.request<{ id?: string }>('POST', '/v1/image_to_video', body);
  if (!created.id) {
    throw new LabError(
      'runway_bad_response',
      'runway_bad_response: Runway accepted the clip without a task id; the run will retry',
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
  args: RenderClipArgs,
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
      {
        notFoundIsNull: true,
      },
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
    if (task.status !== lastStatus) {
      lastStatus = task.status;
      if (task.status !== 'SUCCEEDED')
        await recordTask(args.externalTasks, args.taskKey, taskId, task.status);
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
        const code = task.failureCode ?? '';
        if (code.startsWith('SAFETY.')) {
          throw new NonRetryableNodeError(
            `runway_content_rejected: Runway's moderation rejected this clip (${code}); ` +
              'change the frame or the shot prompt',
            'runway_content_rejected',
          );
        }
        if (resumed) return undefined;
        throw new LabError(
          'runway_task_failed',
          `runway_task_failed: Runway could not make the clip (${task.failure ?? 'no reason given'}` +
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
        `runway_download_failed: could not download the clip (${String(error)}); the run will retry`,
        503,
      );
    });
    if (response.ok) {
      const bytes = Buffer.from(await response.arrayBuffer());
      if (bytes.length < 12 || bytes.subarray(4, 8).toString('latin1') !== 'ftyp') {
        throw new LabError(
          'runway_bad_output',
          `runway_bad_output: task ${task.id}'s output is not an MP4; the run will retry`,
          502,
        );
      }
      return bytes;
    }
    if (attempt >= 1 || ![403, 404, 410].includes(response.status)) {
      throw new LabError(
        'runway_download_failed',
        `runway_download_failed: the clip download answered ${response.status}; the run will retry`,
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
  args: RenderClipArgs,
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
      const retryable = method === 'POST' ? [429, 502, 503, 504] : [429, 500, 502, 503, 504];
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
                  'check the node params (model, ratio, duration) and the frame',
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

function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return `"${body.error}"`;
  } catch {
    // not JSON
  }
  return text ? `"${text.slice(0, 200)}"` : '';
}
