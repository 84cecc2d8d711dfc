import { describe, expect, it } from 'vitest';
import { TEST_REGISTRY, testGraph, testNode } from '../testing/test-registry';
import {
  PLACEHOLDERS_META_KEY,
  placeholdersOf,
  referenceParams,
  referencesOf,
  withPlaceholders,
} from './placeholders';
import { validateGraph } from './validate';

const IMAGE = {
  id: 'a'.repeat(64),
  mime: 'image/png',
  bytes: 10,
  sha256: 'a'.repeat(64),
};

function sharedGraph() {
  return testGraph([
    testNode('hero', 'character-loader', { characterId: 'char_mira' }),
    testNode('plate', 'image-input', { image: IMAGE }),
    testNode('script', 'script-input', { text: 'Hello.' }),
  ]);
}

describe('references and placeholders', () => {
  it('finds the params naming stored things through the definitions, not the type ids', () => {
    expect(referenceParams(TEST_REGISTRY.get('character-loader')!)).toEqual([
      { param: 'characterId', kind: 'character' },
    ]);
    expect(referenceParams(TEST_REGISTRY.get('image-input')!)).toEqual([
      { param: 'image', kind: 'artifact' },
    ]);
    expect(referencesOf(sharedGraph(), TEST_REGISTRY)).toEqual([
      { nodeId: 'hero', param: 'characterId', kind: 'character', id: 'char_mira' },
      { nodeId: 'plate', param: 'image', kind: 'artifact', id: IMAGE.id },
    ]);
  });

  it('clears lost references to their defaults and the validator names what was there', () => {
    const before = sharedGraph();
    const after = withPlaceholders(before, TEST_REGISTRY, [
      { nodeId: 'hero', param: 'characterId', kind: 'character', id: 'char_mira', name: 'Mira' },
      { nodeId: 'plate', param: 'image', kind: 'artifact', id: IMAGE.id },
    ]);
    expect(after.nodes[0].params.characterId).toBe('');
    expect(after.nodes[1].params.image).toBeNull();
    expect(referencesOf(after, TEST_REGISTRY)).toEqual([]);
    // The input is left as it was.
    expect(before.nodes[0].params.characterId).toBe('char_mira');

    const problems = validateGraph(after, TEST_REGISTRY);
    expect(problems).toEqual([
      {
        code: 'character_missing',
        nodeId: 'hero',
        param: 'characterId',
        message:
          'node "hero" (Character): this graph was shared without its character "Mira": pick one of yours in the inspector',
      },
      {
        code: 'artifact_missing',
        nodeId: 'plate',
        param: 'image',
        message:
          'node "plate" (Image): this graph was shared without its file: upload one of yours in the inspector',
      },
    ]);
  });

  it('goes quiet once the param names something again, and ignores malformed entries', () => {
    const cleared = withPlaceholders(sharedGraph(), TEST_REGISTRY, [
      { nodeId: 'hero', param: 'characterId', kind: 'character', id: 'char_mira', name: 'Mira' },
    ]);
    const picked = {
      ...cleared,
      nodes: cleared.nodes.map((node) =>
        node.id === 'hero' ? { ...node, params: { characterId: 'char_mine' } } : node,
      ),
    };
    expect(validateGraph(picked, TEST_REGISTRY)).toEqual([]);

    const junk = {
      ...sharedGraph(),
      meta: {
        [PLACEHOLDERS_META_KEY]: [
          { nodeId: 'hero' },
          'x',
          { nodeId: 'hero', param: 'nope', kind: 'character' },
        ],
      },
    };
    expect(placeholdersOf(junk)).toEqual([{ nodeId: 'hero', param: 'nope', kind: 'character' }]);
    // A placeholder for a param the node does not have says nothing.
    expect(validateGraph(junk, TEST_REGISTRY)).toEqual([]);
  });

  it('an empty character without a placeholder keeps the plain invalid_param', () => {
    const graph = testGraph([testNode('hero', 'character-loader', { characterId: '' })]);
    expect(validateGraph(graph, TEST_REGISTRY).map((problem) => problem.code)).toEqual([
      'invalid_param',
    ]);
  });
});
