import { describe, expect, it } from 'vitest';
import { providerConfigFromEnv } from './config';
import { resolveProvider } from './resolve';

const none = providerConfigFromEnv({});
const all = providerConfigFromEnv({
  OPENAI_API_KEY: 'sk-test',
  SD_API_URL: 'http://127.0.0.1:7860',
  SD_API_KIND: 'comfyui',
  RUNWAY_API_KEY: 'key_test',
});

describe('resolveProvider', () => {
  it('resolves auto to the real provider when configured, else local', () => {
    expect(resolveProvider('gpt-storyboard', 'auto', none)).toBe('local');
    expect(resolveProvider('sd-lora-frame', 'auto', none)).toBe('local');
    expect(resolveProvider('runway-clip', undefined, none)).toBe('local');
    expect(resolveProvider('gpt-storyboard', 'auto', all)).toBe('openai');
    expect(resolveProvider('sd-lora-frame', 'auto', all)).toBe('comfyui');
    expect(resolveProvider('runway-clip', 'auto', all)).toBe('runway');
  });

  it('keeps local even when a real provider is configured', () => {
    expect(resolveProvider('runway-clip', 'local', all)).toBe('local');
  });

  it('returns an explicit real provider that is configured', () => {
    expect(resolveProvider('sd-lora-frame', 'comfyui', all)).toBe('comfyui');
    expect(resolveProvider('gpt-storyboard', 'openai', all)).toBe('openai');
  });

  it('fails for good, naming the variables, when an explicit provider is not configured', () => {
    expect(() => resolveProvider('gpt-storyboard', 'openai', none)).toThrow(
      expect.objectContaining({
        code: 'provider_not_configured',
        message: expect.stringContaining('OPENAI_API_KEY'),
      }),
    );
    expect(() => resolveProvider('runway-clip', 'runway', none)).toThrow(
      expect.objectContaining({
        code: 'provider_not_configured',
        message: expect.stringContaining('RUNWAY_API_KEY'),
      }),
    );
    // The SD server is ComfyUI, so A1111 is not available on this worker.
    expect(() => resolveProvider('sd-lora-frame', 'a1111', all)).toThrow(
      expect.objectContaining({
        name: 'NonRetryableNodeError',
        code: 'provider_not_configured',
        message: expect.stringMatching(
          /SD_API_KIND=a1111.*set up for comfyui|set up for comfyui.*SD_API_KIND=a1111/,
        ),
      }),
    );
  });

  it('rejects a provider the node type does not have', () => {
    expect(() => resolveProvider('gpt-storyboard', 'runway', all)).toThrow(
      expect.objectContaining({ code: 'unknown_provider' }),
    );
  });
});
