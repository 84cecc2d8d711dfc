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
  // Each item also returns `consistency` (gate.ts FrameConsistency): data for the canvas badge
  // and the run summary, not a port.
  outputs: { frames: { type: 'image[]', label: 'Frames' } },
  params: z.object({
    provider: z.enum(['auto', 'a1111', 'comfyui', 'runway', 'local']).default('auto'),
    width: z.number().int().min(64).max(2048).multipleOf(8).default(768),
    height: z.number().int().min(64).max(2048).multipleOf(8).default(432),
    steps: z.number().int().min(1).max(150).default(28),
    cfgScale: z.number().min(1).max(30).default(6.5),
    sampler: z.string().min(1).max(60).default('DPM++ 2M'),
    seed: z.number().int().min(0).max(4_294_967_295).default(42),
    checkpoint: z.string().max(200).default(''),
    // Identity conditioning from the character's reference images: an IP-Adapter unit through
    // the ControlNet extension on A1111, IPAdapter nodes on ComfyUI. The local animatic
    // composites the reference image either way. `none` keeps graphs saved before it unchanged.
    reference: z.enum(['none', 'ip-adapter']).default('none'),
    referenceWeight: z.number().min(0).max(2).default(0.7),
    // The consistency gate (nodes/sd-lora-frame/gate.ts): active when a character is connected.
    gate: z.boolean().default(true),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    attemptBudget: z.number().int().min(0).max(500).default(8),
    threshold: z.number().min(0).max(2).default(0),
  }),
  paramUi: {
    provider: {
      widget: 'select',
      help: 'auto uses SD_API_URL when set, else the local animatic; runway (Gen-4 image with the character as reference, paid) only when chosen',
    },
    seed: { widget: 'seed' },
    steps: { advanced: true },
    cfgScale: { advanced: true, label: 'CFG scale' },
    sampler: { advanced: true },
    checkpoint: { advanced: true, help: "empty keeps the server's current model" },
    reference: {
      widget: 'select',
      label: 'Reference conditioning',
      help: "ip-adapter conditions every frame on the character's reference images (A1111 needs the ControlNet extension, ComfyUI needs ComfyUI_IPAdapter_plus)",
    },
    referenceWeight: {
      advanced: true,
      label: 'Reference weight',
      help: '0.6–0.85 keeps the prompt in charge; higher copies the reference more closely',
    },
    gate: {
      widget: 'toggle',
      label: 'Consistency gate',
      help: "scores every frame's face against the character and re-renders the ones that fail",
    },
    maxAttempts: { label: 'Attempts per shot', help: 'renders per shot, the first included' },
    attemptBudget: {
      advanced: true,
      label: 'Run attempt budget',
      help: 'extra renders all shots of one run may share',
    },
    threshold: {
      advanced: true,
      label: 'Threshold override',
      help: "face distance a frame must stay under; 0 uses the character's calibrated threshold",
    },
  },
  runsOn: 'lab-gpu',
  providers: ['a1111', 'comfyui', 'runway'],
  // Runway bills every image: it renders frames only when chosen by name, never for auto.
  explicitProviders: ['runway'],
  fanOut: { input: 'storyboard', path: 'shots' },
  execution: { startToCloseSec: 900, heartbeatSec: 10, maxParallel: 2 },
});
