import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LIMITS } from './document';
import { loadGraph as loadGraphWith } from './load';
import type { LoadResult } from './load';
import { TEST_REGISTRY } from '../testing/test-registry';
import type { NodeRegistry } from './problems';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);

const characterShort = readFileSync(
  new URL('./fixtures/character-short.v1.json', import.meta.url),
  'utf8',
);

function minimal(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'character-lab/graph',
    version: 1,
    id: 'wf_min',
    name: 'Minimal',
    nodes: [
      { id: 'script', type: 'script-input', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
    ],
    edges: [],
    ...extra,
  };
}

function errorsOf(result: LoadResult) {
  if (result.ok) throw new Error('expected the load to fail');
  return result.errors;
}

function codesOf(result: LoadResult): string[] {
  return errorsOf(result).map((error) => error.code);
}

describe('loadGraph: happy paths', () => {
  it('loads the character-short fixture from text and from a parsed value alike', () => {
    const fromText = loadGraph(characterShort);
    const fromValue = loadGraph(JSON.parse(characterShort));
    expect(fromText.ok).toBe(true);
    expect(fromValue).toEqual(fromText);
    if (!fromText.ok) return;
    expect(fromText.graph.nodes.map((n) => n.id)).toEqual([
      'script',
      'character',
      'story',
      'frames',
      'clips',
      'merge',
    ]);
    expect(fromText.migratedFrom).toBeUndefined();
  });

  it('fills missing params with defaults (definition order) and the optional document fields', () => {
    const result = loadGraph(
      minimal({
        nodes: [
          {
            id: 'story',
            type: 'gpt-storyboard',
            typeVersion: 1,
            position: { x: 1, y: 2 },
            params: { shots: 6 },
          },
        ],
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(Object.entries(result.graph.nodes[0].params)).toEqual([
      ['provider', 'auto'],
      ['model', 'gpt-5.4-mini'],
      ['shots', 6],
      ['shotDurationSec', 2],
      ['style', 'cinematic, soft light'],
    ]);
    expect(result.graph.description).toBe('');
    expect(result.graph.exposed).toEqual([]);
    expect(result.graph.meta).toEqual({});
  });

  it('keeps invalid and unknown param values for the validator to report by name', () => {
    const result = loadGraph(
      minimal({
        nodes: [
          {
            id: 'story',
            type: 'gpt-storyboard',
            typeVersion: 1,
            position: { x: 0, y: 0 },
            params: { shots: 99, shotz: 3 },
          },
        ],
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.graph.nodes[0].params).toMatchObject({ shots: 99, shotz: 3, provider: 'auto' });
  });

  it('loads unknown node types untouched (validate reports them)', () => {
    const result = loadGraph(
      minimal({
        nodes: [
          {
            id: 'x',
            type: 'upscaler-9000',
            typeVersion: 7,
            position: { x: 0, y: 0 },
            params: { factor: 4 },
          },
        ],
      }),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.graph.nodes[0]).toEqual({
      id: 'x',
      type: 'upscaler-9000',
      typeVersion: 7,
      position: { x: 0, y: 0 },
      params: { factor: 4 },
    });
  });

  it('does not change its input', () => {
    const input = minimal();
    const copy = structuredClone(input);
    loadGraph(input);
    expect(input).toEqual(copy);
  });
});

describe('loadGraph: errors', () => {
  it('invalid_json names the parse error', () => {
    const errors = errorsOf(loadGraph('{ "schema": "character-lab/graph", '));
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('invalid_json');
    expect(errors[0].message).toMatch(/not valid JSON \(.+\): export it again/);
  });

  it('document_too_large counts UTF-8 bytes, for text and parsed values', () => {
    const big = minimal({ description: 'x'.repeat(LIMITS.maxDocumentBytes) });
    expect(codesOf(loadGraph(JSON.stringify(big)))).toEqual(['document_too_large']);
    expect(codesOf(loadGraph(big))).toEqual(['document_too_large']);
    // 350,000 three-byte characters: under the limit in UTF-16 units, over it in bytes.
    const wide = JSON.stringify(minimal({ description: '€'.repeat(350_000) }));
    expect(wide.length).toBeLessThan(LIMITS.maxDocumentBytes);
    const errors = errorsOf(loadGraph(wide));
    expect(errors[0].code).toBe('document_too_large');
    expect(errors[0].message).toMatch(/1,050,\d{3} bytes, over the 1,000,000-byte limit/);
    // Just under the limit still loads (the description's own limit then applies).
    const under = JSON.stringify(minimal({ description: '' }));
    expect(loadGraph(under).ok).toBe(true);
  });

  it('too_many_nodes and too_many_edges are reported together', () => {
    const nodes = Array.from({ length: LIMITS.maxNodes + 1 }, (_, i) => ({
      id: `n${i}`,
      type: 'script-input',
      typeVersion: 1,
      position: { x: 0, y: 0 },
      params: {},
    }));
    const edges = Array.from({ length: LIMITS.maxEdges + 1 }, (_, i) => ({
      id: `e${i}`,
      source: 'n0',
      sourcePort: 'text',
      target: 'n1',
      targetPort: 'script',
    }));
    const errors = errorsOf(loadGraph(minimal({ nodes, edges })));
    expect(errors.map((e) => e.code)).toEqual(['too_many_nodes', 'too_many_edges']);
    expect(errors[0].message).toContain('1,001 nodes, over the limit of 1,000');
    expect(errors[1].message).toContain('4,001 edges, over the limit of 4,000');
    // At the limit is fine.
    expect(
      loadGraph(
        minimal({ nodes: nodes.slice(0, LIMITS.maxNodes), edges: edges.slice(0, LIMITS.maxEdges) }),
      ).ok,
    ).toBe(true);
  });

  it('too_many_nodes also applies to old documents, after their migration', () => {
    const nodes = Array.from({ length: LIMITS.maxNodes + 1 }, (_, i) => ({
      id: `n${i}`,
      type: 'script-input',
      position: { x: 0, y: 0 },
      data: {},
    }));
    expect(codesOf(loadGraph({ version: 0, id: 'old', name: 'Old', nodes, links: [] }))).toEqual([
      'too_many_nodes',
    ]);
  });

  it('unsupported_version for documents from a newer or impossible version', () => {
    const newer = errorsOf(loadGraph(minimal({ version: 2 })));
    expect(newer).toEqual([
      {
        code: 'unsupported_version',
        message: expect.stringMatching(/newer Character Lab.*upgrade/),
      },
    ]);
    expect(codesOf(loadGraph(minimal({ version: -1 })))).toEqual(['unsupported_version']);
  });

  it('unsupported_version for a node saved by a newer node type', () => {
    const errors = errorsOf(
      loadGraph(
        minimal({
          nodes: [
            {
              id: 'greet',
              type: 'test-greeter',
              typeVersion: 4,
              position: { x: 0, y: 0 },
              params: {},
            },
            {
              id: 'script',
              type: 'script-input',
              typeVersion: 2,
              position: { x: 0, y: 0 },
              params: {},
            },
          ],
        }),
        TEST_REGISTRY,
      ),
    );
    expect(errors.map((e) => [e.code, e.nodeId])).toEqual([
      ['unsupported_version', 'greet'],
      ['unsupported_version', 'script'],
    ]);
    expect(errors[0].message).toContain('test-greeter version 4; this one knows up to 3');
  });

  it('invalid_document when the input is not an object or has no usable version', () => {
    expect(errorsOf(loadGraph('[1,2]'))[0]).toMatchObject({
      code: 'invalid_document',
      message: expect.stringContaining('got an array'),
    });
    expect(codesOf(loadGraph('null'))).toEqual(['invalid_document']);
    expect(errorsOf(loadGraph(minimal({ version: undefined })))[0].message).toContain(
      'got nothing',
    );
    expect(errorsOf(loadGraph(minimal({ version: '1' })))[0].message).toContain('got "1"');
    expect(errorsOf(loadGraph(minimal({ schema: 'comfyui/workflow' })))[0].message).toContain(
      'not a Character Lab graph',
    );
    const cyclic: Record<string, unknown> = minimal();
    cyclic.meta = { self: cyclic };
    expect(errorsOf(loadGraph(cyclic))[0]).toMatchObject({
      code: 'invalid_document',
      message: /cannot be written as JSON/,
    });
  });

  it('invalid_document lists every schema issue with its path and the node or edge it is in', () => {
    const errors = errorsOf(
      loadGraph(
        minimal({
          extra: true,
          nodes: [
            {
              id: 'ok',
              type: 'script-input',
              typeVersion: 1,
              position: { x: 0, y: 0 },
              params: {},
            },
            {
              id: 'bad',
              type: 'script-input',
              typeVersion: 1,
              position: { x: 'left', y: 0 },
              params: {},
            },
          ],
          edges: [{ id: 'e1', source: 'ok', sourcePort: 'text', target: 'bad' }],
        }),
      ),
    );
    expect(errors).toEqual([
      {
        code: 'invalid_document',
        nodeId: 'bad',
        message: expect.stringMatching(/^nodes\[1\]\.position\.x: Invalid input: expected number/),
      },
      {
        code: 'invalid_document',
        edgeId: 'e1',
        message: expect.stringMatching(
          /^edges\[0\]\.targetPort: .*export it again from the studio$/,
        ),
      },
      {
        code: 'invalid_document',
        message: expect.stringMatching(/^the document: Unrecognized key: "extra"/),
      },
    ]);
  });

  it('a malformed old document is migrated as far as it goes, then reported with paths', () => {
    const errors = errorsOf(
      loadGraph({
        version: 0,
        id: 'old',
        name: 'Old',
        nodes: [{ id: 'script', type: 'script-input', position: { x: 0, y: 0 }, data: {} }],
        links: [{ from: 'script.text', to: { node: 'x', port: 'y' } }],
      }),
    );
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^edges\[0\]\.id: /),
      expect.stringMatching(/^edges\[0\]\.source: /),
      expect.stringMatching(/^edges\[0\]\.sourcePort: /),
      expect.stringMatching(/^edges\[0\]\.target: /),
      expect.stringMatching(/^edges\[0\]\.targetPort: /),
      expect.stringMatching(/^edges\[0\]: Unrecognized keys: "from", "to"/),
    ]);
    expect(
      errorsOf(loadGraph({ version: 0, id: 'old', name: 'Old', nodes: [] }))[0].message,
    ).toMatch(/^edges: Invalid input: expected array, received undefined/);
  });

  it('caps a flood of schema issues and says how many more there are', () => {
    const nodes = Array.from({ length: 80 }, (_, i) => ({ id: `n${i}`, type: 'script-input' }));
    const errors = errorsOf(loadGraph(minimal({ nodes })));
    expect(errors).toHaveLength(51);
    expect(errors.at(-1)!.message).toMatch(/and \d+ more problems/);
  });
});

describe('the pipeline modules stay browser- and worker-safe', () => {
  it.each([
    'canonical',
    'migrations',
    'load',
    'validate',
    'compile',
    'apply-values',
    'json-schema',
  ])('%s.ts imports only zod, sibling graph modules and the node registry', (name) => {
    const source = readFileSync(new URL(`./${name}.ts`, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import[^;]*? from '([^']+)';/gms)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) {
      expect(specifier, `${name}.ts imports ${specifier}`).toMatch(
        /^(zod|\.\/[a-z-]+|\.\.\/\.\.\/nodes\/definitions)$/,
      );
    }
  });
});
