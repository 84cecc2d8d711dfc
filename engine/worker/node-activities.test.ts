import { describe, expect, it } from 'vitest';
import type { NodeActivityInput } from '../graph/plan';
import { nodeCacheKey } from '../runs/cache-key';

// Definitions as a node declares them: the shell reads fan-out from there.
const single = {};
const perShot = { fanOut: { input: 'storyboard', path: 'shots' } };

const storyboard = (provider: string): NodeActivityInput => ({
  runId: 'r1',
  nodeId: 'story',
  type: 'test-writer',
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
  type: 'test-painter',
  typeVersion: 1,
  params: { provider: 'local', width: 64, height: 64 },
  inputs: { storyboard: shots(second) },
  index,
  total: 2,
  useCache: true,
});

describe('nodeCacheKey', () => {
  it('keys `auto` by the provider it resolves to, explicit providers by name', () => {
    expect(nodeCacheKey(single, storyboard('auto'), 'local')).not.toBe(
      nodeCacheKey(single, storyboard('auto'), 'openai'),
    );
    expect(nodeCacheKey(single, storyboard('local'), 'local')).toBe(
      nodeCacheKey(single, storyboard('local'), 'local'),
    );
    expect(nodeCacheKey(single, storyboard('openai'), 'openai')).not.toBe(
      nodeCacheKey(single, storyboard('local'), 'local'),
    );
  });

  it('ignores the run and keys fan-out items by their own item only', () => {
    expect(nodeCacheKey(single, { ...storyboard('local'), runId: 'other' }, 'local')).toBe(
      nodeCacheKey(single, storyboard('local'), 'local'),
    );
    const key = (item: NodeActivityInput) => nodeCacheKey(perShot, item, 'local');
    expect(key(frame(0, 'b'))).toBe(key(frame(0, 'changed')));
    expect(key(frame(1, 'b'))).not.toBe(key(frame(1, 'changed')));
  });
});

describe('nodeCacheKey and regenerated items', () => {
  it('gives a rerolled item its own key and leaves every other key as it was', () => {
    const plain = nodeCacheKey(perShot, frame(1, 'b'), 'local');
    const rerolled = nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 1 }, 'local');
    expect(rerolled).not.toBe(plain);
    expect(nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 2 }, 'local')).not.toBe(rerolled);
    // No reroll (or 0): the key of runs made before regenerating existed.
    expect(nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 0 }, 'local')).toBe(plain);
    expect(nodeCacheKey(perShot, frame(0, 'b'), 'local')).toBe(
      nodeCacheKey(perShot, frame(0, 'b'), 'local'),
    );
  });
});
