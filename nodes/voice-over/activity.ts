/**
 * Speaks the storyboard as one narration track timed to the shots (see narration.ts for the
 * timing rule): each shot's line with OpenAI text-to-speech or espeak-ng, then one ffmpeg pass
 * that lays the lines out, fitted to their shots, as AAC in an .m4a.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { LabError } from '../../engine/errors';
import { probe } from '../../engine/media/ffmpeg';
import type { NodeActivity, NodeContext } from '../../engine/worker/node-api';
import { artifactRefSchema, type ArtifactRef } from '../../engine/graph/values';
import { requireStoryboard } from '../activity-inputs';
import type { voiceOver } from './definition';
import {
  fitSpeech,
  renderNarration,
  spokenText,
  wavDurationSec,
  type NarrationSegment,
} from './narration';
import { speakLocal } from './providers/local';
import { speakOpenAI } from './providers/openai';

type Params = z.infer<typeof voiceOver.params>;

/** The narration's media type: AAC in MP4, which uploads, previews and ffmpeg-merge accept. */
export const NARRATION_MIME = 'audio/mp4';

/**
 * Lines already paid for, by shot position, saved as a checkpoint after each OpenAI line so a
 * retry after a failure on shot 5 does not buy shots 1–4 again. `key` ties a line to the
 * words and settings it was spoken with.
 */
interface SpeechCheckpoint {
  lines: Record<string, { key: string; ref: ArtifactRef }>;
}

/** Outputs `{ audio: ArtifactRef }`: one `audio/mp4` track as long as all the shots together. */
export const activity: NodeActivity<Params> = async ({ params, inputs, ctx }) => {
  const { shots } = requireStoryboard(inputs.storyboard);
  const total = shots.reduce((sum, shot) => sum + shot.durationSec, 0);
  const via = ctx.provider.name === 'openai' ? `OpenAI ${params.model}` : 'espeak-ng';
  ctx.progress(0, `speaking ${shots.length} shots with ${via}`);

  const saved = readCheckpoint(ctx.checkpoint);
  const segments: NarrationSegment[] = [];
  let spoken = 0;
  for (const [i, shot] of shots.entries()) {
    ctx.signal.throwIfAborted();
    const label = `shot ${i + 1}/${shots.length}`;
    const text = spokenText(shot, params.text);
    if (!text) {
      segments.push({ durationSec: shot.durationSec });
      ctx.progress((0.85 * (i + 1)) / shots.length, `${label}: silent`);
      continue;
    }
    const file = await speakLine({ text, position: i, params, ctx, saved });
    const durationSec = await speechDuration(file, label, ctx);
    segments.push({ durationSec: shot.durationSec, speech: { file, durationSec } });
    spoken++;
    const fit = fitSpeech(durationSec, shot.durationSec);
    const note = fit.cut
      ? `: sped up ${fit.tempo.toFixed(2)}x and cut to ${shot.durationSec} s`
      : fit.tempo > 1
        ? `: sped up ${fit.tempo.toFixed(2)}x to fit`
        : ': spoken';
    ctx.progress((0.85 * (i + 1)) / shots.length, `${label}${note}`);
  }
  if (spoken === 0) {
    ctx.log(`voice-over: no shot has ${params.text} text, so the narration is silence`);
  }

  const output = join(ctx.workDir, 'narration.m4a');
  await renderNarration({
    segments,
    output,
    binaries: ctx.media,
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(0.85 + fraction * 0.13, 'laying out the narration'),
  });
  const info = await probe(output, ctx.media);
  const audio = await ctx.artifacts.putFile(output, NARRATION_MIME, {
    durationSec: info.durationSec ?? total,
    probe: info,
  });
  ctx.progress(1, `${spoken} of ${shots.length} shots spoken`);
  return { audio };
};

/** Speaks one shot's line into a WAV in the work dir, reusing a line an earlier attempt bought. */
async function speakLine(args: {
  text: string;
  /** The shot's position in the storyboard. */
  position: number;
  params: Params;
  ctx: NodeContext;
  saved: SpeechCheckpoint;
}): Promise<string> {
  const { text, position, params, ctx, saved } = args;
  const output = join(ctx.workDir, `shot-${position}.wav`);
  const settings = { text, voice: params.voice, speed: params.speed, language: params.language };
  const { provider } = ctx;
  if (provider.name !== 'openai') {
    await speakLocal({ ...settings, output, signal: ctx.signal });
    return output;
  }

  const key = hashOf({ ...settings, model: params.model });
  const earlier = saved.lines[String(position)];
  if (earlier?.key === key) {
    const file = await ctx.artifacts.toLocalFile(earlier.ref).catch(() => undefined);
    if (file) return file;
  }
  await speakOpenAI({
    ...settings,
    model: params.model,
    output,
    config: provider.config,
    signal: ctx.signal,
  });
  const ref = await ctx.artifacts.putFile(output, 'audio/wav');
  saved.lines[String(position)] = { key, ref };
  ctx.saveCheckpoint({ lines: { ...saved.lines } } satisfies SpeechCheckpoint);
  return output;
}

/** A line's length from its WAV header (ffprobe only when the header cannot tell). */
async function speechDuration(file: string, label: string, ctx: NodeContext): Promise<number> {
  const fromHeader = wavDurationSec(await readFile(file));
  if (fromHeader !== undefined && fromHeader > 0) return fromHeader;
  const info = await probe(file, ctx.media);
  if (!info.hasAudio || !info.durationSec) {
    throw new LabError(
      'voice_no_audio',
      `voice_no_audio: the speech for ${label} has no sound; the run will retry`,
      502,
    );
  }
  return info.durationSec;
}

function readCheckpoint(value: unknown): SpeechCheckpoint {
  const lines: SpeechCheckpoint['lines'] = {};
  const raw = (value as { lines?: unknown } | null | undefined)?.lines;
  if (raw && typeof raw === 'object') {
    for (const [index, entry] of Object.entries(raw as Record<string, unknown>)) {
      const key = (entry as { key?: unknown } | null)?.key;
      const ref = artifactRefSchema.safeParse((entry as { ref?: unknown } | null)?.ref);
      if (typeof key === 'string' && ref.success) lines[index] = { key, ref: ref.data };
    }
  }
  return { lines };
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
