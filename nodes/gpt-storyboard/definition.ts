import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';
import { structuredOutputProblem } from './models';

/** Turns a script (and optionally a character) into a shot list. */
export const gptStoryboard = defineNode({
  type: 'gpt-storyboard',
  version: 1,
  title: 'Storyboard',
  category: 'Story',
  color: '#fbbf24',
  description: 'Splits the script into shots with prompts, camera moves and durations.',
  inputs: {
    script: { type: 'text', label: 'Script' },
    character: { type: 'character', label: 'Character', optional: true },
  },
  outputs: { storyboard: { type: 'storyboard', label: 'Storyboard' } },
  params: z.object({
    provider: z.enum(['auto', 'openai', 'local']).default('auto'),
    // A current alias (openai-node 6.49 ChatModel), not a dated snapshot scheduled for shutdown.
    model: z.string().min(1).max(100).default('gpt-5.4-mini'),
    shots: z.number().int().min(1).max(24).default(4),
    shotDurationSec: z.number().min(1).max(10).default(2),
    style: z.string().max(200).default('cinematic, soft light'),
  }),
  paramUi: {
    provider: {
      widget: 'select',
      help: 'auto uses OpenAI when OPENAI_API_KEY is set, else the local rules',
    },
    model: { advanced: true },
    shots: { label: 'Shots (at most)' },
    shotDurationSec: { label: 'Seconds per shot' },
  },
  // The OpenAI model must answer with a strict JSON schema (models.ts); the local rules need none.
  check: (params) => {
    const problem = params.provider === 'local' ? undefined : structuredOutputProblem(params.model);
    return problem ? [{ param: 'model', message: problem }] : [];
  },
  runsOn: 'lab-io',
  providers: ['openai'],
  // Activities heartbeat every second (engine/worker/node-activities.ts), so 10 s is ten missed
  // beats, and a crashed worker's item is retried elsewhere within ~10 s instead of 30.
  execution: { startToCloseSec: 180, heartbeatSec: 10 },
});
