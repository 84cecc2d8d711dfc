/**
 * Canonical JSON (for hashing) and the graph save format (for diffing). Pure and browser-safe.
 *
 * Two different orders on purpose: hashes need one spelling per value whatever the key order
 * a client sent (sorted keys, no whitespace); saved files need to read like the example in
 * DESIGN.md §2 (document, node and edge keys in a fixed, human order, 2-space JSON).
 */
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from './document';
import type { ExposedParam, GraphDocument, GraphEdge, GraphNode } from './document';

/**
 * JSON with object keys sorted at every depth and no whitespace: equal values give equal
 * strings, so the result can be hashed (cache keys). Follows JSON.stringify's rules for
 * `undefined` (dropped from objects, `null` in arrays), non-finite numbers (`null`) and
 * `toJSON()`; throws on cycles and bigints like JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value, new Set())) ?? 'null';
}

function sortKeysDeep(value: unknown, ancestors: Set<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return sortKeysDeep(withJson.toJSON(), ancestors);
  if (ancestors.has(value)) throw new TypeError('canonicalJson: the value contains a cycle');
  ancestors.add(value);
  let result: unknown;
  if (Array.isArray(value)) {
    result = value.map((item) => sortKeysDeep(item, ancestors));
  } else {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key], ancestors);
    }
    result = sorted;
  }
  ancestors.delete(value);
  return result;
}

/**
 * The save format: always the current schema id and version, keys in the order of the
 * documented example, params and meta with sorted keys (their order carries no meaning, so
 * an editor that sets them in another order must not produce a diff), 2-space JSON and a
 * trailing newline. Keys outside the schema are not written.
 */
export function serializeGraph(doc: GraphDocument): string {
  const ordered = {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: doc.id,
    name: doc.name,
    description: doc.description ?? '',
    nodes: doc.nodes.map(orderNode),
    edges: doc.edges.map(orderEdge),
    exposed: (doc.exposed ?? []).map(orderExposed),
    meta: sortKeysDeep(doc.meta ?? {}, new Set()),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function orderNode(node: GraphNode): Record<string, unknown> {
  return {
    id: node.id,
    type: node.type,
    typeVersion: node.typeVersion,
    ...(node.label === undefined ? {} : { label: node.label }),
    position: { x: node.position.x, y: node.position.y },
    params: sortKeysDeep(node.params, new Set()),
  };
}

function orderEdge(edge: GraphEdge): Record<string, unknown> {
  return {
    id: edge.id,
    source: edge.source,
    sourcePort: edge.sourcePort,
    target: edge.target,
    targetPort: edge.targetPort,
  };
}

function orderExposed(entry: ExposedParam): Record<string, unknown> {
  return {
    nodeId: entry.nodeId,
    param: entry.param,
    label: entry.label,
    ...(entry.help === undefined ? {} : { help: entry.help }),
    ...(entry.default === undefined ? {} : { default: sortKeysDeep(entry.default, new Set()) }),
  };
}
