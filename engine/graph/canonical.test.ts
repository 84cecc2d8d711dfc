import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalJson, serializeGraph } from './canonical';
import type { GraphDocument } from './document';
import { loadGraph as loadGraphWith } from './load';
import { TEST_REGISTRY } from '../testing/test-registry';
import type { NodeRegistry } from './problems';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

function load(input: unknown): GraphDocument {
  const result = loadGraph(input);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.graph;
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('spells equal values the same whatever the key order', () => {
    const one = { shots: 4, style: 'noir', nested: { x: 1, y: 2 } };
    const two = { nested: { y: 2, x: 1 }, style: 'noir', shots: 4 };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(canonicalJson(one)).not.toBe(canonicalJson({ ...two, shots: 5 }));
  });

  it('follows JSON.stringify for undefined, non-finite numbers and toJSON', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, Number.NaN] })).toBe('{"b":[null,null]}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ at: new Date('2026-01-02T03:04:05.000Z') })).toBe(
      '{"at":"2026-01-02T03:04:05.000Z"}',
    );
  });

  it('refuses cycles but allows shared (acyclic) references', () => {
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(/cycle/);
  });
});

describe('serializeGraph', () => {
  it('writes the character-short fixture byte for byte (the save format is the fixture format)', () => {
    const text = fixture('character-short.v1.json');
    expect(serializeGraph(load(text))).toBe(text);
  });

  it('round-trips: load → serialize → load is identical, and serializing again changes nothing', () => {
    const first = load(fixture('character-short.v1.json'));
    const saved = serializeGraph(first);
    const second = load(saved);
    expect(second).toEqual(first);
    expect(serializeGraph(second)).toBe(saved);
  });

  it('orders keys like the documented example, whatever order they came in', () => {
    const doc = load(fixture('character-short.v1.json'));
    const shuffled = {
      meta: doc.meta,
      exposed: doc.exposed.map(({ label, param, nodeId }) => ({ label, param, nodeId })),
      edges: doc.edges.map(({ targetPort, target, sourcePort, source, id }) => ({
        targetPort,
        target,
        sourcePort,
        source,
        id,
      })),
      nodes: doc.nodes.map(({ params, position, typeVersion, type, id }) => ({
        params: Object.fromEntries(Object.entries(params).reverse()),
        position: { y: position.y, x: position.x },
        typeVersion,
        type,
        id,
      })),
      description: doc.description,
      name: doc.name,
      id: doc.id,
      version: doc.version,
      schema: doc.schema,
    } as GraphDocument;
    const text = serializeGraph(shuffled);
    expect(text).toBe(fixture('character-short.v1.json'));
    expect(Object.keys(JSON.parse(text))).toEqual([
      'schema',
      'version',
      'id',
      'name',
      'description',
      'nodes',
      'edges',
      'exposed',
      'meta',
    ]);
  });

  it('writes a node label between typeVersion and position, and drops unknown keys', () => {
    const doc = load(fixture('character-short.v1.json'));
    const labelled = {
      ...doc,
      nodes: [{ ...doc.nodes[0], label: 'Opening lines', selected: true }],
      edges: [],
      exposed: [],
    } as unknown as GraphDocument;
    const node = JSON.parse(serializeGraph(labelled)).nodes[0];
    expect(Object.keys(node)).toEqual(['id', 'type', 'typeVersion', 'label', 'position', 'params']);
  });

  it('uses 2-space indentation and ends with a newline', () => {
    const text = serializeGraph(load(fixture('character-short.v1.json')));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "schema": "character-lab/graph",');
  });
});
