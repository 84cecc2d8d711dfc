import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** One key frame per storyboard shot, from Stable Diffusion with the character's LoRA. */
export const sdLoraFrame = defineNode({
  type: 'sd-lora-frame',
  version: 1,
  title: 'Frames (SD + LoRA)',
  category: 'Images',
  color: '#34d399',
  description:
    'Renders one key frame per shot; the character LoRA and trigger word keep faces consistent.',
  inputs: {
    storyboard: { type: 'storyboard', label: 'Storyboard' },
    character: { type: 'character', label: 'Character', optional: true },
  },
  outputs: { frames: { type: 'image[]', label: 'Frames' } },
  params: z.object({
    provider: z.enum(['auto', 'a1111', 'comfyui', 'local']).default('auto'),
    width: z.number().int().min(64).max(2048).multipleOf(8).default(768),
    height: z.number().int().min(64).max(2048).multipleOf(8).default(432),
    steps: z.number().int().min(1).max(150).default(28),
    cfgScale: z.number().min(1).max(30).default(6.5),
    sampler: z.string().min(1).max(60).default('DPM++ 2M'),
    seed: z.number().int().min(0).max(4_294_967_295).default(42),
    checkpoint: z.string().max(200).default(''),
  }),
  paramUi: {
    provider: { widget: 'select', help: 'auto uses SD_API_URL when set, else the local animatic' },
    seed: { widget: 'seed' },
    steps: { advanced: true },
    cfgScale: { advanced: true, label: 'CFG scale' },
    sampler: { advanced: true },
    checkpoint: { advanced: true, help: "empty keeps the server's current model" },
  },
  runsOn: 'lab-gpu',
  providers: ['a1111', 'comfyui'],
  fanOut: { input: 'storyboard', path: 'shots' },
  execution: { startToCloseSec: 900, heartbeatSec: 10, maxParallel: 2 },
});
