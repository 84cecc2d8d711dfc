/**
 * Key frames from an AUTOMATIC1111-compatible server (A1111, Forge, SD.Next) over
 * `/sdapi/v1`: the character's LoRA goes into the prompt as `<lora:name:weight>` with its
 * trigger word; progress comes from polling `/sdapi/v1/progress` on a second connection.
 */
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

export type { SdRenderParams, SdServerConfig } from './sd-http';

export interface RenderFrameArgs {
  shot: Shot;
  character?: Character;
  params: SdRenderParams;
  config: SdServerConfig;
  signal: AbortSignal;
  /** Sampling progress 0..1. */
  onProgress(fraction: number): void;
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
  state?: { job_count?: number; interrupted?: boolean };
}

interface LoraEntry {
  name?: string;
  alias?: string;
}

/** txt2img blocks until the image is done: tens of seconds, minutes on a busy GPU. */
const TXT2IMG_TIMEOUT_MS = 15 * 60_000;
const SHORT_TIMEOUT_MS = 15_000;

/** Renders one shot's key frame and returns the PNG bytes. */
export async function renderFrameA1111(args: RenderFrameArgs): Promise<Buffer> {
  return (await txt2imgA1111(args)).png;
}

/** Renders one shot's key frame; also returns what the server reports about it. */
export async function txt2imgA1111(args: RenderFrameArgs): Promise<A1111Result> {
  const { shot, character, params, config, signal, onProgress } = args;
  const server = config.url;
  const url = (path: string) => joinUrl(server, path);
  if (character?.lora) await assertLoraInstalled(server, character.lora.name, signal);

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
    ...(params.checkpoint
      ? {
          override_settings: { sd_model_checkpoint: params.checkpoint },
          override_settings_restore_afterwards: true,
        }
      : {}),
  };

  const polling = new AbortController();
  const poller = pollProgress(server, config.pollIntervalMs ?? 1_000, polling.signal, onProgress);
  let result: Txt2ImgResponse;
  try {
    result = await sdJson<Txt2ImgResponse>(server, url('/sdapi/v1/txt2img'), {
      method: 'POST',
      body,
      signal,
      timeoutMs: TXT2IMG_TIMEOUT_MS,
    });
  } catch (error) {
    if (signal.aborted) await interrupt(server);
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
 * A1111 silently ignores an unknown `<lora:…>` tag and renders without the character, so a
 * missing LoRA is checked up front and fails the node with the names that do exist.
 */
async function assertLoraInstalled(
  server: string,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  const loras = await sdJson<LoraEntry[]>(server, joinUrl(server, '/sdapi/v1/loras'), {
    signal,
    timeoutMs: SHORT_TIMEOUT_MS,
  });
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

/**
 * Polls the server's (global) progress until `signal` aborts. Polling errors are ignored:
 * progress is cosmetic and the txt2img request reports real failures.
 */
async function pollProgress(
  server: string,
  intervalMs: number,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<void> {
  let best = 0;
  while (!signal.aborted) {
    try {
      await sleep(intervalMs, signal);
      const state = await sdJson<ProgressResponse>(
        server,
        joinUrl(server, '/sdapi/v1/progress?skip_current_image=true'),
        { signal, timeoutMs: SHORT_TIMEOUT_MS },
      );
      const fraction = state.progress ?? 0;
      // Idle (job_count 0) reports 0; never let the bar run backwards.
      if ((state.state?.job_count ?? 0) > 0 && fraction > best && fraction < 1) {
        best = fraction;
        onProgress(fraction);
      }
    } catch {
      if (signal.aborted) return;
    }
  }
}

/** Tells the server to stop the current generation; best effort, the caller is leaving anyway. */
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
