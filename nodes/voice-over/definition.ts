import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/**
 * OpenAI's built-in text-to-speech voices (openai-node 6.x, `SpeechCreateParams.voice`; `tts-1`
 * and `tts-1-hd` offer only some of them). The local provider ignores these names, so a graph
 * set to `auto` narrates with either provider.
 */
export const OPENAI_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'fable',
  'onyx',
  'nova',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;

/** What a shot says: its dialogue, its description, or the dialogue when it has one. */
export const SPOKEN_TEXT = ['dialogue', 'description', 'dialogue-or-description'] as const;

/**
 * One narration track for the whole storyboard, timed to the shots: shot i's speech starts
 * where shot i begins (the sum of the earlier shots' durations) and fills at most its shot.
 */
export const voiceOver = defineNode({
  type: 'voice-over',
  version: 1,
  title: 'Voice-over',
  category: 'Audio',
  color: '#fb923c',
  description:
    "Speaks each shot's line as one narration track timed to the shots: every line starts " +
    'with its shot, and a line longer than its shot is sped up (up to 2x), then cut.',
  inputs: { storyboard: { type: 'storyboard', label: 'Storyboard' } },
  outputs: { audio: { type: 'audio', label: 'Narration' } },
  params: z.object({
    provider: z.enum(['auto', 'openai', 'local']).default('auto'),
    text: z.enum(SPOKEN_TEXT).default('dialogue-or-description'),
    voice: z
      .string()
      .max(100)
      .regex(/^[A-Za-z0-9_-]*$/, 'a voice name: letters, digits, - and _ only')
      .default('alloy'),
    speed: z.number().min(0.25).max(4).default(1),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(-[a-z0-9]{1,8})*$/i, "a language tag such as 'en', 'en-us' or 'de'")
      .default('en'),
    model: z.string().min(1).max(100).default('gpt-4o-mini-tts'),
  }),
  paramUi: {
    provider: {
      widget: 'select',
      help: 'auto uses OpenAI text-to-speech when OPENAI_API_KEY is set, else espeak-ng on the worker',
    },
    text: {
      widget: 'select',
      label: 'Spoken text',
      help: 'dialogue-or-description reads the dialogue and falls back to the description; shots with nothing to say stay silent',
    },
    voice: {
      help:
        `OpenAI: one of ${OPENAI_VOICES.join(', ')}. ` +
        'espeak-ng: a voice variant such as f3, m2, klatt or whisper, or empty for the default (OpenAI names are ignored)',
    },
    speed: {
      help: '0.25 to 4; 1 is normal speed (espeak-ng speaks at 175 words a minute × speed, at least 80)',
    },
    language: {
      help:
        "a language tag such as en, en-us, de: espeak-ng's voice language; OpenAI reads it as an " +
        'instruction (gpt-4o-mini-tts models; tts-1 and tts-1-hd detect the language from the text)',
    },
    model: { advanced: true, help: 'OpenAI only: gpt-4o-mini-tts, tts-1 or tts-1-hd' },
  },
  runsOn: 'lab-io',
  providers: ['openai'],
  // Activities heartbeat every second (engine/worker/node-activities.ts), so 10 s is ten missed
  // beats, and a crashed worker's item is retried elsewhere within ~10 s instead of 30.
  execution: { startToCloseSec: 300, heartbeatSec: 10 },
});
