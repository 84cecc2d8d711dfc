/**
 * The local key frame: an honest animatic card made by ffmpeg. A background whose colours come
 * from a hash of the prompt (with a few mood words), the character's first reference image
 * composited where the shot puts it (or a neutral silhouette), and the shot caption. Same
 * inputs, same PNG bytes.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Camera, Shot } from '../../../engine/graph/values';
import { runFfmpeg, readImageInfo, type FfmpegBinaries } from '../../../engine/media/ffmpeg';
import { ffmpegColor, filterValue } from '../../../engine/media/filter-escape';
import { findFontFile } from '../../../engine/media/fonts';

export interface LocalFrameArgs {
  shot: Shot;
  /** The character's name, shown in the shot tag; absent without a character. */
  characterName?: string;
  /** A local file holding the character's first reference image, if it has one. */
  referenceImage?: string;
  /**
   * Another take of the same shot (a regenerated shot's seed): shifts the palette, so a
   * rejected frame comes back visibly different. Absent: the shot's classic card.
   */
  variant?: number;
  width: number;
  height: number;
  workDir: string;
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
  onProgress?(fraction: number): void;
}

export interface LocalFrame {
  /** The PNG, inside `workDir`. */
  file: string;
  width: number;
  height: number;
}

type Rgb = [number, number, number];

/** Renders the frame. A reference image ffmpeg cannot decode fails with `invalid_image`. */
export async function renderLocalFrame(args: LocalFrameArgs): Promise<LocalFrame> {
  const { shot, width, height, workDir } = args;
  if (args.referenceImage) {
    await readImageInfo(args.referenceImage, "the character's reference image", args.binaries);
  }
  const font = await findFontFile(args.binaries.fontFile);
  const palette = paletteFor(
    `${shot.prompt}\n${shot.description}${args.variant !== undefined ? `\n#${args.variant}` : ''}`,
  );
  const layout = layoutFor(shot);
  const tag = [`#${shot.index + 1}`, shot.camera, args.characterName].filter(Boolean).join(' · ');

  const captionFile = join(workDir, `caption-${shot.index}.txt`);
  const tagFile = join(workDir, `tag-${shot.index}.txt`);
  const fontSize = Math.max(10, Math.round(height / 22));
  await writeFile(captionFile, wrapCaption(shot.description, width, fontSize), 'utf8');
  await writeFile(tagFile, tag, 'utf8');
  const output = join(workDir, `frame-${shot.index}.png`);

  const horizon = Math.round(height * palette.horizon);
  const background = [
    `gradients=s=${width}x${height}:c0=${ffmpegColor(palette.skyTop)}:c1=${ffmpegColor(palette.skyBottom)}` +
      `:x0=0:y0=0:x1=0:y1=${horizon}:n=2:speed=0.00001:r=1:d=1`,
    `drawbox=x=0:y=${horizon}:w=iw:h=ih-${horizon}:color=${ffmpegColor(palette.ground, 0.9)}:t=fill`,
    `drawbox=x=0:y=${horizon}:w=iw:h=${Math.max(1, Math.round(height / 120))}:color=${ffmpegColor(palette.skyBottom, 0.6)}:t=fill`,
    'vignette=angle=PI/5',
    'format=rgba',
  ].join(',');

  const subjectHeight = Math.round(height * layout.heightFraction);
  const subject = args.referenceImage
    ? // A soft oval matte, so the reference reads as a character in the scene, not a pasted card.
      `[0:v]scale=-2:${subjectHeight}:flags=lanczos,format=rgba,` +
      `geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='alpha(X,Y)*clip(2.2-2.2*hypot(X/W*2-1,Y/H*2-1.15),0,1)'[subject]`
    : `${silhouetteSource(subjectHeight)}[subject]`;
  const overlayX = `(main_w-overlay_w)*${layout.xAnchor.toFixed(3)}`;
  const overlayY = `main_h-overlay_h*${layout.visibleFraction.toFixed(3)}`;
  const text = (file: string, size: number, position: string) =>
    `drawtext=fontfile=${filterValue(font)}:textfile=${filterValue(file)}:expansion=none` +
    `:fontsize=${size}:fontcolor=white:line_spacing=${Math.round(size / 4)}` +
    `:box=1:boxcolor=black@0.55:boxborderw=${Math.round(size / 2.5)}:${position}`;
  // The caption sits at the top, under the tag: the bottom band belongs to the subtitles the
  // merge burns in, and the two would overlap there.
  const tagSize = Math.max(8, Math.round(fontSize * 0.7));
  const tagY = Math.round(height / 30);
  const captionY =
    tagY + Math.round(tagSize * 1.2) + 2 * Math.round(tagSize / 2.5) + Math.round(height / 40);
  const graph = [
    `${background}[bg]`,
    subject,
    `[bg][subject]overlay=x=${overlayX}:y=${overlayY}:format=auto,` +
      text(tagFile, tagSize, `x=${Math.round(width / 40)}:y=${tagY}`) +
      ',' +
      text(captionFile, fontSize, `x=(w-text_w)/2:y=${captionY}`) +
      ',format=rgb24[out]',
  ].join(';');

  args.onProgress?.(0.1);
  await runFfmpeg({
    binaries: args.binaries,
    what: `rendering the frame for shot ${shot.index + 1}`,
    signal: args.signal,
    build: (command) => {
      // The graph's sources draw everything else; the only file input is the reference.
      if (args.referenceImage) command.input(args.referenceImage);
      command.complexFilter(graph).output(output).outputOptions([
        '-map',
        '[out]',
        '-frames:v',
        '1',
        '-update',
        '1',
        '-c:v',
        'png',
        // No encoder tags or timestamps in the file: the same frame hashes the same.
        '-fflags',
        '+bitexact',
        '-flags:v',
        '+bitexact',
      ]);
    },
  });
  args.onProgress?.(1);
  return { file: output, width, height };
}

interface Palette {
  skyTop: Rgb;
  skyBottom: Rgb;
  ground: Rgb;
  /** Where sky meets ground, as a fraction of the height. */
  horizon: number;
}

/** Mood words pull the hue and brightness; everything else comes from the hash. */
const MOODS: readonly { pattern: RegExp; hue: number; light?: number }[] = [
  { pattern: /\b(night|dark|midnight|moon|stars?)\b/, hue: 230, light: 0.45 },
  { pattern: /\b(sunset|sunrise|dusk|dawn|golden|fire|flames?)\b/, hue: 25 },
  { pattern: /\b(forest|jungle|woods?|meadow|grass)\b/, hue: 120 },
  { pattern: /\b(ocean|sea|water|river|lake|rain)\b/, hue: 200 },
  { pattern: /\b(desert|sand|dunes?)\b/, hue: 40 },
  { pattern: /\b(snow|ice|winter|frozen)\b/, hue: 195, light: 1.25 },
];

/** Deterministic colours from the prompt's sha256. */
export function paletteFor(prompt: string): Palette {
  const hash = createHash('sha256').update(prompt).digest();
  const lower = prompt.toLowerCase();
  const mood = MOODS.find((m) => m.pattern.test(lower));
  const hue = mood ? mood.hue + (hash[0] / 255) * 24 - 12 : (hash[0] / 255) * 360;
  const light = mood?.light ?? 1;
  const saturation = 0.3 + (hash[1] / 255) * 0.35;
  return {
    skyTop: hslToRgb(hue, saturation, Math.min(0.9, (0.22 + (hash[2] / 255) * 0.15) * light)),
    skyBottom: hslToRgb(
      hue + 20 + (hash[3] / 255) * 20,
      saturation * 0.8,
      Math.min(0.92, (0.55 + (hash[4] / 255) * 0.2) * light),
    ),
    ground: hslToRgb(
      hue + 150 + (hash[5] / 255) * 60,
      saturation * 0.6,
      (0.16 + (hash[6] / 255) * 0.14) * light,
    ),
    horizon: 0.55 + (hash[7] / 255) * 0.2,
  };
}

interface Layout {
  /** Subject height as a fraction of the frame height. */
  heightFraction: number;
  /** Horizontal placement: 0 left edge … 1 right edge. */
  xAnchor: number;
  /** How much of the subject shows above the bottom edge (close-ups are cut off). */
  visibleFraction: number;
}

/**
 * Where the subject stands. Close-up words make it big and cut at the chest; wide words make it
 * small; a pan ends on the subject, so it stands on the side the camera moves towards.
 */
export function layoutFor(shot: Pick<Shot, 'camera' | 'description' | 'prompt'>): Layout {
  const words = `${shot.description} ${shot.prompt}`.toLowerCase();
  const close = /\b(close-?up|close|face|eyes|portrait)\b/.test(words) || shot.camera === 'push-in';
  const wide =
    /\b(wide|distant|distance|landscape|valley|panorama|establishing)\b/.test(words) ||
    shot.camera === 'pull-out';
  const xAnchor: Record<Camera, number> = {
    static: 0.5,
    'push-in': 0.5,
    'pull-out': 0.5,
    'pan-left': 0.32,
    'pan-right': 0.68,
    'tilt-up': 0.5,
    'tilt-down': 0.5,
  };
  if (close && !wide)
    return { heightFraction: 0.95, xAnchor: xAnchor[shot.camera], visibleFraction: 0.8 };
  if (wide && !close)
    return { heightFraction: 0.45, xAnchor: xAnchor[shot.camera], visibleFraction: 1.35 };
  return { heightFraction: 0.72, xAnchor: xAnchor[shot.camera], visibleFraction: 1.05 };
}

/** A neutral head-and-shoulders figure drawn with geq (no image needed), as a graph source. */
function silhouetteSource(height: number): string {
  const h = Math.max(16, height - (height % 2));
  const w = Math.max(8, Math.round(h * 0.5) - (Math.round(h * 0.5) % 2));
  const inside =
    `lt(hypot(X-W/2,Y-0.17*H),0.13*H)+` +
    `lt(pow((X-W/2)/(0.47*W),2)+pow((Y-0.78*H)/(0.5*H),2),1)*gt(Y,0.33*H)+` +
    `lt(abs(X-W/2),0.07*H)*between(Y,0.25*H,0.36*H)`;
  const alpha = `if(gt(${inside},0),235,0)`;
  return (
    `color=c=black:s=${w}x${h}:r=1:d=1,format=rgba,` +
    `geq=r=${filterValue('42')}:g=${filterValue('44')}:b=${filterValue('52')}:a=${filterValue(alpha)}`
  );
}

/** Wraps the caption to the frame width and at most three lines (the rest is cut with …). */
export function wrapCaption(text: string, width: number, fontSize: number): string {
  const perLine = Math.max(12, Math.floor((width * 0.9) / (fontSize * 0.56)));
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (candidate.length <= perLine || !line) line = candidate.slice(0, perLine);
    else {
      lines.push(line);
      line = word.slice(0, perLine);
    }
  }
  if (line) lines.push(line);
  if (lines.length > 3) {
    const last = lines[2];
    lines.length = 3;
    lines[2] = `${last.slice(0, Math.max(0, perLine - 1)).replace(/\s+\S*$/, '')}…`;
  }
  return lines.join('\n');
}

function hslToRgb(hue: number, s: number, l: number): Rgb {
  const h = (((hue % 360) + 360) % 360) / 360;
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const channel = (t: number) => {
    const x = ((t % 1) + 1) % 1;
    if (x < 1 / 6) return p + (q - p) * 6 * x;
    if (x < 1 / 2) return q;
    if (x < 2 / 3) return p + (q - p) * (2 / 3 - x) * 6;
    return p;
  };
  return [channel(h + 1 / 3) * 255, channel(h) * 255, channel(h - 1 / 3) * 255];
}
