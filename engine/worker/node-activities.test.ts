import { describe, expect, it } from 'vitest';
import type { NodeActivityInput } from '../graph/plan';
import { providerConfigFromEnv } from '../providers/config';
import { nodeCacheKey } from './node-activities';

const local = providerConfigFromEnv({});
const withOpenAI = providerConfigFromEnv({ OPENAI_API_KEY: 'sk-test' });

const storyboard = (provider: string): NodeActivityInput => ({
  runId: 'r1',
  nodeId: 'story',
  type: 'gpt-storyboard',
  typeVersion: 1,
  params: { provider, shots: 2 },
  inputs: { script: 'Hello. World.' },
  useCache: true,
});

const shots = (second: string) => ({
  title: 't',
  shots: [
    {
      index: 0,
      description: 'a',
      prompt: 'a',
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    },
    {
      index: 1,
      description: second,
      prompt: second,
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    },
  ],
});

const frame = (index: number, second: string): NodeActivityInput => ({
  runId: 'r2',
  nodeId: 'frames',
  type: 'sd-lora-frame',
  typeVersion: 1,
  params: { provider: 'local', width: 64, height: 64 },
  inputs: { storyboard: shots(second) },
  index,
  total: 2,
  useCache: true,
});

describe('nodeCacheKey', () => {
  it('keys `auto` by the provider it resolves to, explicit providers by name', () => {
    expect(nodeCacheKey(storyboard('auto'), local)).not.toBe(
      nodeCacheKey(storyboard('auto'), withOpenAI),
    );
    expect(nodeCacheKey(storyboard('local'), local)).toBe(
      nodeCacheKey(storyboard('local'), withOpenAI),
    );
  });

  it('ignores the run and keys fan-out items by their own item only', () => {
    expect(nodeCacheKey({ ...storyboard('local'), runId: 'other' }, local)).toBe(
      nodeCacheKey(storyboard('local'), local),
    );
    expect(nodeCacheKey(frame(0, 'b'), local)).toBe(nodeCacheKey(frame(0, 'changed'), local));
    expect(nodeCacheKey(frame(1, 'b'), local)).not.toBe(nodeCacheKey(frame(1, 'changed'), local));
  });
});
