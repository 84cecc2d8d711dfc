/**
 * Migrations: how documents and node params saved by older versions become current. Pure,
 * browser- and worker-safe.
 *
 * Two append-only sequences, both named and tested by before/after fixtures
 * (engine/graph/fixtures/migrations/):
 * - DOCUMENT_MIGRATIONS move a whole document from `version` N-1 to N;
 * - each node definition's `migrations` move its params from `typeVersion` N-1 to N.
 * A shipped migration is never edited: fix forward with a new one. Migrations see plain
 * JSON (they run before the strict parse), so they must cope with malformed input by passing
 * it through untouched; the strict parse after them reports it with a path.
 */
import type { NodeDefinition } from './define-node';
import { GRAPH_VERSION } from './document';

/** A named, pure step from document version `to - 1` to `to`. */
export interface DocumentMigration {
  /** `NNNN-what-it-does`, where NNNN is `to`. */
  name: string;
  to: number;
  up(doc: Record<string, unknown>): Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Version 0, the shape before the first public release:
 * `{ version: 0, id, name, description?, nodes: [{ id, type, position, data, label? }],
 *    links: [{ id?, from: { node, port }, to: { node, port } }], exposed?, meta? }`.
 * No `schema` marker, node params under `data`, no `typeVersion` (every node type was at
 * version 1 then), and links in a nested from/to shape with optional ids.
 */
const edgesAndParams: DocumentMigration = {
  name: '0001-edges-and-params',
  to: 1,
  up(doc) {
    const { links, nodes, version: _version, schema: _schema, ...rest } = doc;
    return {
      // Literal, not GRAPH_SCHEMA_ID: a shipped migration must not change when constants do.
      schema: 'character-lab/graph',
      version: 1,
      ...rest,
      // Anything malformed passes through for the strict parse to report with its path.
      nodes: Array.isArray(nodes) ? nodes.map(nodeDataToParams) : nodes,
      ...(links === undefined ? {} : { edges: Array.isArray(links) ? linksToEdges(links) : links }),
    };
  },
};

function nodeDataToParams(node: unknown): unknown {
  if (!isObject(node)) return node;
  const { data, typeVersion, position, ...rest } = node;
  return {
    ...rest,
    typeVersion: typeVersion ?? 1,
    position,
    params: data ?? {},
  };
}

function linksToEdges(links: unknown[]): unknown[] {
  const taken = new Set(links.map((link) => (isObject(link) ? link.id : undefined)));
  let counter = 0;
  const freshId = (): string => {
    let id: string;
    do id = `e${++counter}`;
    while (taken.has(id));
    taken.add(id);
    return id;
  };
  return links.map((link) => {
    if (!isObject(link) || !isObject(link.from) || !isObject(link.to)) return link;
    return {
      id: typeof link.id === 'string' ? link.id : freshId(),
      source: link.from.node,
      sourcePort: link.from.port,
      target: link.to.node,
      targetPort: link.to.port,
    };
  });
}

/** Every document migration, oldest first. Append only. */
export const DOCUMENT_MIGRATIONS: readonly DocumentMigration[] = [edgesAndParams];

/** The oldest document version this build can still read. */
export const OLDEST_DOCUMENT_VERSION = 0;

/** Thrown by the runners when a migration throws; load.ts turns it into a problem. */
export class MigrationFailed extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(
      `migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'MigrationFailed';
  }
}

/**
 * Runs the document migrations after `from`, up to `to` (default: the last one), in order,
 * on a copy. Returns the migrated document and the names of the migrations applied.
 */
export function migrateDocument(
  doc: Json,
  from: number,
  to: number = GRAPH_VERSION,
  migrations: readonly DocumentMigration[] = DOCUMENT_MIGRATIONS,
): { doc: Json; applied: string[] } {
  let current = structuredClone(doc);
  const applied: string[] = [];
  for (const migration of migrations) {
    if (migration.to <= from || migration.to > to) continue;
    current = runStep(migration.name, () => migration.up(current));
    applied.push(migration.name);
  }
  return { doc: current, applied };
}

/**
 * Runs a node type's param migrations after `from`, up to `to` (default: the definition's
 * version), on a copy. The caller checks `from` is not newer than the definition.
 */
export function migrateNodeParams(
  definition: Pick<NodeDefinition, 'type' | 'version' | 'migrations'>,
  params: Json,
  from: number,
  to: number = definition.version,
): { params: Json; applied: string[] } {
  let current = structuredClone(params);
  const applied: string[] = [];
  for (const migration of definition.migrations) {
    if (migration.to <= from || migration.to > to) continue;
    current = runStep(`${definition.type}/${migration.name}`, () => migration.up(current));
    applied.push(migration.name);
  }
  return { params: current, applied };
}

function runStep(name: string, step: () => Json): Json {
  let result: Json;
  try {
    result = step();
  } catch (error) {
    throw new MigrationFailed(name, error);
  }
  if (!isObject(result)) throw new MigrationFailed(name, new Error('it did not return an object'));
  return result;
}

/**
 * Checks a migration list is append-only shaped: step i produces version `first + i + 1`, and
 * its name starts with that version as four digits. Throws at import time if not.
 */
export function assertMigrationSequence(
  scope: string,
  migrations: readonly { name: string; to: number }[],
  first: number,
): void {
  migrations.forEach((migration, i) => {
    const expected = first + i + 1;
    if (migration.to !== expected) {
      throw new Error(`${scope}: migration ${migration.name} must migrate to version ${expected}`);
    }
    const prefix = String(expected).padStart(4, '0');
    if (!new RegExp(`^${prefix}-[a-z0-9]+(-[a-z0-9]+)*$`).test(migration.name)) {
      throw new Error(
        `${scope}: migration ${migration.name} must be named "${prefix}-what-it-does"`,
      );
    }
  });
}

assertMigrationSequence('document', DOCUMENT_MIGRATIONS, OLDEST_DOCUMENT_VERSION);
if (OLDEST_DOCUMENT_VERSION + DOCUMENT_MIGRATIONS.length !== GRAPH_VERSION) {
  throw new Error(`document migrations must end at GRAPH_VERSION ${GRAPH_VERSION}`);
}
