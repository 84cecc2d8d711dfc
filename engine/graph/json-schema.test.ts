import { describe, expect, it } from 'vitest';
import { NODE_DEFINITIONS } from '../../nodes/definitions';
import { gptStoryboard } from '../../nodes/gpt-storyboard/definition';
import { imageInput } from '../../nodes/image-input/definition';
import type { NodeDefinition } from './define-node';
import { LIMITS } from './document';
import { describeNodeTypes, graphDocumentJsonSchema, nodeParamsJsonSchema } from './json-schema';
import { TEST_REGISTRY } from '../testing/test-registry';
import { createRegistry } from './schema';

describe('graphDocumentJsonSchema', () => {
  it('describes the document as written: defaulted fields optional, the rest required', () => {
    const schema = graphDocumentJsonSchema() as {
      $schema: string;
      title: string;
      required: string[];
      properties: Record<string, { const?: unknown }>;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('Character Lab graph document');
    expect(schema.properties.schema.const).toBe('character-lab/graph');
    expect(schema.properties.version.const).toBe(1);
    expect([...schema.required].sort()).toEqual([
      'edges',
      'id',
      'name',
      'nodes',
      'schema',
      'version',
    ]);
    // The document limits (LIMITS in document.ts) reach the schema editors validate against.
    expect(JSON.stringify(schema)).toContain(`"nodes":{"maxItems":${LIMITS.maxNodes}`);
    expect(JSON.stringify(schema)).toContain(`"edges":{"maxItems":${LIMITS.maxEdges}`);
  });
});

describe('nodeParamsJsonSchema', () => {
  it('gives params with defaults and limits, and the UI hints as x-ui', () => {
    const schema = nodeParamsJsonSchema(gptStoryboard as unknown as NodeDefinition) as {
      type: string;
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
    };
    expect(schema.type).toBe('object');
    expect(schema.required ?? []).toEqual([]);
    expect(Object.keys(schema.properties)).toEqual([
      'provider',
      'model',
      'shots',
      'shotDurationSec',
      'style',
    ]);
    expect(schema.properties.shots).toEqual({
      default: 4,
      type: 'integer',
      minimum: 1,
      maximum: 24,
      'x-ui': { label: 'Shots (at most)' },
    });
    expect(schema.properties.provider).toMatchObject({
      enum: ['auto', 'openai', 'local'],
      default: 'auto',
      'x-ui': { widget: 'select' },
    });
    expect(schema.properties.style['x-ui']).toBeUndefined();
  });

  it('handles nullable object params', () => {
    const schema = nodeParamsJsonSchema(imageInput as unknown as NodeDefinition) as {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(schema.properties.image).toMatchObject({
      default: null,
      'x-ui': { widget: 'image-upload', label: 'Image' },
    });
    expect(JSON.stringify(schema.properties.image.anyOf)).toContain('"type":"null"');
  });
});

describe('describeNodeTypes', () => {
  it('describes every registered node type, in palette order, as plain JSON', () => {
    const types = describeNodeTypes(createRegistry(NODE_DEFINITIONS));
    expect(types.map((t) => t.type)).toEqual(NODE_DEFINITIONS.map((d) => d.type));
    expect(JSON.parse(JSON.stringify(types))).toEqual(types);
    const frames = types.find((t) => t.type === 'sd-lora-frame')!;
    expect(frames).toMatchObject({
      typeVersion: 1,
      title: 'Frames (SD + LoRA)',
      category: 'Images',
      runsOn: 'lab-gpu',
      fanOut: { input: 'storyboard', path: 'shots' },
      inputs: {
        storyboard: { type: 'storyboard', label: 'Storyboard' },
        character: { type: 'character', label: 'Character', optional: true },
      },
      outputs: { frames: { type: 'image[]', label: 'Frames' } },
    });
    expect(frames.description).toMatch(/key frame/);
    expect((frames.params.properties as Record<string, unknown>).seed).toMatchObject({
      default: 42,
    });
    expect(types.find((t) => t.type === 'script-input')!.fanOut).toBeUndefined();
  });

  it('reports each type at its current version and does not share state with the definitions', () => {
    const types = describeNodeTypes(TEST_REGISTRY);
    expect(types.find((t) => t.type === 'test-greeter')!.typeVersion).toBe(3);
    types[0].inputs.injected = { type: 'text', label: 'x' };
    expect(Object.keys(NODE_DEFINITIONS[0].inputs)).not.toContain('injected');
  });
});
