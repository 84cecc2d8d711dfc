import { describe, expect, it } from 'vitest';
import { chooseProvider } from '../../engine/providers/choice';
import { graphSchema } from '../definitions';
import { OPENAI_VOICES, voiceOver } from './definition';

describe('voice-over definition', () => {
  it('is registered with its ports, queue and provider', () => {
    expect(graphSchema.definition('voice-over')).toBe(voiceOver);
    expect(voiceOver.inputs.storyboard.type).toBe('storyboard');
    expect(voiceOver.outputs.audio.type).toBe('audio');
    expect(voiceOver.runsOn).toBe('lab-io');
    expect(voiceOver.providers).toEqual(['openai']);
    expect(voiceOver.cacheable).toBe(true);
    expect(voiceOver.execution).toMatchObject({ startToCloseSec: 300, heartbeatSec: 10 });
  });

  it('has a default for every param', () => {
    expect(voiceOver.params.parse({})).toEqual({
      provider: 'auto',
      text: 'dialogue-or-description',
      voice: 'alloy',
      speed: 1,
      language: 'en',
      model: 'gpt-4o-mini-tts',
    });
  });

  it('accepts what both providers understand and refuses the rest', () => {
    const ok = (params: Record<string, unknown>) => voiceOver.params.safeParse(params).success;
    expect(ok({ voice: '', language: 'en-us', speed: 0.25 })).toBe(true);
    expect(ok({ voice: 'f3', language: 'de', speed: 4 })).toBe(true);
    expect(ok({ voice: 'voice_1234', language: 'pt-br' })).toBe(true);
    expect(ok({ speed: 0.2 })).toBe(false);
    expect(ok({ speed: 4.5 })).toBe(false);
    expect(ok({ language: 'english please' })).toBe(false);
    expect(ok({ voice: 'en+f3' })).toBe(false);
    expect(ok({ text: 'prompt' })).toBe(false);
    expect(ok({ model: '' })).toBe(false);
  });

  it('names the OpenAI voices and the espeak-ng variants in its help', () => {
    const help = voiceOver.paramUi.voice?.help ?? '';
    for (const voice of OPENAI_VOICES) expect(help).toContain(voice);
    expect(help).toMatch(/espeak-ng/);
    expect(voiceOver.description).toMatch(/2x/);
  });

  it('resolves auto to OpenAI only when a key is configured', () => {
    expect(chooseProvider(voiceOver, 'auto', {})).toEqual({ name: 'local' });
    expect(chooseProvider(voiceOver, 'auto', { openai: { apiKey: 'k' } })).toEqual({
      name: 'openai',
      config: { apiKey: 'k' },
    });
    expect(() => chooseProvider(voiceOver, 'openai', {})).toThrow(/OPENAI_API_KEY/);
  });
});
