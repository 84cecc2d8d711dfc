/**
 * Real faces for tests: single-face PNG crops of distinct people from the sample photos that ship
 * inside @vladmandic/face-api (demo/sample1.jpg … sample6.jpg, group photos), plus variants of one
 * face (mirrored, cropped tighter, re-lit, rescaled) and the whole group photo (several faces).
 *
 * Finding the faces needs the real detector (seconds of tfjs wasm), so the crop boxes are cached
 * in a temp dir keyed by the samples' content and this file's crop recipe: the first test file to
 * ask pays, every other test file and process reads the boxes and only runs ffmpeg. Test-only code.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { detectFaces, faceDistance, FACE_MATCH_THRESHOLD } from '../face-embedder';

const run = promisify(execFile);

/** Bump when the crop recipe changes, so stale cached boxes are never reused. */
const RECIPE = 'sample-faces-v1';
/** Context kept around a detected box, as a share of its size on each side. */
const MARGIN = 0.6;
/** Faces narrower than this (analysed pixels) are too small to crop into a clean reference. */
const MIN_FACE_WIDTH = 60;
const SAMPLE_FILES = [1, 2, 3, 4, 5, 6].map((n) => `sample${n}.jpg`);

export const SAMPLE_DEMO_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
);

/** One person: a stable name (`sample1-face0`) and a PNG crop showing only their face. */
export interface SamplePerson {
  person: string;
  face: Buffer;
}

/** A crop in fractions of the source image, so it holds whatever size ffmpeg decodes. */
interface CropBox {
  person: string;
  file: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export type FaceVariantKind = 'flip' | 'crop' | 'brightness' | 'scale';

/** The ffmpeg filters of each variant, applied after the person's crop. */
const VARIANT_FILTERS: Record<FaceVariantKind, string> = {
  flip: 'hflip',
  // The middle 80 %: less hair and background, the same face.
  crop: 'crop=iw*0.8:ih*0.8:iw*0.1:ih*0.1',
  brightness: 'eq=brightness=0.08:contrast=1.15',
  scale: 'scale=iw*0.6:-2',
};

let boxes: Promise<CropBox[]> | undefined;

function ffmpeg(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

/** The crop boxes of every distinct person in the samples, from the disk cache or the detector. */
function sampleBoxes(): Promise<CropBox[]> {
  boxes ??= (async () => {
    const hash = createHash('sha256').update(RECIPE);
    const contents = await Promise.all(SAMPLE_FILES.map((f) => readFile(join(SAMPLE_DEMO_DIR, f))));
    for (const bytes of contents) hash.update(bytes);
    const dir = join(tmpdir(), 'charlab-sample-faces');
    const file = join(dir, `${hash.digest('hex').slice(0, 24)}.json`);
    try {
      return JSON.parse(await readFile(file, 'utf8')) as CropBox[];
    } catch {
      // Not cached yet (or a torn file from a killed run): detect again.
    }
    const found = await detectPeople(contents);
    await mkdir(dir, { recursive: true });
    // Written then renamed: a parallel test process never reads half a file.
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, JSON.stringify(found));
    await rename(partial, file);
    return found;
  })();
  return boxes;
}

/**
 * Every clearly visible face in the samples, keeping one per person: the samples can show the
 * same person twice, so a face within FACE_MATCH_THRESHOLD of one already kept is dropped.
 */
async function detectPeople(contents: Buffer[]): Promise<CropBox[]> {
  const kept: { box: CropBox; descriptor: Float32Array }[] = [];
  for (const [i, bytes] of contents.entries()) {
    const detections = await detectFaces(bytes);
    for (const [j, face] of detections.faces.entries()) {
      if (face.score < 0.8 || face.box.width < MIN_FACE_WIDTH) continue;
      if (kept.some((k) => faceDistance(k.descriptor, face.descriptor) < FACE_MATCH_THRESHOLD))
        continue;
      const { x, y, width, height } = face.box;
      const left = Math.max(0, x - width * MARGIN);
      const top = Math.max(0, y - height * MARGIN);
      const right = Math.min(detections.width, x + width * (1 + MARGIN));
      const bottom = Math.min(detections.height, y + height * (1 + MARGIN));
      kept.push({
        descriptor: face.descriptor,
        box: {
          person: `sample${i + 1}-face${j}`,
          file: SAMPLE_FILES[i],
          x: left / detections.width,
          y: top / detections.height,
          w: (right - left) / detections.width,
          h: (bottom - top) / detections.height,
        },
      });
    }
  }
  return kept.map((k) => k.box);
}

async function crop(box: CropBox, filters = ''): Promise<Buffer> {
  const f = (n: number) => n.toFixed(5);
  const filter = [`crop=iw*${f(box.w)}:ih*${f(box.h)}:iw*${f(box.x)}:ih*${f(box.y)}`, filters]
    .filter(Boolean)
    .join(',');
  return ffmpegPng(['-i', join(SAMPLE_DEMO_DIR, box.file), '-vf', filter]);
}

/** Runs ffmpeg with `inputArgs` and returns its first frame as PNG bytes. */
async function ffmpegPng(inputArgs: string[]): Promise<Buffer> {
  const { stdout } = await run(
    ffmpeg(),
    ['-v', 'error', ...inputArgs, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** `count` different people, each a PNG crop showing one face; throws if the samples hold fewer. */
export async function samplePeople(count: number): Promise<SamplePerson[]> {
  const all = await sampleBoxes();
  if (count > all.length) {
    throw new Error(`the face-api samples show ${all.length} distinct people, not ${count}`);
  }
  return Promise.all(
    all.slice(0, count).map(async (box) => ({ person: box.person, face: await crop(box) })),
  );
}

/** The same person's face changed by `kind` (PNG): what a calibrated threshold must still pass. */
export async function faceVariant(person: string, kind: FaceVariantKind): Promise<Buffer> {
  const box = (await sampleBoxes()).find((b) => b.person === person);
  if (!box) throw new Error(`no sample person "${person}"`);
  return crop(box, VARIANT_FILTERS[kind]);
}

export const FACE_VARIANTS = Object.keys(VARIANT_FILTERS) as FaceVariantKind[];

/**
 * `main`'s face crop with `bystander`'s face pasted small (a `fraction` of its width) into the
 * top-left corner: a portrait with a face in the background (PNG).
 */
export async function faceWithBystander(
  main: SamplePerson,
  bystander: SamplePerson,
  fraction = 0.25,
): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'charlab-bystander-'));
  try {
    const [a, b] = [join(dir, 'main.png'), join(dir, 'bystander.png')];
    await Promise.all([writeFile(a, main.face), writeFile(b, bystander.face)]);
    const graph = `[1:v][0:v]scale2ref=w=main_w*${fraction}:h=ow/mdar[b][a];[a][b]overlay=0:0`;
    return await ffmpegPng(['-i', a, '-i', b, '-filter_complex', graph]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A photo with several faces (the group photo demo/sample1.jpg, three people). */
export function groupPhoto(): Promise<Buffer> {
  return readFile(join(SAMPLE_DEMO_DIR, 'sample1.jpg'));
}
