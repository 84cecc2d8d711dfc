import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NODE_DEFINITIONS } from '../../nodes/definitions';
import { compile } from './compile';
import { defineNode } from './define-node';
import type { NodeDefinition } from './define-node';
import { loadGraph as loadGraphWith } from './load';
import {
  DOCUMENT_MIGRATIONS,
  MigrationFailed,
  OLDEST_DOCUMENT_VERSION,
  assertMigrationSequence,
  migrateDocument,
  migrateNodeParams,
} from './migrations';
import { TEST_REGISTRY, testGreeter } from '../testing/test-registry';
import { validateGraph as validateGraphWith } from './validate';
import type { NodeRegistry } from './problems';
import type { GraphDocument } from './document';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);
const validateGraph = (doc: GraphDocument, registry: NodeRegistry = TEST_REGISTRY) =>
  validateGraphWith(doc, registry);

const FIXTURES = new URL('./fixtures/migrations/', import.meta.url);

function readJson(path: URL): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** `document/<name>` or `<node type>/<name>`: what the guard expects a fixture to have run. */
const exercised = new Set<string>();

/** Every migration the shipped registry (plus the test-only types) and documents carry. */
const everyMigration = [
  ...DOCUMENT_MIGRATIONS.map((m) => `document/${m.name}`),
  ...[...TEST_REGISTRY.values()].flatMap((d) => d.migrations.map((m) => `${d.type}/${m.name}`)),
];

function fixtureNames(dir: URL): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.before.json'))
    .map((file) => file.slice(0, -'.before.json'.length))
    .sort();
}

describe('document migration fixtures', () => {
  const dir = new URL('document/', FIXTURES);
  it.each(fixtureNames(dir))('%s turns its before fixture into its after fixture', (name) => {
    const migration = DOCUMENT_MIGRATIONS.find((m) => m.name === name);
    expect(migration, `fixture for unknown document migration ${name}`).toBeDefined();
    const before = readJson(new URL(`${name}.before.json`, dir));
    const after = readJson(new URL(`${name}.after.json`, dir));
    const frozen = structuredClone(before);
    const result = migrateDocument(before, migration!.to - 1, migration!.to);
    expect(result.applied).toEqual([name]);
    expect(result.doc).toEqual(after);
    expect(before, 'migrations work on a copy').toEqual(frozen);
    exercised.add(`document/${name}`);
  });
});

const nodeFixtureDirs = existsSync(new URL('nodes/', FIXTURES))
  ? readdirSync(new URL('nodes/', FIXTURES)).sort()
  : [];

describe.each(nodeFixtureDirs)('%s param migration fixtures', (type) => {
  const dir = new URL(`nodes/${type}/`, FIXTURES);
  it.each(fixtureNames(dir))('%s turns its before fixture into its after fixture', (name) => {
    const definition = TEST_REGISTRY.get(type);
    expect(definition, `fixtures for unknown node type ${type}`).toBeDefined();
    const migration = definition!.migrations.find((m) => m.name === name);
    expect(migration, `fixture for unknown migration ${type}/${name}`).toBeDefined();
    const before = readJson(new URL(`${name}.before.json`, dir));
    const after = readJson(new URL(`${name}.after.json`, dir));
    expect(before.typeVersion).toBe(migration!.to - 1);
    expect(after.typeVersion).toBe(migration!.to);
    const result = migrateNodeParams(
      definition!,
      before.params as Record<string, unknown>,
      before.typeVersion as number,
      after.typeVersion as number,
    );
    expect(result.applied).toEqual([name]);
    expect(result.params).toEqual(after.params);
    exercised.add(`${type}/${name}`);
  });
});

describe('migration guard', () => {
  // Runs after the fixture tests above (vitest runs a file's tests in order).
  it('every migration is exercised by a before/after fixture', () => {
    const missing = everyMigration.filter((id) => !exercised.has(id));
    expect(
      missing,
      `add fixtures/migrations/<document|nodes/<type>>/<name>.{before,after}.json for: ${missing.join(', ')}`,
    ).toEqual([]);
    expect(everyMigration).toContain('document/0001-edges-and-params');
    expect(everyMigration).toContain('test-greeter/0002-split-greeting');
  });

  it('every sequence is numbered and named step by step', () => {
    expect(() =>
      assertMigrationSequence('document', DOCUMENT_MIGRATIONS, OLDEST_DOCUMENT_VERSION),
    ).not.toThrow();
    for (const definition of TEST_REGISTRY.values()) {
      expect(() =>
        assertMigrationSequence(definition.type, definition.migrations, 1),
      ).not.toThrow();
    }
  });

  it('rejects a badly numbered or badly named sequence', () => {
    expect(() => assertMigrationSequence('x', [{ name: '0002-skip', to: 2 }], 0)).toThrow(
      /must migrate to version 1/,
    );
    expect(() => assertMigrationSequence('x', [{ name: 'add-things', to: 1 }], 0)).toThrow(
      /must be named "0001-what-it-does"/,
    );
  });
});

describe('older documents through the whole load pipeline', () => {
  it('a version-0 character short loads to the same graph as the current fixture', () => {
    const legacy = loadGraph(
      readFileSync(new URL('document/0001-edges-and-params.before.json', FIXTURES), 'utf8'),
    );
    const current = loadGraph(
      readFileSync(new URL('../character-short.v1.json', FIXTURES), 'utf8'),
    );
    if (!legacy.ok || !current.ok) throw new Error('fixtures must load');
    expect(legacy.migratedFrom).toBe(0);
    expect(legacy.migrations).toEqual([{ name: '0001-edges-and-params' }]);
    expect(current.migratedFrom).toBeUndefined();
    expect(current.migrations).toEqual([]);
    expect({ ...legacy.graph, meta: {} }).toEqual({ ...current.graph, meta: {} });
    expect(legacy.graph.meta).toEqual({ createdWith: 'character-lab@0.0.9' });
    expect(validateGraph(legacy.graph)).toEqual([]);
  });

  it('a version-0 document with an old node runs document then node migrations, then validates and compiles', () => {
    const result = loadGraph(
      readFileSync(new URL('../greeter.v0.json', FIXTURES), 'utf8'),
      TEST_REGISTRY,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.migratedFrom).toBe(0);
    expect(result.migrations).toEqual([
      { name: '0001-edges-and-params' },
      { name: '0002-split-greeting', type: 'test-greeter', nodeId: 'greet' },
      { name: '0003-name-to-subject', type: 'test-greeter', nodeId: 'greet' },
    ]);
    const greet = result.graph.nodes[0];
    expect(greet).toMatchObject({
      typeVersion: 3,
      params: { salutation: 'Good morning', subject: 'Ada' },
    });
    expect(result.graph.edges).toEqual([
      { id: 'e1', source: 'greet', sourcePort: 'text', target: 'story', targetPort: 'script' },
    ]);
    expect(validateGraph(result.graph, TEST_REGISTRY)).toEqual([]);
    const plan = compile(result.graph, TEST_REGISTRY);
    expect(plan.nodes.greet.step).toEqual({
      kind: 'constant',
      outputs: { text: 'Good morning, Ada' },
    });
    expect(plan.nodes.greet.typeVersion).toBe(3);
  });

  it('a node one version behind runs only the missing migration', () => {
    const doc = {
      schema: 'character-lab/graph',
      version: 1,
      id: 'wf',
      name: 'Half migrated',
      nodes: [
        {
          id: 'greet',
          type: 'test-greeter',
          typeVersion: 2,
          position: { x: 0, y: 0 },
          params: { salutation: 'Hi', name: 'Bo' },
        },
      ],
      edges: [],
    };
    const result = loadGraph(doc, TEST_REGISTRY);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.migratedFrom).toBeUndefined();
    expect(result.migrations.map((m) => m.name)).toEqual(['0003-name-to-subject']);
    expect(result.graph.nodes[0].params).toEqual({ salutation: 'Hi', subject: 'Bo' });
    expect(doc.nodes[0].params, 'the input is not changed').toEqual({
      salutation: 'Hi',
      name: 'Bo',
    });
  });

  it('a migration that throws becomes a migration_failed problem naming the node and migration', () => {
    const fragile = defineNode({
      type: 'fragile',
      version: 2,
      title: 'Fragile',
      category: 'Inputs',
      color: '#9aa5b1',
      description: 'test',
      inputs: {},
      outputs: { text: { type: 'text', label: 'Text' } },
      params: z.object({ n: z.number().default(1) }),
      runsOn: 'inline',
      evaluate: (params) => ({ text: String(params.n) }),
      migrations: [
        {
          name: '0002-explode',
          to: 2,
          up: () => {
            throw new Error('old value "x" has no meaning');
          },
        },
      ],
    });
    const registry = new Map<string, NodeDefinition>([
      ['fragile', fragile as unknown as NodeDefinition],
    ]);
    const result = loadGraph(
      {
        schema: 'character-lab/graph',
        version: 1,
        id: 'wf',
        name: 'n',
        nodes: [
          {
            id: 'f',
            type: 'fragile',
            typeVersion: 1,
            position: { x: 0, y: 0 },
            params: { n: 'x' },
          },
        ],
        edges: [],
      },
      registry,
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          code: 'migration_failed',
          nodeId: 'f',
          message: expect.stringMatching(
            /node "f" \(Fragile\).*fragile\/0002-explode.*old value "x" has no meaning/,
          ),
        },
      ],
    });
    expect(() => migrateNodeParams(fragile, {}, 1)).toThrow(MigrationFailed);
  });

  it('shipped node types and their migration counts agree', () => {
    // When a real node type gets a migration, the guard above demands its fixture.
    for (const definition of NODE_DEFINITIONS) {
      expect(definition.migrations).toHaveLength(definition.version - 1);
    }
    expect(testGreeter.version).toBe(3);
  });
});
