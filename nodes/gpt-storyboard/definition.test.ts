import { describe, expect, it } from 'vitest';
import { gptStoryboard } from './definition';
import { structuredOutputProblem } from './models';

describe('gpt-storyboard model check', () => {
  const check = (params: Record<string, unknown>) =>
    gptStoryboard.check!(gptStoryboard.params.parse(params));

  it('refuses, before any call, a model that cannot answer with a strict JSON schema', () => {
    const [problem] = check({ provider: 'openai', model: 'gpt-3.5-turbo' });
    expect(problem).toMatchObject({ param: 'model' });
    expect(problem!.message).toContain('gpt-5*');
    expect(check({ provider: 'auto', model: 'gpt-4-turbo' })).toHaveLength(1);
    expect(check({ provider: 'auto', model: 'gpt-4o-mini-tts' })).toHaveLength(1);
  });

  it('accepts current structured-output models, unknown compatible-server names and local runs', () => {
    for (const model of [
      'gpt-5.4-mini',
      'gpt-4.1',
      'gpt-4o',
      'gpt-4o-mini',
      'o4-mini',
      'llama3.1:8b',
    ]) {
      expect(structuredOutputProblem(model)).toBeUndefined();
    }
    expect(check({})).toEqual([]);
    expect(check({ provider: 'local', model: 'gpt-3.5-turbo' })).toEqual([]);
  });
});
