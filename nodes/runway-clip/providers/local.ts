/**
 * The local clip: a still frame animated with a camera move by ffmpeg's zoompan (push-in,
 * pull-out, pans, tilts, static), H.264 yuv420p, exactly round(duration × fps) frames.
 */
import { join } from 'node:path';
import type { Camera, Shot } from '../../../engine/graph/values';
import { runFfmpeg, type FfmpegBinaries } from '../../../engine/media/ffmpeg';
import { filterValue } from '../../../engine/media/filter-escape';

export interface LocalClipArgs {
  /** A local image file (the key frame). */
  frame: string;
  /** The frame's size; the clip has the same size, rounded down to even numbers for yuv420p. */
  frameWidth: number;
  frameHeight: number;
  shot: Pick<Shot, 'index' | 'camera' | 'durationSec'>;
  fps: number;
  workDir: string;
  binaries: FfmpegBinaries;
  signal?: AbortSignal;
  onProgress?(fraction: number): void;
  /** x264 quality; the merge re-encodes anyway, so the default favours speed. */
  crf?: number;
}

export interface LocalClip {
  file: string;
  width: number;
  height: number;
  durationSec: number;
  frames: number;
}

/** How far a move zooms or travels: enough to read as motion, little enough to keep the subject. */
const ZOOM = 0.22;

/** Renders the clip into `workDir`. */
export async function renderLocalClip(args: LocalClipArgs): Promise<LocalClip> {
  const width = even(args.frameWidth);
  const height = even(args.frameHeight);
  const frames = Math.max(1, Math.round(args.shot.durationSec * args.fps));
  const output = join(args.workDir, `clip-${args.shot.index}.mp4`);
  // zoompan crops at whole pixels; working on an upscaled copy makes the steps sub-pixel in
  // the output, so slow moves glide instead of jittering.
  const upscale = Math.max(1, Math.min(4, Math.floor(4096 / Math.max(width, height))));
  const motion = cameraExpressions(args.shot.camera, frames);
  const graph =
    `[0:v]scale=${width * upscale}:${height * upscale}:flags=lanczos,setsar=1,` +
    `zoompan=z=${filterValue(motion.zoom)}:x=${filterValue(motion.x)}:y=${filterValue(motion.y)}` +
    `:d=${frames}:s=${width}x${height}:fps=${args.fps},format=yuv420p[v]`;

  await runFfmpeg({
    binaries: args.binaries,
    what: `animating shot ${args.shot.index + 1}`,
    signal: args.signal,
    expectedDurationSec: frames / args.fps,
    onProgress: args.onProgress,
    build: (command) =>
      command
        .input(args.frame)
        .complexFilter(graph)
        .output(output)
        .outputOptions([
          '-map',
          '[v]',
          '-frames:v',
          String(frames),
          '-r',
          String(args.fps),
          '-c:v',
          'libx264',
          '-preset',
          'veryfast',
          '-crf',
          String(args.crf ?? 18),
          '-pix_fmt',
          'yuv420p',
          '-movflags',
          '+faststart',
        ]),
  });
  return { file: output, width, height, durationSec: frames / args.fps, frames };
}

interface Motion {
  zoom: string;
  x: string;
  y: string;
}

/**
 * zoompan expressions for a move over `frames` frames. `on` is the output frame number; `p`
 * below is the eased progress 0..1 (smoothstep), so moves start and stop gently.
 */
export function cameraExpressions(camera: Camera, frames: number): Motion {
  const t = `(on/${Math.max(1, frames - 1)})`;
  const p = `(${t}*${t}*(3-2*${t}))`;
  const centreX = 'iw/2-(iw/zoom/2)';
  const centreY = 'ih/2-(ih/zoom/2)';
  const travelX = '(iw-iw/zoom)';
  const travelY = '(ih-ih/zoom)';
  const held = String(1 + ZOOM);
  switch (camera) {
    case 'push-in':
      return { zoom: `1+${ZOOM}*${p}`, x: centreX, y: centreY };
    case 'pull-out':
      return { zoom: `${held}-${ZOOM}*${p}`, x: centreX, y: centreY };
    case 'pan-left':
      return { zoom: held, x: `${travelX}*(1-${p})`, y: centreY };
    case 'pan-right':
      return { zoom: held, x: `${travelX}*${p}`, y: centreY };
    case 'tilt-up':
      return { zoom: held, x: centreX, y: `${travelY}*(1-${p})` };
    case 'tilt-down':
      return { zoom: held, x: centreX, y: `${travelY}*${p}` };
    case 'static':
      return { zoom: '1', x: '0', y: '0' };
  }
}

function even(n: number): number {
  const rounded = Math.floor(n);
  return Math.max(2, rounded - (rounded % 2));
}
