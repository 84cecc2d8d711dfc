/**
 * Definition tests for the node types of DESIGN §3's first table (STYLE 14). Node types added
 * since (voice-over, …) check their own row in their folder's definition test, so adding one
 * touches no shared list.
 */
import { describe, expect, it } from 'vitest';
import { parsePortType } from '../engine/graph/ports';
import { createRegistry } from '../engine/graph/schema';
import { graphSchema, NODE_DEFINITIONS } from './definitions';

const NODE_REGISTRY = graphSchema.registry;

const DESIGN_TABLE: Record<string, { inputs: string[]; outputs: string[]; runsOn: string }> = {
  'script-input': { inputs: [], outputs: ['text:text'], runsOn: 'inline' },
  'character-loader': { inputs: [], outputs: ['character:character'], runsOn: 'lab-cpu' },
  'gpt-storyboard': {
    inputs: ['script:text', 'character:character?'],
    outputs: ['storyboard:storyboard'],
    runsOn: 'lab-io',
  },
  'sd-lora-frame': {
    inputs: ['storyboard:storyboard', 'character:character?'],
    outputs: ['frames:image[]'],
    runsOn: 'lab-gpu',
  },
  'runway-clip': {
    inputs: ['frames:image[]', 'storyboard:storyboard'],
    outputs: ['clips:video[]'],
    runsOn: 'lab-io',
  },
  'ffmpeg-merge': {
    inputs: ['clips:video[]', 'audio:audio?', 'storyboard:storyboard?'],
    outputs: ['video:video'],
    runsOn: 'lab-cpu',
  },
  'image-input': { inputs: [], outputs: ['image:image'], runsOn: 'inline' },
  'consistency-check': {
    inputs: ['frames:image[]', 'character:character'],
    outputs: ['frames:image[]', 'scores:number[]'],
    runsOn: 'lab-cpu',
  },
};

describe('node definitions', () => {
  it('registers every node type of the design table, once each', () => {
    expect([...NODE_REGISTRY.keys()]).toEqual(expect.arrayContaining(Object.keys(DESIGN_TABLE)));
    expect(() => createRegistry([...NODE_DEFINITIONS, NODE_DEFINITIONS[0]])).toThrow(/duplicate/);
  });

  for (const definition of NODE_DEFINITIONS) {
    describe(definition.type, () => {
      const expected = DESIGN_TABLE[definition.type];

      it.runIf(expected !== undefined)('has the ports and queue of the design', () => {
        const ports = (specs: typeof definition.inputs) =>
          Object.entries(specs).map(
            ([id, spec]) => `${id}:${spec.type}${spec.optional ? '?' : ''}`,
          );
        expect(ports(definition.inputs)).toEqual(expected.inputs);
        expect(ports(definition.outputs)).toEqual(expected.outputs);
        expect(definition.runsOn).toBe(expected.runsOn);
      });

      it('parses its defaults and rejects nonsense params', () => {
        const defaults = definition.params.parse({});
        expect(Object.keys(defaults).length).toBeGreaterThan(0);
        const [firstKey] = Object.keys(defaults);
        expect(definition.params.safeParse({ [firstKey]: { nonsense: true } }).success).toBe(false);
      });

      if (definition.fanOut) {
        const fanOut = definition.fanOut;
        it('fans out only over a list, and lists every list output', () => {
          const input = definition.inputs[fanOut.input];
          expect(parsePortType(input.type).list || fanOut.path === 'shots').toBe(true);
          const listOutputs = Object.values(definition.outputs).filter(
            (o) => parsePortType(o.type).list,
          );
          expect(listOutputs.length).toBeGreaterThan(0);
        });
      }

      it('labels every param it hints in the UI with a real param', () => {
        const params = Object.keys(definition.params.shape);
        for (const key of Object.keys(definition.paramUi)) expect(params).toContain(key);
      });
    });
  }

  it('evaluates pure nodes and explains missing required params', () => {
    const script = NODE_REGISTRY.get('script-input')!;
    expect(script.evaluate!({ text: 'Hello.' })).toEqual({ text: 'Hello.' });
    expect(script.check!({ text: '  ' })[0].message).toMatch(/empty/);
    const loader = NODE_REGISTRY.get('character-loader')!;
    expect(loader.check!({ characterId: '' })[0]).toMatchObject({ param: 'characterId' });
    const image = NODE_REGISTRY.get('image-input')!;
    expect(image.check!({ image: null })[0].message).toMatch(/upload/);
  });
});
