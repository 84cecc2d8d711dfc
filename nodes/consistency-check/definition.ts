import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** Scores each frame against the character's reference faces. */
export const consistencyCheck = defineNode({
  type: 'consistency-check',
  version: 2,
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
    threshold: z.number().min(0).max(2).default(0),
    failOnMismatch: z.boolean().default(false),
  }),
  paramUi: {
    threshold: {
      help: "face distance under which a frame counts as the same person; 0 uses the character's calibrated threshold",
    },
    failOnMismatch: { widget: 'toggle' },
  },
  runsOn: 'lab-cpu',
  fanOut: { input: 'frames' },
  execution: { startToCloseSec: 300, heartbeatSec: 20 },
  migrations: [
    {
      // Version 1 judged every character by one fixed default, 0.6. Version 2 uses the
      // character's calibrated threshold (the gate's), so the old default becomes "calibrated";
      // a threshold the user chose stays theirs.
      name: '0002-threshold-default-to-calibrated',
      to: 2,
      up: (params) => (params.threshold === 0.6 ? { ...params, threshold: 0 } : params),
    },
  ],
});
