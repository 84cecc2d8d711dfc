import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineNode } from './define-node';

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
