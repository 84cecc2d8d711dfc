import { describe, expect, it } from 'vitest';
import { providerConfigFromEnv } from '../config';
import { chooseProvider } from './choice';

const none = providerConfigFromEnv({}).services;
const all = providerConfigFromEnv({
  OPENAI_API_KEY: 'sk-test',
  SD_API_URL: 'http://127.0.0.1:7860',
  SD_API_KIND: 'comfyui',
  RUNWAY_API_KEY: 'key_test',
}).services;

// Node shapes as their definitions declare them; the engine knows no node type.
const writer = { type: 'test-writer', providers: ['openai'] };
const painter = { type: 'test-painter', providers: ['a1111', 'comfyui'] };
const animator = { type: 'test-animator', providers: ['runway'] };
const plain = { type: 'test-plain' };

describe('chooseProvider', () => {
  it('resolves auto to the first configured real provider, else local', () => {
    expect(chooseProvider(writer, 'auto', none)).toEqual({ name: 'local' });
    expect(chooseProvider(painter, 'auto', none)).toEqual({ name: 'local' });
    expect(chooseProvider(animator, undefined, none)).toEqual({ name: 'local' });
    expect(chooseProvider(writer, 'auto', all)).toEqual({ name: 'openai', config: all.openai });
    expect(chooseProvider(painter, 'auto', all)).toEqual({ name: 'comfyui', config: all.comfyui });
    expect(chooseProvider(animator, 'auto', all)).toMatchObject({ name: 'runway' });
    expect(chooseProvider(plain, 'auto', all)).toEqual({ name: 'local' });
  });

  it('never picks an explicit (paid per call) provider for auto, but honours it by name', () => {
    const framer = {
      type: 'test-framer',
      providers: ['a1111', 'runway'],
      explicitProviders: ['runway'],
    };
    const runwayOnly = providerConfigFromEnv({ RUNWAY_API_KEY: 'key_test' }).services;
    expect(chooseProvider(framer, 'auto', runwayOnly)).toEqual({ name: 'local' });
    expect(chooseProvider(framer, 'runway', runwayOnly)).toMatchObject({ name: 'runway' });
    const sdAndRunway = providerConfigFromEnv({
      SD_API_URL: 'http://127.0.0.1:7860',
      RUNWAY_API_KEY: 'key_test',
    }).services;
    expect(chooseProvider(framer, 'auto', sdAndRunway)).toMatchObject({ name: 'a1111' });
  });

  it('keeps local even when a real provider is configured', () => {
    expect(chooseProvider(animator, 'local', all)).toEqual({ name: 'local' });
  });

  it('returns an explicit real provider that is configured, with its settings only', () => {
    expect(chooseProvider(painter, 'comfyui', all)).toEqual({
      name: 'comfyui',
      config: { url: 'http://127.0.0.1:7860' },
    });
    expect(chooseProvider(writer, 'openai', all)).toEqual({
      name: 'openai',
      config: { apiKey: 'sk-test' },
    });
  });

  it('fails for good, naming the variables, when an explicit provider is not configured', () => {
    expect(() => chooseProvider(writer, 'openai', none)).toThrow(
      expect.objectContaining({
        code: 'provider_not_configured',
        message: expect.stringContaining('OPENAI_API_KEY'),
      }),
    );
    expect(() => chooseProvider(animator, 'runway', none)).toThrow(
      expect.objectContaining({
        code: 'provider_not_configured',
        message: expect.stringContaining('RUNWAY_API_KEY'),
      }),
    );
    // The SD server is ComfyUI, so A1111 is not available on this worker.
    expect(() => chooseProvider(painter, 'a1111', all)).toThrow(
      expect.objectContaining({
        name: 'NonRetryableNodeError',
        code: 'provider_not_configured',
        message: expect.stringMatching(
          /SD_API_KIND=a1111.*set up for comfyui|set up for comfyui.*SD_API_KIND=a1111/,
        ),
      }),
    );
  });

  it('rejects a provider the node does not offer', () => {
    expect(() => chooseProvider(writer, 'runway', all)).toThrow(
      expect.objectContaining({ code: 'unknown_provider' }),
    );
  });
});
