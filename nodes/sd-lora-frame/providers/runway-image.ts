/**
 * Key frames from Runway's Gen-4 image model (`POST /v1/text_to_image`, model `gen4_image`)
 * with the character's reference images: Runway's strongest identity tool. Up to three
 * references go with the request as data URIs (the server never hands out URLs to user data),
 * each tagged, and the prompt names them as `@tag`. The paid task lifecycle (resume, never
 * pay twice, cancel, download at once) is the clip provider's (runway-clip/providers/runway-api.ts).
 *
 * Follows @runwayml/sdk 4.20.1 `resources/text-to-image.d.ts` (`TextToImageCreateParams.Gen4Image`:
 * promptText ≤ 1000 UTF-16 code units, 16 ratios, `referenceImages` up to three `{ uri, tag? }`,
 * tags 3–16 characters starting with a letter, letters/digits/underscores) and
 * docs.dev.runwayml.com `/assets/inputs` (data URIs under 5 MB).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Character, Shot } from '../../../engine/graph/values';
import { readImageInfo, runFfmpeg } from '../../../engine/media/ffmpeg';
import type { NodeContext } from '../../../engine/worker/node-api';
import { RUNWAY_PROMPT_LIMIT, truncateUtf16 } from '../../runway-clip/models';
import {
  MAX_DATA_URI_BYTES,
  imageDataUri,
  runRunwayTask,
  type RunwayConfig,
  type RunwayTaskArgs,
} from '../../runway-clip/providers/runway-api';

/** The gen4_image output sizes (TextToImageCreateParams.Gen4Image.ratio). */
export const GEN4_IMAGE_RATIOS = [
  '1024:1024',
  '1080:1080',
  '1168:880',
  '1360:768',
  '1440:1080',
  '1080:1440',
  '1808:768',
  '1920:1080',
  '1080:1920',
  '2112:912',
  '1280:720',
  '720:1280',
  '720:720',
  '960:720',
  '720:960',
  '1680:720',
] as const;

/** Runway takes at most three reference images per request. */
export const MAX_REFERENCE_IMAGES = 3;

export interface RunwayFrameArgs extends RunwayTaskArgs {
  shot: Shot;
  character?: Pick<Character, 'name'>;
  /** The character's reference images (bytes and MIME type); the first three are sent. */
  references: { bytes: Buffer; mime: string }[];
  params: { width: number; height: number; seed: number };
}

/** The rendered frame and its MIME type (Runway picks the image format). */
export interface RunwayFrame {
  bytes: Buffer;
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
}

/** Renders one key frame on Runway and returns its bytes. */
export async function renderFrameRunway(args: RunwayFrameArgs): Promise<RunwayFrame> {
  const bytes = await runRunwayTask({
    ...args,
    path: '/v1/text_to_image',
    body: buildImageRequest(args),
    output: { what: 'a PNG, JPEG or WebP image', isValid: (b) => imageMime(b) !== undefined },
  });
  return { bytes, mime: imageMime(bytes)! };
}

/** The text_to_image body: the shot prompt naming the tagged references, the closest ratio, the seed. */
export function buildImageRequest(
  args: Pick<RunwayFrameArgs, 'shot' | 'character' | 'references' | 'params'>,
) {
  const { shot, character, references, params } = args;
  const sent = references.slice(0, MAX_REFERENCE_IMAGES);
  const tags = referenceTags(character?.name ?? 'character', sent.length);
  const referenceImages = sent.map((image, i) => ({
    uri: imageDataUri(
      image.bytes,
      image.mime,
      `reference image ${i + 1} of ${character?.name ?? 'the character'}`,
    ),
    tag: tags[i],
  }));
  // The tags lead the prompt, so a long prompt is cut at its end and the references stay named.
  const lead =
    tags.length === 0
      ? ''
      : tags.length === 1
        ? `@${tags[0]}: `
        : `@${tags[0]} (also @${tags.slice(1).join(', @')}): `;
  return {
    model: 'gen4_image' as const,
    promptText: truncateUtf16(`${lead}${shot.prompt.trim()}`, RUNWAY_PROMPT_LIMIT),
    ratio: closestRatio(params.width, params.height),
    ...(referenceImages.length > 0 ? { referenceImages } : {}),
    seed: params.seed,
  };
}

/**
 * Tags for the character's references: its name made into a valid tag (3–16 characters,
 * starting with a letter; letters, digits, underscores), numbered from the second on.
 */
export function referenceTags(name: string, count: number): string[] {
  let base = name.normalize('NFKD').replace(/[^A-Za-z0-9_]/g, '');
  if (!/^[A-Za-z]/.test(base)) base = `c${base}`;
  base = base.slice(0, 13);
  if (base.length < 3) base = 'character';
  return Array.from({ length: count }, (_, i) => (i === 0 ? base : `${base}_${i + 1}`));
}

/** The gen4_image ratio closest in shape to width × height, then closest in size (cheaper 720p wins ties). */
export function closestRatio(width: number, height: number): (typeof GEN4_IMAGE_RATIOS)[number] {
  const want = Math.log(width / height);
  const area = width * height;
  const score = (ratio: string) => {
    const [w, h] = ratio.split(':').map(Number);
    return { shape: Math.abs(Math.log(w / h) - want), size: Math.abs(w * h - area) };
  };
  return [...GEN4_IMAGE_RATIOS].sort((a, b) => {
    const [x, y] = [score(a), score(b)];
    return Math.abs(x.shape - y.shape) > 0.01 ? x.shape - y.shape : x.size - y.size;
  })[0];
}

function imageMime(bytes: Buffer): RunwayFrame['mime'] | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_MAGIC)) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'image/jpeg';
  if (
    bytes.length >= 12 &&
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  return undefined;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The activity's Runway branch: reads the character's references from the artifact store,
 * renders, and stores the frame. Each gate attempt is its own paid task, keyed by attempt and
 * seed so a retry resumes the same task; the node's heartbeat checkpoint belongs to the gate,
 * so the task is resumed from its external-task record alone (written right after submit).
 */
export async function runwayFrame(
  ctx: NodeContext,
  config: RunwayConfig,
  args: {
    shot: Shot;
    character?: Character;
    params: { width: number; height: number };
    seed: number;
    attempt: number;
    label: string;
  },
) {
  const { shot, character, seed, attempt, label } = args;
  ctx.progress(0, `${label}: submitting to Runway`);
  const refs = (character?.referenceImages ?? []).slice(0, MAX_REFERENCE_IMAGES);
  const references = await Promise.all(
    refs.map(async (ref, i) =>
      fitForDataUri(ctx, { bytes: await ctx.artifacts.read(ref), mime: ref.mime }, i),
    ),
  );
  const frame = await renderFrameRunway({
    shot,
    ...(character ? { character } : {}),
    references,
    params: { width: args.params.width, height: args.params.height, seed },
    config,
    signal: ctx.signal,
    onProgress: (fraction) => ctx.progress(fraction * 0.95, `${label}: generating`),
    checkpoint: undefined,
    saveCheckpoint: () => undefined,
    externalTasks: ctx.externalTasks,
    taskKey: `${ctx.runId}:${ctx.nodeId}:${ctx.index ?? 0}:frame-${attempt}-${seed}`,
  });
  // Runway's bytes are checked (and measured) before they become an artifact.
  const file = join(ctx.workDir, `runway-frame-${shot.index}-${attempt}.${frame.mime.slice(6)}`);
  await writeFile(file, frame.bytes);
  const { width, height } = await readImageInfo(file, 'the image Runway returned', ctx.media);
  const stored = await ctx.artifacts.putBytes(frame.bytes, frame.mime, { width, height });
  ctx.progress(1, `${label}: rendered`);
  return { frame: stored, bytes: frame.bytes };
}

/** Longest side of a reference re-encoded to fit Runway's data-URI limit. */
const FITTED_SIDE = 2048;

/**
 * A reference image Runway can take as a data URI: as stored when it fits (PNG, JPEG or WebP
 * under 5 MB encoded, /assets/inputs), else re-encoded by ffmpeg as a JPEG of at most
 * 2048 px a side, which is far under the limit. Character uploads may be up to 20 MB.
 */
async function fitForDataUri(
  ctx: NodeContext,
  image: { bytes: Buffer; mime: string },
  index: number,
): Promise<{ bytes: Buffer; mime: string }> {
  const encodedBytes = `data:${image.mime};base64,`.length + Math.ceil(image.bytes.length / 3) * 4;
  const accepted = ['image/png', 'image/jpeg', 'image/webp'].includes(image.mime.toLowerCase());
  if (accepted && encodedBytes < MAX_DATA_URI_BYTES) return image;
  const source = join(ctx.workDir, `runway-reference-${index}`);
  const target = join(ctx.workDir, `runway-reference-${index}.jpg`);
  await writeFile(source, image.bytes);
  await runFfmpeg({
    build: (command) =>
      command
        .input(source)
        .output(target)
        .outputOptions([
          '-vf',
          `scale=${FITTED_SIDE}:${FITTED_SIDE}:force_original_aspect_ratio=decrease`,
          '-frames:v',
          '1',
          '-q:v',
          '3',
          '-y',
        ]),
    signal: ctx.signal,
    binaries: ctx.media,
    what: `fitting reference image ${index + 1} under Runway's 5 MB limit`,
  });
  return { bytes: await readFile(target), mime: 'image/jpeg' };
}
