/**
 * Key frames from an AUTOMATIC1111-compatible server (A1111, Forge, SD.Next) over
 * `/sdapi/v1`: the character's LoRA goes into the prompt as `<lora:name:weight>` with its
 * trigger word; reference conditioning goes in as a ControlNet IP-Adapter unit.
 *
 * A1111 is a shared, single-queue server (v1.10 modules/api/api.py, modules/progress.py), so
 * every request carries our own `force_task_id`: progress, "was it interrupted" and cancel are
 * all decided for OUR task (`POST /internal/progress`), never from the global state alone —
 * `/sdapi/v1/interrupt` stops whatever runs, and an aborted HTTP request does not dequeue.
 */
import { randomUUID } from 'node:crypto';
import { LabError } from '../../../engine/errors';
import type { Character, Shot } from '../../../engine/graph/values';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import {
  isPng,
  joinUrl,
  loraStem,
  redactUrl,
  sdJson,
  sdRequest,
  shotSeed,
  type SdRenderParams,
  type SdServerConfig,
} from './sd-http';
import { sleep } from '../../../engine/providers/sleep';
import { providerScrub, withScrubbedErrors } from '../../../engine/providers/scrub';

export type { SdRenderParams, SdServerConfig } from './sd-http';

export interface RenderFrameArgs {
  shot: Shot;
  character?: Character;
  params: SdRenderParams;
  config: SdServerConfig;
  signal: AbortSignal;
  /** Sampling progress 0..1. */
  onProgress(fraction: number): void;
  /** Identity conditioning from the character's reference images; absent = none. */
  reference?: SdReference;
}

/** IP-Adapter conditioning: the server's IP-Adapter sees these images at this weight. */
export interface SdReference {
  mode: 'ip-adapter';
  /** 0–2 (ControlNet unit weight, IPAdapter weight); 0.6–0.85 keeps the prompt in charge. */
  weight: number;
  /** PNG/JPEG bytes, the character's reference images in order; at least one. */
  images: Buffer[];
}

export interface A1111Result {
  png: Buffer;
  /** The seed the server used, from the `info` JSON. */
  seed: number;
  /** The parsed `info` JSON (prompt, seeds, sampler, infotexts…). */
  info: Record<string, unknown>;
}

interface Txt2ImgResponse {
  images?: string[];
  info?: string;
}

interface ProgressResponse {
  progress?: number;
  state?: {
    job_count?: number;
    job_timestamp?: string;
    interrupted?: boolean;
    skipped?: boolean;
  };
}

/** modules/progress.py InternalProgressResponse (the fields we read). */
interface TaskProgress {
  active?: boolean;
  queued?: boolean;
  completed?: boolean;
  progress?: number | null;
}

/** What the progress watcher learnt about our task while it ran. */
interface JobWatch {
  /** False once `/internal/progress` turned out to be missing (A1111 started with --nowebui). */
  perTask: boolean;
  /** The global state said "interrupted" or "skipped" while our task was the active one. */
  interrupted: boolean;
}

interface SdModel {
  title?: string;
  model_name?: string;
  hash?: string | null;
  sha256?: string | null;
  filename?: string;
}

interface LoraEntry {
  name?: string;
  alias?: string;
}

/** txt2img blocks until the image is done: tens of seconds, minutes on a busy GPU. */
const TXT2IMG_TIMEOUT_MS = 15 * 60_000;
const SHORT_TIMEOUT_MS = 15_000;
/** How long a server's checkpoint list is trusted; a miss always re-reads it once. */
const CHECKPOINT_CACHE_MS = 60_000;
const checkpointCache = new Map<string, { at: number; models: SdModel[] }>();

/** Renders one shot's key frame and returns the PNG bytes. */
export async function renderFrameA1111(args: RenderFrameArgs): Promise<Buffer> {
  return (await txt2imgA1111(args)).png;
}

/**
 * Renders one shot's key frame; also returns what the server reports about it. Errors are
 * scrubbed before they leave: SD_API_URL may carry credentials, and a proxy in front of the
 * server may echo them in its error bodies; the URL itself becomes "the A1111 server".
 */
export async function txt2imgA1111(args: RenderFrameArgs): Promise<A1111Result> {
  return withScrubbedErrors(providerScrub('a1111', args.config), () => txt2img(args));
}

async function txt2img(args: RenderFrameArgs): Promise<A1111Result> {
  const { shot, character, params, config, signal, onProgress } = args;
  const server = config.url;
  const url = (path: string) => joinUrl(server, path);
  const checkpoint = params.checkpoint
    ? await resolveCheckpoint(server, params.checkpoint, signal)
    : undefined;
  if (character?.lora) await assertLoraInstalled(server, character.lora.name, signal);
  const alwaysOn = args.reference
    ? await ipAdapterScripts(server, args.reference, signal)
    : undefined;

  // Our own id for this job: A1111 tracks it through its queue (`/internal/progress`).
  const taskId = `task(${randomUUID()})`;
  const body = {
    prompt: buildPrompt(shot, character),
    negative_prompt: shot.negativePrompt,
    seed: shotSeed(params.seed, shot.index),
    sampler_name: params.sampler,
    steps: params.steps,
    cfg_scale: params.cfgScale,
    width: params.width,
    height: params.height,
    batch_size: 1,
    n_iter: 1,
    send_images: true,
    save_images: false,
    force_task_id: taskId,
    ...(checkpoint
      ? {
          override_settings: { sd_model_checkpoint: checkpoint },
          override_settings_restore_afterwards: true,
        }
      : {}),
    ...(alwaysOn ? { alwayson_scripts: alwaysOn } : {}),
  };

  const pollMs = config.pollIntervalMs ?? 1_000;
  const polling = new AbortController();
  const watch: JobWatch = { perTask: true, interrupted: false };
  const poller = watchJob(server, taskId, pollMs, watch, polling.signal, onProgress);
  let result: Txt2ImgResponse;
  try {
    result = await sdJson<Txt2ImgResponse>(server, url('/sdapi/v1/txt2img'), {
      method: 'POST',
      body,
      signal,
      timeoutMs: TXT2IMG_TIMEOUT_MS,
    });
  } catch (error) {
    if (signal.aborted) await cancelJob(server, taskId, pollMs);
    throw error;
  } finally {
    polling.abort();
    await poller;
  }

  const encoded = result.images?.[0];
  if (!encoded) {
    throw new LabError(
      'sd_no_image',
      `sd_no_image: ${redactUrl(server)} finished txt2img without an image (it may have been interrupted); the run will retry`,
      502,
    );
  }
  const png = Buffer.from(encoded.replace(/^data:image\/\w+;base64,/, ''), 'base64');
  if (!isPng(png)) {
    throw new NonRetryableNodeError(
      `sd_not_png: ${redactUrl(server)} returned an image that is not a PNG; set Settings → Saving images → ` +
        'File format to png on the server',
      'sd_not_png',
    );
  }
  const info = parseInfo(result.info);
  // An interrupted (or skipped) job still answers 200 with its half-denoised image.
  if (await wasInterrupted(server, watch, info, signal)) {
    throw new LabError(
      'sd_interrupted',
      `sd_interrupted: the render on ${redactUrl(server)} was interrupted before it finished ` +
        '(someone pressed Interrupt or Skip on the server); the half-finished image was discarded and the run will retry',
      503,
    );
  }
  onProgress(1);
  return { png, seed: typeof info.seed === 'number' ? info.seed : body.seed, info };
}

/**
 * The prompt A1111 sees: trigger word first (it carries the LoRA's identity), the shot
 * prompt, then the LoRA tag, which A1111 strips from the text and applies to the model.
 */
export function buildPrompt(shot: Shot, character?: Character): string {
  const parts: string[] = [];
  const trigger = character?.triggerWord?.trim();
  if (trigger && !shot.prompt.includes(trigger)) parts.push(trigger);
  parts.push(shot.prompt.trim());
  let prompt = parts.filter(Boolean).join(', ');
  if (character?.lora)
    prompt += ` <lora:${loraStem(character.lora.name)}:${character.lora.weight}>`;
  return prompt;
}

/**
 * The checkpoint's exact title, checked against `/sdapi/v1/sd-models`: A1111 drops an unknown
 * `override_settings.sd_model_checkpoint` without a word and renders with whatever model is
 * loaded (processing.py), so a typo would quietly give frames from the wrong model. The list
 * is cached per server for a minute; a miss re-reads it once (a checkpoint just added).
 */
export async function resolveCheckpoint(
  server: string,
  wanted: string,
  signal: AbortSignal,
): Promise<string> {
  const find = (models: SdModel[]) =>
    models.find((model) => checkpointIds(model).includes(wanted.trim()))?.title;
  const key = redactUrl(server);
  const wasCached = checkpointCache.has(key);
  let models = await listCheckpoints(server, signal, false);
  let title = find(models);
  // A miss on a cached list re-reads it once: the checkpoint may have just been added.
  if (!title && wasCached) {
    models = await listCheckpoints(server, signal, true);
    title = find(models);
  }
  if (title) return title;
  const names = models.map((model) => model.model_name ?? model.title).filter(Boolean);
  throw new NonRetryableNodeError(
    `sd_checkpoint_not_found: the checkpoint "${wanted}" is not on ${redactUrl(server)}` +
      (names.length
        ? ` (available: ${names.slice(0, 12).join(', ')})`
        : ' (the server lists no checkpoints)') +
      "; fix the node's checkpoint param, leave it empty for the loaded model, or copy the " +
      'file into models/Stable-diffusion and POST /sdapi/v1/refresh-checkpoints',
    'sd_checkpoint_not_found',
  );
}

async function listCheckpoints(
  server: string,
  signal: AbortSignal,
  fresh: boolean,
): Promise<SdModel[]> {
  const key = redactUrl(server);
  const cached = checkpointCache.get(key);
  if (!fresh && cached && Date.now() - cached.at < CHECKPOINT_CACHE_MS) return cached.models;
  const models = await sdJson<SdModel[]>(server, joinUrl(server, '/sdapi/v1/sd-models'), {
    signal,
    timeoutMs: SHORT_TIMEOUT_MS,
  });
  const list = Array.isArray(models) ? models : [];
  checkpointCache.set(key, { at: Date.now(), models: list });
  return list;
}

/** The names A1111 accepts for a checkpoint (sd_models.CheckpointInfo ids). */
function checkpointIds(model: SdModel): string[] {
  const file = model.filename?.split(/[\\/]/).pop() ?? '';
  return [
    model.title,
    model.title?.replace(/\s*\[[0-9a-f]+\]$/i, ''),
    model.model_name,
    model.hash,
    model.sha256,
    file,
    file.replace(/\.(safetensors|ckpt)$/i, ''),
  ].filter((id): id is string => typeof id === 'string' && id !== '');
}

/**
 * A1111 silently ignores an unknown `<lora:…>` tag and renders without the character, so a
 * missing LoRA is checked up front and fails the node with the names that do exist. A 404 on
 * the route itself means the built-in Lora extension is disabled (the API is up: sd-models
 * answers), which no LoRA name can fix.
 */
async function assertLoraInstalled(
  server: string,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  const response = await sdRequest(server, joinUrl(server, '/sdapi/v1/loras'), {
    signal,
    timeoutMs: SHORT_TIMEOUT_MS,
    passStatuses: [404],
  });
  if (response.status === 404) {
    await response.body?.cancel();
    // Tells "no --api at all" (this throws the --api hint) from "Lora extension off".
    await listCheckpoints(server, signal, true);
    throw new NonRetryableNodeError(
      `sd_lora_extension_disabled: ${redactUrl(server)} has no /sdapi/v1/loras, so its built-in Lora ` +
        'extension is disabled; enable "Lora" under Extensions → Installed and restart the server, ' +
        'or remove the LoRA from the character',
      'sd_lora_extension_disabled',
    );
  }
  const loras = (await response.json()) as LoraEntry[];
  const wanted = loraStem(name);
  if (loras.some((lora) => lora.name === wanted || lora.alias === wanted)) return;
  const known = loras.map((lora) => lora.name).filter(Boolean);
  throw new NonRetryableNodeError(
    `sd_lora_not_found: the LoRA "${wanted}" is not installed on ${redactUrl(server)}` +
      (known.length ? ` (installed: ${known.slice(0, 10).join(', ')})` : ' (no LoRAs installed)') +
      "; copy it into models/Lora and POST /sdapi/v1/refresh-loras, or fix the character's LoRA name",
    'sd_lora_not_found',
  );
}

/** The ControlNet preprocessor for an IP-Adapter model file (sd-webui-controlnet naming). */
function ipAdapterModule(model: string, modules: string[]): string | undefined {
  // Newer extension builds pick the right CLIP/InsightFace preprocessor from the model.
  if (modules.includes('ip-adapter-auto')) return 'ip-adapter-auto';
  const name = model.toLowerCase();
  const candidates = name.includes('faceid')
    ? name.includes('plus')
      ? ['ip-adapter_face_id_plus']
      : ['ip-adapter_face_id']
    : name.includes('sdxl') || name.includes('_xl')
      ? name.includes('vit-h') || name.includes('vith')
        ? ['ip-adapter_clip_sdxl_plus_vith', 'ip-adapter_clip_h']
        : ['ip-adapter_clip_sdxl', 'ip-adapter_clip_g']
      : ['ip-adapter_clip_sd15', 'ip-adapter_clip_h'];
  return candidates.find((candidate) => modules.includes(candidate));
}

/**
 * `alwayson_scripts` with one ControlNet unit running an IP-Adapter over the references. The
 * extension's model and module lists are read first, so a server without the extension or
 * without an IP-Adapter model fails the node with what to install, before any GPU time.
 */
async function ipAdapterScripts(
  server: string,
  reference: SdReference,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const get = <T>(path: string) =>
    sdRequest(server, joinUrl(server, path), {
      signal,
      timeoutMs: SHORT_TIMEOUT_MS,
      passStatuses: [404],
    }).then(async (response) =>
      response.status === 404
        ? (await response.body?.cancel(), undefined)
        : ((await response.json()) as T),
    );
  const [models, modules] = await Promise.all([
    get<{ model_list?: string[] }>('/controlnet/model_list'),
    get<{ module_list?: string[] }>('/controlnet/module_list'),
  ]);
  if (!models || !modules) {
    throw new NonRetryableNodeError(
      `sd_controlnet_missing: ${redactUrl(server)} has no ControlNet API (/controlnet/model_list is a 404), ` +
        'which IP-Adapter references need; install the sd-webui-controlnet extension ' +
        "(Forge ships it), or set the node's reference param to none",
      'sd_controlnet_missing',
    );
  }
  const ipModels = (models.model_list ?? []).filter((name) => /ip[-_]?adapter/i.test(name));
  const model = ipModels[0];
  if (!model) {
    throw new NonRetryableNodeError(
      `sd_ip_adapter_missing: the ControlNet extension on ${redactUrl(server)} has no IP-Adapter model ` +
        `(models: ${(models.model_list ?? []).slice(0, 10).join(', ') || 'none'}); put e.g. ` +
        "ip-adapter-plus-face_sd15.safetensors into models/ControlNet, or set the node's reference param to none",
      'sd_ip_adapter_missing',
    );
  }
  const module = ipAdapterModule(model, modules.module_list ?? []);
  if (!module) {
    throw new NonRetryableNodeError(
      `sd_ip_adapter_missing: the ControlNet extension on ${redactUrl(server)} has no IP-Adapter ` +
        `preprocessor for ${model}; update sd-webui-controlnet, or set the node's reference param to none`,
      'sd_ip_adapter_missing',
    );
  }
  const images = reference.images.slice(0, 3).map((image) => image.toString('base64'));
  return {
    controlnet: {
      args: [
        {
          enabled: true,
          module,
          model,
          weight: reference.weight,
          // IP-Adapter modules take several inputs as a list of {image} (ControlNetUnit).
          image: images.length === 1 ? images[0] : images.map((image) => ({ image })),
          resize_mode: 'Crop and Resize',
          control_mode: 'Balanced',
          pixel_perfect: false,
          guidance_start: 0,
          guidance_end: 1,
        },
      ],
    },
  };
}

/** Our task's state from `/internal/progress`, or undefined when the route does not exist. */
async function taskProgress(
  server: string,
  taskId: string,
  signal: AbortSignal,
): Promise<TaskProgress | undefined> {
  const response = await sdRequest(server, joinUrl(server, '/internal/progress'), {
    method: 'POST',
    body: { id_task: taskId, id_live_preview: -1, live_preview: false },
    signal,
    timeoutMs: SHORT_TIMEOUT_MS,
    passStatuses: [404],
  });
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  return (await response.json()) as TaskProgress;
}

function globalProgress(server: string, signal: AbortSignal): Promise<ProgressResponse> {
  return sdJson<ProgressResponse>(
    server,
    joinUrl(server, '/sdapi/v1/progress?skip_current_image=true'),
    { signal, timeoutMs: SHORT_TIMEOUT_MS },
  );
}

/**
 * Polls until `signal` aborts: our task's progress (not another user's job on the same
 * server), and whether the server was told to interrupt or skip while ours was the one
 * running. Without `/internal/progress` it falls back to the global progress. Polling errors
 * are ignored: the txt2img request reports real failures.
 */
async function watchJob(
  server: string,
  taskId: string,
  intervalMs: number,
  watch: JobWatch,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<void> {
  let best = 0;
  const report = (fraction: number) => {
    // Never let the bar run backwards, and leave 1 for the finished image.
    if (fraction > best && fraction < 1) {
      best = fraction;
      onProgress(fraction);
    }
  };
  while (!signal.aborted) {
    try {
      await sleep(intervalMs, signal);
      if (watch.perTask) {
        const task = await taskProgress(server, taskId, signal);
        if (!task) {
          watch.perTask = false;
          continue;
        }
        if (!task.active) continue;
        const { state } = await globalProgress(server, signal);
        if (state?.interrupted || state?.skipped) watch.interrupted = true;
        report(task.progress ?? 0);
      } else {
        const state = await globalProgress(server, signal);
        // Idle (job_count 0) reports 0.
        if ((state.state?.job_count ?? 0) > 0) report(state.progress ?? 0);
      }
    } catch {
      if (signal.aborted) return;
    }
  }
}

/**
 * True when our job was interrupted or skipped. Seen while it ran, or right after: the
 * global `interrupted` flag survives the end of a job until the next one begins, and the
 * state's `job_timestamp` is our job's (`info.job_timestamp`) until then.
 */
async function wasInterrupted(
  server: string,
  watch: JobWatch,
  info: Record<string, unknown>,
  signal: AbortSignal,
): Promise<boolean> {
  if (watch.interrupted) return true;
  let state: ProgressResponse['state'];
  try {
    state = (await globalProgress(server, signal)).state;
  } catch {
    return false; // cannot tell; the image is as good as the server says
  }
  if (!state?.interrupted && !state?.skipped) return false;
  const ours = typeof info.job_timestamp === 'string' ? info.job_timestamp : undefined;
  return ours === undefined || state.job_timestamp === ours;
}

/**
 * Stops our job only: interrupt when `/internal/progress` says ours is the one running; when
 * it still waits in the queue (an aborted request does not dequeue it), watch in the
 * background and interrupt it the moment it starts. A server without `/internal/progress`
 * cannot tell us whose job runs, so it is left alone: a wasted render beats stopping someone
 * else's. Best effort throughout — the node is already cancelled.
 */
async function cancelJob(server: string, taskId: string, pollMs: number): Promise<void> {
  const task = await taskProgress(server, taskId, new AbortController().signal).catch(
    () => undefined,
  );
  if (!task) return;
  if (task.active) {
    await interrupt(server);
    return;
  }
  if (task.queued) void interruptWhenStarted(server, taskId, Math.max(pollMs, 50));
}

/** Polls our queued task until it starts (then interrupts it), finishes, or 15 minutes pass. */
async function interruptWhenStarted(server: string, taskId: string, pollMs: number): Promise<void> {
  const never = new AbortController().signal;
  const deadline = Date.now() + TXT2IMG_TIMEOUT_MS;
  let unknown = 0;
  let failures = 0;
  while (Date.now() < deadline && unknown < 5 && failures < 5) {
    await sleep(pollMs, never);
    let task: TaskProgress | undefined;
    try {
      task = await taskProgress(server, taskId, never);
    } catch {
      failures++;
      continue;
    }
    if (!task || task.completed) return;
    if (task.active) {
      await interrupt(server);
      return;
    }
    // Between begin() and start_task() a task is neither queued nor active: look again.
    unknown = task.queued ? 0 : unknown + 1;
  }
}

/** Tells the server to stop the running generation (A1111's interrupt is global). */
async function interrupt(server: string): Promise<void> {
  try {
    await sdRequest(server, joinUrl(server, '/sdapi/v1/interrupt'), {
      method: 'POST',
      signal: new AbortController().signal,
      timeoutMs: 5_000,
    });
  } catch {
    // The node is already cancelled; a server that cannot be told just finishes the image.
  }
}

function parseInfo(info: string | undefined): Record<string, unknown> {
  if (!info) return {};
  try {
    const parsed = JSON.parse(info) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
