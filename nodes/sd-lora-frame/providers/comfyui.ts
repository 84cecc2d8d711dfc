/**
 * Key frames from a ComfyUI server: an API-format txt2img graph (checkpoint → LoRA → prompts →
 * KSampler → SaveImage) queued with `POST /prompt`, followed over `/ws?clientId=` (falling back
 * to polling `/history/{id}` when the socket is unavailable), the PNG fetched from `/view`.
 */
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
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
} from './sd-http';
import type { RenderFrameArgs } from './a1111';
import { sleep } from '../../../engine/providers/sleep';
import { providerScrub, withScrubbedErrors } from '../../../engine/providers/scrub';

export type { RenderFrameArgs } from './a1111';

/** One node of an API-format ComfyUI graph; links are `[sourceNodeId, outputIndex]`. */
export interface ComfyNode {
  class_type: string;
  inputs: Record<string, unknown>;
}
export type ComfyGraph = Record<string, ComfyNode>;

interface ImageRef {
  filename: string;
  subfolder: string;
  type: string;
}

interface HistoryEntry {
  outputs?: Record<string, { images?: ImageRef[] }>;
  status?: {
    status_str?: string;
    completed?: boolean;
    messages?: [string, Record<string, unknown>][];
  };
}

/** The enum lists the graph's inputs must match exactly (from `/object_info`). */
interface ServerCatalogue {
  checkpoints: string[];
  loras: string[];
  samplers: string[];
  schedulers: string[];
  /** ComfyUI_IPAdapter_plus's choices, when a reference is asked for and the nodes exist. */
  ipAdapter?: { preset: string; weightType: string };
}

/** The reference image as the graph uses it: an uploaded input file and a weight. */
export interface ComfyReference {
  /** The LoadImage `image` value (`subfolder/name` of the upload). */
  image: string;
  weight: number;
}

/** Presets of IPAdapterUnifiedLoader, most identity-preserving first. */
const IP_ADAPTER_PRESETS = [
  'PLUS FACE (portraits)',
  'PLUS (high strength)',
  'STANDARD (medium strength)',
];

type Failure = { kind: 'failed'; message: string } | { kind: 'interrupted' };
type Outcome = { kind: 'done'; entry: HistoryEntry } | Failure;

const SAVE_NODE = '9';
const SHORT_TIMEOUT_MS = 15_000;
/** A whole render may wait behind other prompts in ComfyUI's queue. */
const RENDER_TIMEOUT_MS = 15 * 60_000;

/** A1111 sampler names → ComfyUI `sampler_name`; ComfyUI names pass through unchanged. */
const SAMPLERS: Record<string, string> = {
  'euler a': 'euler_ancestral',
  euler: 'euler',
  lms: 'lms',
  heun: 'heun',
  dpm2: 'dpm_2',
  'dpm2 a': 'dpm_2_ancestral',
  'dpm++ 2s a': 'dpmpp_2s_ancestral',
  'dpm++ 2m': 'dpmpp_2m',
  'dpm++ sde': 'dpmpp_sde',
  'dpm++ 2m sde': 'dpmpp_2m_sde',
  'dpm++ 3m sde': 'dpmpp_3m_sde',
  'dpm fast': 'dpm_fast',
  'dpm adaptive': 'dpm_adaptive',
  ddim: 'ddim',
  plms: 'ddim',
  unipc: 'uni_pc',
  lcm: 'lcm',
};

/**
 * Renders one shot's key frame on a ComfyUI server and returns the PNG bytes. Errors are
 * scrubbed before they leave (credentials in SD_API_URL or echoed by a proxy; the URL itself
 * becomes "the ComfyUI server").
 */
export async function renderFrameComfyUI(args: RenderFrameArgs): Promise<Buffer> {
  return withScrubbedErrors(providerScrub('comfyui', args.config), () => renderFrame(args));
}

async function renderFrame(args: RenderFrameArgs): Promise<Buffer> {
  const { shot, character, params, config, signal, onProgress } = args;
  const server = config.url;
  const pollMs = config.pollIntervalMs ?? 1_000;
  const catalogue = await readCatalogue(server, signal, args.reference !== undefined);
  const reference = args.reference
    ? {
        image: await uploadReference(server, args.reference.images[0]!, signal),
        weight: args.reference.weight,
      }
    : undefined;
  const graph = buildComfyGraph(shot, character, params, catalogue, reference);

  const clientId = randomUUID();
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(RENDER_TIMEOUT_MS)]);
  // Open the socket before queueing so no event of ours can be missed.
  const socket = await openSocket(server, clientId, deadline);
  let promptId: string | undefined;
  try {
    promptId = await queuePrompt(server, graph, clientId, signal);
    const outcome = await waitForPrompt(server, promptId, socket, pollMs, deadline, onProgress);
    if (outcome.kind === 'failed') {
      throw new LabError(
        'sd_execution_failed',
        `sd_execution_failed: ComfyUI failed the render (${outcome.message}); the run will retry`,
        502,
      );
    }
    if (outcome.kind === 'interrupted') {
      throw new LabError(
        'sd_interrupted',
        'sd_interrupted: someone interrupted the render on the ComfyUI server; the run will retry',
        503,
      );
    }
    const png = await fetchOutput(server, promptId, outcome.entry, signal);
    onProgress(1);
    return png;
  } catch (error) {
    if (signal.aborted && promptId) await cancelPrompt(server, promptId);
    if (deadline.aborted && !signal.aborted) {
      throw new LabError(
        'sd_timeout',
        `sd_timeout: ComfyUI did not finish within ${RENDER_TIMEOUT_MS / 60_000} min; the run will retry`,
        503,
      );
    }
    throw error;
  } finally {
    socket?.close();
  }
}

/**
 * The API-format txt2img graph (reference C.2). With a character LoRA, LoraLoader sits
 * between the checkpoint and everything that uses MODEL or CLIP, and the trigger word leads
 * the prompt. With a reference, IPAdapterUnifiedLoader + IPAdapterAdvanced
 * (cubiq/ComfyUI_IPAdapter_plus) patch the MODEL the sampler uses with the LoadImage'd face.
 */
export function buildComfyGraph(
  shot: Shot,
  character: Character | undefined,
  params: SdRenderParams,
  catalogue: ServerCatalogue,
  reference?: ComfyReference,
): ComfyGraph {
  const checkpoint = pickCheckpoint(params.checkpoint, catalogue.checkpoints);
  const { sampler, scheduler } = mapSampler(params.sampler, catalogue);
  const lora = character?.lora ? pickLora(character.lora.name, catalogue.loras) : undefined;
  const baseModel = lora ? ['10', 0] : ['4', 0];
  const ipAdapter = reference ? catalogue.ipAdapter : undefined;
  const modelSource = ipAdapter ? ['13', 0] : baseModel;
  const clipSource = lora ? ['10', 1] : ['4', 1];
  const trigger = character?.triggerWord?.trim();
  const positive =
    trigger && !shot.prompt.includes(trigger) ? `${trigger}, ${shot.prompt}` : shot.prompt;

  const graph: ComfyGraph = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } },
    '6': { class_type: 'CLIPTextEncode', inputs: { clip: clipSource, text: positive } },
    '7': { class_type: 'CLIPTextEncode', inputs: { clip: clipSource, text: shot.negativePrompt } },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: params.width, height: params.height, batch_size: 1 },
    },
    '3': {
      class_type: 'KSampler',
      inputs: {
        model: modelSource,
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
        seed: shotSeed(params.seed, shot.index),
        steps: params.steps,
        cfg: params.cfgScale,
        sampler_name: sampler,
        scheduler,
        denoise: 1,
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    [SAVE_NODE]: {
      class_type: 'SaveImage',
      inputs: {
        images: ['8', 0],
        filename_prefix: `charlab_shot_${String(shot.index).padStart(3, '0')}`,
      },
    },
  };
  if (lora && character?.lora) {
    graph['10'] = {
      class_type: 'LoraLoader',
      inputs: {
        model: ['4', 0],
        clip: ['4', 1],
        lora_name: lora,
        strength_model: character.lora.weight,
        strength_clip: character.lora.weight,
      },
    };
  }
  if (reference && ipAdapter) {
    graph['11'] = { class_type: 'LoadImage', inputs: { image: reference.image } };
    graph['12'] = {
      class_type: 'IPAdapterUnifiedLoader',
      inputs: { model: baseModel, preset: ipAdapter.preset },
    };
    graph['13'] = {
      class_type: 'IPAdapterAdvanced',
      inputs: {
        model: ['12', 0],
        ipadapter: ['12', 1],
        image: ['11', 0],
        weight: reference.weight,
        weight_type: ipAdapter.weightType,
        combine_embeds: 'concat',
        start_at: 0,
        end_at: 1,
        embeds_scaling: 'V only',
      },
    };
  }
  return graph;
}

/**
 * Uploads the reference image as a ComfyUI input (`POST /upload/image`, multipart), named by
 * its content so the same face is stored once; returns the LoadImage value.
 */
async function uploadReference(
  server: string,
  image: Buffer,
  signal: AbortSignal,
): Promise<string> {
  const name = `charlab_ref_${createHash('sha256').update(image).digest('hex').slice(0, 16)}.png`;
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), name);
  form.append('type', 'input');
  form.append('subfolder', 'charlab');
  form.append('overwrite', 'true');
  const stored = await sdJson<{ name?: string; subfolder?: string }>(
    server,
    joinUrl(server, '/upload/image'),
    { method: 'POST', body: form, signal, timeoutMs: 60_000 },
  );
  if (!stored.name) {
    throw new LabError(
      'sd_bad_response',
      `sd_bad_response: ${redactUrl(server)} accepted the reference upload without a file name; the run will retry`,
      502,
    );
  }
  return stored.subfolder ? `${stored.subfolder}/${stored.name}` : stored.name;
}

function pickCheckpoint(wanted: string, available: string[]): string {
  if (!wanted) {
    if (available[0]) return available[0];
    throw new NonRetryableNodeError(
      'sd_no_checkpoint: the ComfyUI server has no checkpoint; put one in models/checkpoints',
      'sd_no_checkpoint',
    );
  }
  const match =
    available.find((name) => name === wanted) ??
    available.find((name) => loraStem(name) === loraStem(wanted));
  if (match) return match;
  throw new NonRetryableNodeError(
    `sd_checkpoint_not_found: the checkpoint "${wanted}" is not on the ComfyUI server` +
      (available.length ? ` (available: ${available.slice(0, 10).join(', ')})` : '') +
      "; fix the node's checkpoint param or leave it empty",
    'sd_checkpoint_not_found',
  );
}

/** ComfyUI wants the LoRA's file name (subfolder included); characters store A1111-style stems. */
function pickLora(wanted: string, available: string[]): string {
  const match =
    available.find((name) => name === wanted) ??
    available.find((name) => loraStem(name) === loraStem(wanted));
  if (match) return match;
  throw new NonRetryableNodeError(
    `sd_lora_not_found: the LoRA "${wanted}" is not on the ComfyUI server` +
      (available.length
        ? ` (installed: ${available.slice(0, 10).join(', ')})`
        : ' (no LoRAs installed)') +
      "; copy it into models/loras or fix the character's LoRA name",
    'sd_lora_not_found',
  );
}

function mapSampler(
  name: string,
  catalogue: ServerCatalogue,
): { sampler: string; scheduler: string } {
  const lower = name.trim().toLowerCase();
  const karras = /\bkarras\b/.test(lower);
  const base = lower.replace(/\s*\bkarras\b\s*/, ' ').trim();
  const sampler = SAMPLERS[base] ?? (catalogue.samplers.includes(name) ? name : undefined);
  if (!sampler || (catalogue.samplers.length > 0 && !catalogue.samplers.includes(sampler))) {
    throw new NonRetryableNodeError(
      `sd_sampler_not_found: ComfyUI has no sampler for "${name}"` +
        (catalogue.samplers.length
          ? ` (available: ${catalogue.samplers.slice(0, 12).join(', ')})`
          : '') +
        "; change the node's sampler param",
      'sd_sampler_not_found',
    );
  }
  // A1111 ≥1.9 runs the DPM++ family with Karras sigmas by default; match that look.
  const wantsKarras = karras || sampler.startsWith('dpmpp');
  const scheduler =
    wantsKarras && (catalogue.schedulers.length === 0 || catalogue.schedulers.includes('karras'))
      ? 'karras'
      : 'normal';
  return { sampler, scheduler };
}

/**
 * Reads the valid checkpoint, LoRA, sampler and scheduler names from `/object_info`, and with
 * `withIpAdapter` the IP-Adapter nodes' choices; a server without those nodes (`{}` for an
 * unknown class) fails the node with what to install, before anything is queued.
 */
async function readCatalogue(
  server: string,
  signal: AbortSignal,
  withIpAdapter: boolean,
): Promise<ServerCatalogue> {
  const info = (name: string) =>
    sdJson<Record<string, { input?: { required?: Record<string, unknown> } }>>(
      server,
      joinUrl(server, `/object_info/${name}`),
      { signal, timeoutMs: SHORT_TIMEOUT_MS },
    ).then((body) => body[name]?.input?.required);
  const [checkpoint = {}, lora = {}, sampler = {}, loader, apply] = await Promise.all([
    info('CheckpointLoaderSimple'),
    info('LoraLoader'),
    info('KSampler'),
    withIpAdapter ? info('IPAdapterUnifiedLoader') : undefined,
    withIpAdapter ? info('IPAdapterAdvanced') : undefined,
  ]);
  const catalogue: ServerCatalogue = {
    checkpoints: comboOptions(checkpoint.ckpt_name),
    loras: comboOptions(lora.lora_name),
    samplers: comboOptions(sampler.sampler_name),
    schedulers: comboOptions(sampler.scheduler),
  };
  if (!withIpAdapter) return catalogue;
  if (!loader || !apply) {
    throw new NonRetryableNodeError(
      `sd_ip_adapter_missing: the ComfyUI server at ${redactUrl(server)} has no ` +
        `${!loader ? 'IPAdapterUnifiedLoader' : 'IPAdapterAdvanced'} node; install ` +
        'cubiq/ComfyUI_IPAdapter_plus (with its models/ipadapter and CLIP-Vision files) and restart, ' +
        "or set the node's reference param to none",
      'sd_ip_adapter_missing',
    );
  }
  const presets = comboOptions(loader.preset);
  const weightTypes = comboOptions(apply.weight_type);
  catalogue.ipAdapter = {
    preset: IP_ADAPTER_PRESETS.find((preset) => presets.includes(preset)) ?? presets[0] ?? '',
    weightType: weightTypes.includes('linear') ? 'linear' : (weightTypes[0] ?? 'linear'),
  };
  return catalogue;
}

/** Combo inputs are `[[...options], {...}]` (classic) or `["COMBO", {options: [...]}]` (newer). */
function comboOptions(spec: unknown): string[] {
  if (!Array.isArray(spec)) return [];
  if (Array.isArray(spec[0])) return spec[0].filter((x): x is string => typeof x === 'string');
  const options = (spec[1] as { options?: unknown } | undefined)?.options;
  return Array.isArray(options) ? options.filter((x): x is string => typeof x === 'string') : [];
}

async function queuePrompt(
  server: string,
  graph: ComfyGraph,
  clientId: string,
  signal: AbortSignal,
): Promise<string> {
  const url = joinUrl(server, '/prompt');
  // A 400 carries node_errors; sdRequest turns them into one readable, non-retryable error.
  const response = await sdRequest(server, url, {
    method: 'POST',
    body: { prompt: graph, client_id: clientId },
    signal,
    timeoutMs: SHORT_TIMEOUT_MS,
  });
  const body = (await response.json()) as { prompt_id?: string };
  if (!body.prompt_id) {
    throw new LabError(
      'sd_bad_response',
      `sd_bad_response: ${redactUrl(server)} accepted the prompt without a prompt_id; check that SD_API_URL is a ComfyUI server`,
      502,
    );
  }
  return body.prompt_id;
}

/** Waits for the prompt to finish: over the socket when open, else by polling history. */
async function waitForPrompt(
  server: string,
  promptId: string,
  socket: WebSocket | undefined,
  pollMs: number,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<Outcome> {
  if (socket && socket.readyState === WebSocket.OPEN) {
    const outcome = await followSocket(socket, promptId, signal, onProgress);
    if (outcome && outcome.kind !== 'done') return outcome;
    // Done (history is written just after the last message) or the socket dropped: poll.
  }
  return pollHistory(server, promptId, pollMs, signal);
}

/** Resolves with the outcome from socket events, or undefined when the socket closes first. */
function followSocket(
  socket: WebSocket,
  promptId: string,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<Failure | { kind: 'done' } | undefined> {
  return new Promise((resolve, reject) => {
    const finish = (outcome: Failure | { kind: 'done' } | undefined) => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
      reject(signal.reason);
    };
    const onClose = () => finish(undefined);
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return; // preview images
      let message: { type?: string; data?: Record<string, unknown> };
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        return;
      }
      const event = message.data ?? {};
      if (event.prompt_id !== promptId) return;
      switch (message.type) {
        case 'progress': {
          const value = Number(event.value);
          const max = Number(event.max);
          if (max > 0) onProgress(Math.min(0.99, value / max));
          return;
        }
        case 'executing':
          if (event.node === null) finish({ kind: 'done' });
          return;
        case 'execution_success':
          finish({ kind: 'done' });
          return;
        case 'execution_error':
          finish({ kind: 'failed', message: describeExecutionError(event) });
          return;
        case 'execution_interrupted':
          finish({ kind: 'interrupted' });
          return;
      }
    };
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('message', onMessage);
    socket.on('close', onClose);
  });
}

async function pollHistory(
  server: string,
  promptId: string,
  pollMs: number,
  signal: AbortSignal,
): Promise<Outcome> {
  for (;;) {
    const entry = await readHistory(server, promptId, signal);
    const status = entry?.status;
    if (status?.status_str === 'error') {
      const error = status.messages?.find(([type]) => type === 'execution_error')?.[1];
      if (status.messages?.some(([type]) => type === 'execution_interrupted'))
        return { kind: 'interrupted' };
      return { kind: 'failed', message: error ? describeExecutionError(error) : 'status error' };
    }
    if (entry && (status?.completed || Object.keys(entry.outputs ?? {}).length > 0)) {
      return { kind: 'done', entry };
    }
    await sleep(pollMs, signal);
  }
}

async function readHistory(
  server: string,
  promptId: string,
  signal: AbortSignal,
): Promise<HistoryEntry | undefined> {
  const history = await sdJson<Record<string, HistoryEntry>>(
    server,
    joinUrl(server, `/history/${encodeURIComponent(promptId)}`),
    { signal, timeoutMs: SHORT_TIMEOUT_MS },
  );
  return history[promptId];
}

async function fetchOutput(
  server: string,
  promptId: string,
  entry: HistoryEntry,
  signal: AbortSignal,
): Promise<Buffer> {
  const image =
    entry.outputs?.[SAVE_NODE]?.images?.[0] ?? Object.values(entry.outputs ?? {})[0]?.images?.[0];
  if (!image) {
    throw new LabError(
      'sd_no_image',
      `sd_no_image: ComfyUI finished prompt ${promptId} without an image in /history; the run will retry`,
      502,
    );
  }
  const query = new URLSearchParams({
    filename: image.filename,
    subfolder: image.subfolder,
    type: image.type,
  });
  const response = await sdRequest(server, joinUrl(server, `/view?${query}`), {
    signal,
    timeoutMs: 60_000,
  });
  const png = Buffer.from(await response.arrayBuffer());
  if (!isPng(png)) {
    throw new LabError(
      'sd_not_png',
      `sd_not_png: ComfyUI's /view returned ${image.filename} but not as PNG bytes; the run will retry`,
      502,
    );
  }
  return png;
}

/**
 * Best effort: drop the prompt from the queue while it waits, interrupt it only while it runs.
 * ComfyUI builds before targeted interrupts (server.py `post_interrupt` without the
 * `prompt_id` branch) ignore the body and stop whatever runs — possibly another user's
 * prompt — so `/interrupt` is sent only after `GET /queue` shows ours is the running one, on
 * every build. A server whose queue cannot be read gets the dequeue only, never a blind
 * interrupt.
 */
async function cancelPrompt(server: string, promptId: string): Promise<void> {
  const quiet = { signal: new AbortController().signal, timeoutMs: 5_000 } as const;
  const where = async (): Promise<'running' | 'pending' | 'gone' | 'unknown'> => {
    try {
      const queue = await sdJson<{ queue_running?: unknown[][]; queue_pending?: unknown[][] }>(
        server,
        joinUrl(server, '/queue'),
        quiet,
      );
      // Items are [number, prompt_id, prompt, extra_data, outputs_to_execute].
      if (queue.queue_running?.some((item) => item[1] === promptId)) return 'running';
      if (queue.queue_pending?.some((item) => item[1] === promptId)) return 'pending';
      return 'gone';
    } catch {
      return 'unknown';
    }
  };
  const dequeue = () =>
    sdRequest(server, joinUrl(server, '/queue'), {
      ...quiet,
      method: 'POST',
      body: { delete: [promptId] },
    }).catch(() => undefined);
  const interrupt = () =>
    sdRequest(server, joinUrl(server, '/interrupt'), {
      ...quiet,
      method: 'POST',
      body: { prompt_id: promptId },
    }).catch(() => undefined);

  const state = await where();
  if (state === 'running') {
    await interrupt();
    return;
  }
  if (state === 'gone') return;
  await dequeue();
  // It may have started between the look and the delete, which only touches pending prompts.
  if (state === 'pending' && (await where()) === 'running') await interrupt();
}

/** Opens `/ws?clientId=`; resolves undefined (polling fallback) when the socket cannot open. */
function openSocket(
  server: string,
  clientId: string,
  signal: AbortSignal,
): Promise<WebSocket | undefined> {
  const url = new URL(joinUrl(server, `/ws?clientId=${encodeURIComponent(clientId)}`));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: 5_000 });
    const settle = (value: WebSocket | undefined) => {
      socket.off('open', onOpen);
      socket.off('error', onError);
      signal.removeEventListener('abort', onError);
      resolve(value);
    };
    const onOpen = () => settle(socket);
    const onError = () => {
      socket.terminate();
      settle(undefined);
    };
    socket.on('open', onOpen);
    socket.on('error', onError);
    // After open, errors end in 'close', which the follower handles; keep one listener so
    // an error event never crashes the worker.
    socket.on('error', () => undefined);
    signal.addEventListener('abort', onError, { once: true });
  });
}

function describeExecutionError(event: Record<string, unknown>): string {
  const node = event.node_type
    ? `${String(event.node_type)} (node ${String(event.node_id)})`
    : 'a node';
  const message = String(event.exception_message ?? 'unknown error').trim();
  return `${node}: ${message}`;
}
