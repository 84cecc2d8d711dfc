import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** Scores each frame against the character's reference faces. */
export const consistencyCheck = defineNode({
  type: 'consistency-check',
  version: 1,
  title: 'Consistency check',
  category: 'Quality',
  color: '#7dd3fc',
  description: "Measures how close each frame's face is to the character's references.",
  inputs: {
    frames: { type: 'image[]', label: 'Frames' },
    character: { type: 'character', label: 'Character' },
  },
  outputs: {
    frames: { type: 'image[]', label: 'Frames' },
    scores: { type: 'number[]', label: 'Scores' },
  },
  params: z.object({
    threshold: z.number().min(0).max(2).default(0.6),
    failOnMismatch: z.boolean().default(false),
  }),
  paramUi: {
    threshold: { help: 'face descriptor distance under which a frame counts as the same person' },
    failOnMismatch: { widget: 'toggle' },
  },
  runsOn: 'lab-cpu',
  fanOut: { input: 'frames' },
  execution: { startToCloseSec: 300, heartbeatSec: 20 },
});
