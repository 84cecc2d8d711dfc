import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

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
    model: z.string().min(1).max(60).default('gen4_turbo'),
    ratio: z
      .enum(['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'])
      .default('1280:720'),
    fps: z.number().int().min(12).max(60).default(24),
    seed: z.number().int().min(0).max(4_294_967_295).default(7),
  }),
  paramUi: {
    provider: {
      widget: 'select',
      help: 'auto uses Runway when RUNWAY_API_KEY is set, else ffmpeg camera moves',
    },
    model: { advanced: true },
    fps: { label: 'Frames per second (local)' },
    seed: { widget: 'seed' },
  },
  runsOn: 'lab-io',
  providers: ['runway'],
  fanOut: { input: 'frames', zip: [{ input: 'storyboard', path: 'shots' }] },
  execution: { startToCloseSec: 1800, heartbeatSec: 30, maxParallel: 2 },
});
