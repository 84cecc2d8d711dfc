/**
 * Loading a graph document from anything a user can hand us (a file's text, a request body):
 * parse → size limits → document migrations → per-node param migrations → strict parse →
 * param defaults. Pure and browser-safe. Whether the graph makes sense (known types, wired
 * ports, no cycles) is validate.ts's job: an unknown node type loads fine and is reported there.
 */
import { GRAPH_SCHEMA_ID, GRAPH_VERSION, LIMITS, graphDocumentSchema } from './document';
import type { GraphDocument } from './document';
import {
  MigrationFailed,
  OLDEST_DOCUMENT_VERSION,
  migrateDocument,
  migrateNodeParams,
} from './migrations';
import type { NodeRegistry, ValidationProblem } from './problems';

/** A migration that ran while loading: document-wide, or on one node's params. */
export interface AppliedMigration {
  name: string;
  nodeId?: string;
  type?: string;
}

/** What `loadGraph` returns: the current-version document, or every reason it could not load. */
export type LoadResult =
  | {
      ok: true;
      graph: GraphDocument;
      /** The document version the input was saved with, when older than the current one. */
      migratedFrom?: number;
      migrations: AppliedMigration[];
    }
  | { ok: false; errors: ValidationProblem[] };

type Json = Record<string, unknown>;

/**
 * Loads a graph document from JSON text or an already parsed value. Bad input never throws:
 * it comes back as `{ ok: false, errors }`, each error with a stable code.
 */
export function loadGraph(input: unknown, registry: NodeRegistry): LoadResult {
  const parsed = parseInput(input);
  if (!parsed.ok) return parsed;
  const raw = parsed.value;

  const version = readVersion(raw);
  if (!version.ok) return version;

  let doc: Json;
  const migrations: AppliedMigration[] = [];
  try {
    const migrated = migrateDocument(raw, version.value);
    doc = migrated.doc;
    migrations.push(...migrated.applied.map((name) => ({ name })));
  } catch (error) {
    return fail(migrationProblem(error, 'the document'));
  }

  const limits = checkCounts(doc);
  if (limits.length > 0) return { ok: false, errors: limits };

  const nodeResult = migrateNodes(doc, registry, migrations);
  if (nodeResult.length > 0) return { ok: false, errors: nodeResult };

  const strict = graphDocumentSchema.safeParse(doc);
  if (!strict.success) return { ok: false, errors: describeIssues(strict.error.issues, doc) };

  const graph = fillParamDefaults(strict.data, registry);
  return {
    ok: true,
    graph,
    ...(version.value < GRAPH_VERSION ? { migratedFrom: version.value } : {}),
    migrations,
  };
}

function fail(problem: ValidationProblem): { ok: false; errors: ValidationProblem[] } {
  return { ok: false, errors: [problem] };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseInput(
  input: unknown,
): { ok: true; value: Json } | { ok: false; errors: ValidationProblem[] } {
  let value: unknown = input;
  if (typeof input === 'string') {
    const tooLarge = checkSize(input);
    if (tooLarge) return fail(tooLarge);
    try {
      value = JSON.parse(input);
    } catch (error) {
      return fail({
        code: 'invalid_json',
        message: `the graph is not valid JSON (${error instanceof Error ? error.message : String(error)}): export it again from the studio or fix the file`,
      });
    }
  } else {
    let text: string | undefined;
    try {
      text = JSON.stringify(input);
    } catch (error) {
      return fail({
        code: 'invalid_document',
        message: `the graph cannot be written as JSON (${error instanceof Error ? error.message : String(error)}): send plain JSON data`,
      });
    }
    const tooLarge = text === undefined ? undefined : checkSize(text);
    if (tooLarge) return fail(tooLarge);
    // Round-trip so migrations see plain JSON, exactly what a saved file would hold.
    value = text === undefined ? undefined : JSON.parse(text);
  }
  if (!isObject(value)) {
    return fail({
      code: 'invalid_document',
      message: `a graph document is a JSON object with "schema": "${GRAPH_SCHEMA_ID}", got ${describeJsonType(value)}: export the graph again from the studio`,
    });
  }
  if (nestsDeeperThan(value, MAX_DOCUMENT_DEPTH)) {
    return fail({
      code: 'document_too_deep',
      message: `the graph nests deeper than ${MAX_DOCUMENT_DEPTH} levels of objects and arrays (a graph document needs about ten): flatten the deeply nested value, or export the graph again from the studio`,
    });
  }
  return { ok: true, value };
}

/**
 * How deeply a document may nest. JSON.parse takes any depth, but the recursive code that
 * walks a document afterwards (structuredClone in the migrations, zod) overflows the stack a
 * few thousand levels down, which would surface as a RangeError instead of a problem. The
 * server caps JSON bodies at the same depth before parsing (engine/server/graph-input.ts).
 */
const MAX_DOCUMENT_DEPTH = 100;

/** Whether plain JSON data nests objects/arrays deeper than `max`; iterative, so any depth is safe. */
function nestsDeeperThan(root: unknown, max: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth > max) return true;
    for (const child of Object.values(next.value))
      pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function checkSize(text: string): ValidationProblem | undefined {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so long strings fail without counting.
  const bytes = text.length > LIMITS.maxDocumentBytes ? text.length : utf8Length(text);
  if (bytes <= LIMITS.maxDocumentBytes) return undefined;
  return {
    code: 'document_too_large',
    message: `the graph is ${bytes.toLocaleString('en')}${text.length > LIMITS.maxDocumentBytes ? '+' : ''} bytes, over the ${LIMITS.maxDocumentBytes.toLocaleString('en')}-byte limit: split it into smaller graphs (large data belongs in artifacts, referenced by id)`,
  };
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function readVersion(
  raw: Json,
): { ok: true; value: number } | { ok: false; errors: ValidationProblem[] } {
  if (raw.schema !== undefined && raw.schema !== GRAPH_SCHEMA_ID) {
    return fail({
      code: 'invalid_document',
      message: `"schema" is ${JSON.stringify(raw.schema)}, not "${GRAPH_SCHEMA_ID}": this is not a Character Lab graph document`,
    });
  }
  const version = raw.version;
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    return fail({
      code: 'invalid_document',
      message: `"version" must be a whole number (got ${version === undefined ? 'nothing' : JSON.stringify(version)}): a current document has "version": ${GRAPH_VERSION}`,
    });
  }
  if (version > GRAPH_VERSION) {
    return fail({
      code: 'unsupported_version',
      message: `the graph was saved by a newer Character Lab (document version ${version}; this one reads up to ${GRAPH_VERSION}): upgrade Character Lab to open it`,
    });
  }
  if (version < OLDEST_DOCUMENT_VERSION) {
    return fail({
      code: 'unsupported_version',
      message: `document version ${version} never existed (the oldest is ${OLDEST_DOCUMENT_VERSION}): fix "version" or export the graph again`,
    });
  }
  return { ok: true, value: version };
}

function migrationProblem(error: unknown, what: string, nodeId?: string): ValidationProblem {
  if (!(error instanceof MigrationFailed)) throw error;
  return {
    code: 'migration_failed',
    ...(nodeId === undefined ? {} : { nodeId }),
    message: `${what} could not be upgraded: ${error.message}: fix the value by hand or report the file as a bug`,
  };
}

function checkCounts(doc: Json): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (Array.isArray(doc.nodes) && doc.nodes.length > LIMITS.maxNodes) {
    problems.push({
      code: 'too_many_nodes',
      message: `the graph has ${doc.nodes.length.toLocaleString('en')} nodes, over the limit of ${LIMITS.maxNodes.toLocaleString('en')}: split it into smaller graphs`,
    });
  }
  if (Array.isArray(doc.edges) && doc.edges.length > LIMITS.maxEdges) {
    problems.push({
      code: 'too_many_edges',
      message: `the graph has ${doc.edges.length.toLocaleString('en')} edges, over the limit of ${LIMITS.maxEdges.toLocaleString('en')}: split it into smaller graphs`,
    });
  }
  return problems;
}

/**
 * Brings each known node's params to its definition's version, in place on the (already
 * copied) document. Nodes of unknown types, or too malformed to tell, are left for the strict
 * parse and the validator to report.
 */
function migrateNodes(
  doc: Json,
  registry: NodeRegistry,
  applied: AppliedMigration[],
): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (!Array.isArray(doc.nodes)) return problems;
  for (const node of doc.nodes as unknown[]) {
    if (!isObject(node) || typeof node.type !== 'string') continue;
    const definition = registry.get(node.type);
    const from = node.typeVersion;
    if (!definition || typeof from !== 'number' || !Number.isInteger(from) || from < 1) continue;
    const nodeId = typeof node.id === 'string' ? node.id : undefined;
    const name = `node "${nodeId ?? '?'}" (${definition.title})`;
    if (from > definition.version) {
      problems.push({
        code: 'unsupported_version',
        ...(nodeId === undefined ? {} : { nodeId }),
        message: `${name} was saved by a newer Character Lab (${node.type} version ${from}; this one knows up to ${definition.version}): upgrade Character Lab to open it`,
      });
      continue;
    }
    if (from === definition.version || !isObject(node.params)) continue;
    try {
      const migrated = migrateNodeParams(definition, node.params, from);
      node.params = migrated.params;
      node.typeVersion = definition.version;
      applied.push(
        ...migrated.applied.map((migration) => ({
          name: migration,
          type: definition.type,
          ...(nodeId === undefined ? {} : { nodeId }),
        })),
      );
    } catch (error) {
      problems.push(migrationProblem(error, name, nodeId));
    }
  }
  return problems;
}

const MAX_REPORTED_ISSUES = 50;

function describeIssues(
  issues: readonly { path: PropertyKey[]; message: string }[],
  doc: Json,
): ValidationProblem[] {
  const problems = issues.slice(0, MAX_REPORTED_ISSUES).map((issue): ValidationProblem => {
    const path = formatPath(issue.path);
    const owner = ownerOf(issue.path, doc);
    return {
      code: 'invalid_document',
      ...owner,
      message: `${path || 'the document'}: ${issue.message}: fix the file or export it again from the studio`,
    };
  });
  if (issues.length > MAX_REPORTED_ISSUES) {
    problems.push({
      code: 'invalid_document',
      message: `…and ${issues.length - MAX_REPORTED_ISSUES} more problems of the same kind: fix the ones above first`,
    });
  }
  return problems;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

/** Which node or edge an issue's path points into, so the editor can highlight it. */
function ownerOf(path: readonly PropertyKey[], doc: Json): { nodeId?: string; edgeId?: string } {
  if (typeof path[1] !== 'number') return {};
  const list = path[0] === 'nodes' ? doc.nodes : path[0] === 'edges' ? doc.edges : undefined;
  const item: unknown = Array.isArray(list) ? list[path[1]] : undefined;
  if (!isObject(item) || typeof item.id !== 'string') return {};
  return path[0] === 'nodes' ? { nodeId: item.id } : { edgeId: item.id };
}

/**
 * Adds each known node's missing params with their defaults, definition keys first, so a
 * saved document states every value it runs with. Present values are kept as they are
 * (invalid ones included: the validator reports them with the node's name).
 */
function fillParamDefaults(doc: GraphDocument, registry: NodeRegistry): GraphDocument {
  return {
    ...doc,
    nodes: doc.nodes.map((node) => {
      const defaults = registry.get(node.type)?.params.safeParse({});
      if (!defaults?.success) return node;
      const given = Object.entries(node.params).filter(([, value]) => value !== undefined);
      const params: Record<string, unknown> = { ...defaults.data };
      for (const [key, value] of given) params[key] = value;
      return { ...node, params };
    }),
  };
}
