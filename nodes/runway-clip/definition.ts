import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';
import { RUNWAY_VIDEO_MODEL_IDS, RUNWAY_VIDEO_RATIOS, checkRunwayClip } from './models';

/** One video clip per frame, animated by Runway image-to-video (or ffmpeg camera moves locally). */
export const runwayClip = defineNode({
  type: 'runway-clip',
  version: 1,
  title: 'Clips (Runway)',
  category: 'Video',
  color: '#a78bfa',
  description: 'Animates each frame into a clip, using the shot prompt and camera move.',
  inputs: {
    frames: { type: 'image[]', label: 'Frames' },
    storyboard: { type: 'storyboard', label: 'Storyboard' },
  },
  outputs: { clips: { type: 'video[]', label: 'Clips' } },
  params: z.object({
    provider: z.enum(['auto', 'runway', 'local']).default('auto'),
    model: z.enum(RUNWAY_VIDEO_MODEL_IDS).default('gen4_turbo'),
    ratio: z.enum(RUNWAY_VIDEO_RATIOS).default('1280:720'),
    // Seconds per clip; absent follows each shot's length, fitted to the model. Optional rather
    // than defaulted so existing graphs keep their cache keys (a new default would re-pay Runway).
    duration: z.number().int().min(1).max(60).optional(),
    fps: z.number().int().min(12).max(60).default(24),
    seed: z.number().int().min(0).max(4_294_967_295).default(7),
  }),
  paramUi: {
    provider: {
      widget: 'select',
      help: 'auto uses Runway when RUNWAY_API_KEY is set, else ffmpeg camera moves',
    },
    model: {
      widget: 'select',
      help: 'Runway image-to-video model; ratio and duration must suit it',
    },
    ratio: {
      widget: 'select',
      help: 'Veo takes 1280:720, 720:1280, 1080:1920, 1920:1080; Gen-4 others',
    },
    duration: {
      help: "empty follows each shot's length (fitted to the model); else seconds per clip",
    },
    fps: { label: 'Frames per second (local)' },
    seed: { widget: 'seed' },
  },
  runsOn: 'lab-io',
  providers: ['runway'],
  fanOut: { input: 'frames', zip: [{ input: 'storyboard', path: 'shots' }] },
  // The per-model capability table (models.ts): impossible combinations fail validation.
  check: checkRunwayClip,
  // Activities heartbeat every second (engine/worker/node-activities.ts), so 10 s is ten missed
  // beats, and a crashed worker's item is retried elsewhere within ~10 s instead of 30.
  execution: { startToCloseSec: 1800, heartbeatSec: 10, maxParallel: 2 },
});
