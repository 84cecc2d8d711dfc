import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyValues as applyValuesWith } from './apply-values';
import type { GraphDocument } from './document';
import { loadGraph as loadGraphWith } from './load';
import { testGraph, testNode } from '../testing/test-registry';
import { validateGraph as validateGraphWith } from './validate';
import { TEST_REGISTRY } from '../testing/test-registry';
import type { NodeRegistry } from './problems';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);
const validateGraph = (doc: GraphDocument, registry: NodeRegistry = TEST_REGISTRY) =>
  validateGraphWith(doc, registry);
const applyValues = (
  doc: GraphDocument,
  values: Record<string, unknown>,
  registry: NodeRegistry = TEST_REGISTRY,
) => applyValuesWith(doc, values, registry);

function characterShort(): GraphDocument {
  const text = readFileSync(new URL('./fixtures/character-short.v1.json', import.meta.url), 'utf8');
  const result = loadGraph(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.graph;
}

function paramsOf(doc: GraphDocument, id: string): Record<string, unknown> {
  return doc.nodes.find((node) => node.id === id)!.params;
}

const REF = {
  id: 'a'.repeat(64),
  mime: 'image/png',
  bytes: 10,
  sha256: 'a'.repeat(64),
};

describe('applyValues', () => {
  it('coerces CLI strings by the param type: numbers, booleans, enums and text', () => {
    const doc = characterShort();
    const result = applyValues(doc, {
      'story.shots': '6',
      'story.shotDurationSec': ' 2.5 ',
      'merge.subtitles': 'false',
      'clips.provider': 'local',
      'script.text': '42',
      'character.characterId': 'chr_ada',
    });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(paramsOf(result.graph, 'story')).toMatchObject({ shots: 6, shotDurationSec: 2.5 });
    expect(paramsOf(result.graph, 'merge').subtitles).toBe(false);
    expect(paramsOf(result.graph, 'clips').provider).toBe('local');
    expect(paramsOf(result.graph, 'script').text).toBe('42');
    expect(paramsOf(result.graph, 'character').characterId).toBe('chr_ada');
    expect(validateGraph(result.graph)).toEqual([]);
  });

  it('accepts the usual boolean words', () => {
    const doc = characterShort();
    for (const [word, value] of [
      ['TRUE', true],
      ['yes', true],
      ['1', true],
      ['on', true],
      ['no', false],
      ['0', false],
      ['Off', false],
    ] as const) {
      const result = applyValues(doc, { 'merge.subtitles': word });
      expect(result.ok && paramsOf(result.graph, 'merge').subtitles).toBe(value);
    }
  });

  it('parses JSON for object params and null for nullable ones', () => {
    const doc = testGraph([testNode('plate', 'image-input')]);
    const set = applyValues(doc, { 'plate.image': JSON.stringify(REF) });
    expect(set.ok && paramsOf(set.graph, 'plate').image).toEqual(REF);
    const cleared = applyValues(doc, { 'plate.image': 'null' });
    expect(cleared.ok && paramsOf(cleared.graph, 'plate').image).toBeNull();
  });

  it('takes typed values (run requests, template values) as they are, still checked', () => {
    const doc = characterShort();
    const result = applyValues(doc, { 'story.shots': 8, 'merge.subtitles': false });
    expect(result.ok && paramsOf(result.graph, 'story').shots).toBe(8);
    expect(applyValues(doc, { 'story.shots': '8', 'merge.subtitles': 'false' })).toEqual(result);
    const wrong = applyValues(doc, { 'story.shots': true });
    expect(wrong.ok).toBe(false);
  });

  it('returns a new document and leaves the input alone', () => {
    const doc = characterShort();
    const before = structuredClone(doc);
    const result = applyValues(doc, { 'story.shots': '2' });
    expect(doc).toEqual(before);
    expect(result.ok && result.graph).not.toBe(doc);
    expect(result.ok && result.graph.nodes[0]).toBe(doc.nodes[0]);
  });

  it('splits at the last dot, so node ids may contain dots', () => {
    const doc = testGraph([testNode('intro.script', 'script-input')]);
    const result = applyValues(doc, { 'intro.script.text': 'Hi.' });
    expect(result.ok && paramsOf(result.graph, 'intro.script').text).toBe('Hi.');
  });

  it('unknown_value_target for unknown nodes, unknown params and malformed keys, all at once', () => {
    const result = applyValues(characterShort(), {
      'storry.shots': '3',
      'story.shot': '3',
      shots: '3',
      'story.': '3',
    });
    if (result.ok) throw new Error('expected problems');
    expect(result.errors.map(({ code, nodeId, param }) => ({ code, nodeId, param }))).toEqual([
      { code: 'unknown_value_target', nodeId: 'storry', param: 'shots' },
      { code: 'unknown_value_target', nodeId: 'story', param: 'shot' },
      { code: 'unknown_value_target', nodeId: undefined, param: undefined },
      { code: 'unknown_value_target', nodeId: undefined, param: undefined },
    ]);
    expect(result.errors[0].message).toContain('no node "storry" (did you mean "story"?)');
    expect(result.errors[1].message).toContain('has no param "shot" (did you mean "shots"?)');
    expect(result.errors[2].message).toContain('write it as nodeId.param');
  });

  it('invalid_param when the text does not fit the type or the value breaks a limit', () => {
    const result = applyValues(characterShort(), {
      'story.shots': 'four',
      'merge.subtitles': 'maybe',
      'frames.width': '100',
      'story.provider': 'claude',
      'script.text': 'fine',
    });
    if (result.ok) throw new Error('expected problems');
    expect(result.errors.map((e) => [e.code, `${e.nodeId}.${e.param}`])).toEqual([
      ['invalid_param', 'story.shots'],
      ['invalid_param', 'merge.subtitles'],
      ['invalid_param', 'frames.width'],
      ['invalid_param', 'story.provider'],
    ]);
    expect(result.errors[0].message).toBe(
      '"story.shots": "four" is not a number: give node "story" (Storyboard) a valid "shots"',
    );
    expect(result.errors[2].message).toMatch(/multiple of 8/);
    const badJson = applyValues(testGraph([testNode('plate', 'image-input')]), {
      'plate.image': '{id:',
    });
    expect(!badJson.ok && badJson.errors[0].message).toContain('is not valid JSON');
  });

  it('unknown_node_type when the node exists but its type is unknown', () => {
    const result = applyValues(testGraph([testNode('x', 'upscaler')]), { 'x.factor': '2' });
    expect(!result.ok && result.errors[0].code).toBe('unknown_node_type');
  });

  it('rejects values that are not an object', () => {
    const result = applyValues(characterShort(), ['story.shots=3'] as unknown as Record<
      string,
      unknown
    >);
    expect(!result.ok && result.errors[0].code).toBe('unknown_value_target');
  });
});
