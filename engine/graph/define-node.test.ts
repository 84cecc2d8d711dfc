import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineNode } from './define-node';
import type { GraphDocument } from './document';
import { validateGraph } from './validate';

const base = {
  type: 'demo-node',
  version: 1,
  title: 'Demo',
  category: 'Inputs' as const,
  color: '#9aa5b1',
  description: 'a node for tests',
  inputs: {},
  outputs: { text: { type: 'text' as const, label: 'Text' } },
  params: z.object({ text: z.string().default('hi') }),
  runsOn: 'lab-cpu' as const,
};

describe('defineNode', () => {
  it('fills execution defaults, caching and migrations', () => {
    const node = defineNode(base);
    expect(node.execution).toMatchObject({ maxAttempts: 3, maxParallel: 4 });
    expect(node.cacheable).toBe(true);
    expect(node.migrations).toEqual([]);
  });

  it('rejects declarations that cannot work', () => {
    expect(() => defineNode({ ...base, type: 'Demo Node' })).toThrow(/kebab-case/);
    expect(() => defineNode({ ...base, version: 2 })).toThrow(/needs 1 migrations/);
    expect(() => defineNode({ ...base, params: z.object({ text: z.string() }) })).toThrow(
      /default/,
    );
    expect(() => defineNode({ ...base, runsOn: 'inline' })).toThrow(/evaluate/);
    expect(() => defineNode({ ...base, fanOut: { input: 'frames' } })).toThrow(/not an input/);
    expect(() =>
      defineNode({ ...base, inputs: { clip: { type: 'video', label: 'Clip', multiple: true } } }),
    ).toThrow(/must be a list/);
    expect(() =>
      defineNode({ ...base, version: 2, migrations: [{ name: '0003-x', to: 3, up: (p) => p }] }),
    ).toThrow(/migrate to version 2/);
  });
});

describe('the check hook', () => {
  // A capability table the way a provider node keeps one: allowed sizes per model.
  const SIZES: Record<string, string[]> = { small: ['1:1'], wide: ['16:9', '21:9'] };
  const sized = defineNode({
    ...base,
    type: 'sized-node',
    params: z.object({
      model: z.enum(['small', 'wide']).default('small'),
      size: z.enum(['1:1', '16:9', '21:9']).default('1:1'),
    }),
    check: ({ model, size }) =>
      SIZES[model].includes(size)
        ? []
        : [{ param: 'size', message: `${model} makes ${SIZES[model].join(', ')}, not ${size}` }],
  });
  const registry = new Map([[sized.type, sized]]);
  const doc = (params: Record<string, unknown>): GraphDocument => ({
    schema: 'character-lab/graph',
    version: 1,
    id: 'wf_check',
    name: 'check',
    description: '',
    nodes: [{ id: 'n1', type: 'sized-node', typeVersion: 1, position: { x: 0, y: 0 }, params }],
    edges: [],
    exposed: [],
    meta: {},
  });

  it('reports each impossible combination as invalid_param on the node and param', () => {
    expect(validateGraph(doc({ model: 'small', size: '21:9' }), registry)).toEqual([
      {
        code: 'invalid_param',
        nodeId: 'n1',
        param: 'size',
        message: 'node "n1" (Demo): small makes 1:1, not 21:9',
      },
    ]);
    expect(validateGraph(doc({ model: 'wide', size: '21:9' }), registry)).toEqual([]);
  });

  it('runs only on params that passed the zod schema', () => {
    const problems = validateGraph(doc({ model: 'huge' }), registry);
    expect(problems.map((p) => p.param)).toEqual(['model']);
  });
});
