/**
 * Copy and paste as graph JSON. A copied selection is a complete graph document, so it can be
 * pasted into another tab, saved as a file or imported; pasting accepts a document of any
 * supported version (migrated by the engine's own loader) or a bare `{ nodes, edges }`.
 */
import { serializeGraph } from '../../../engine/graph/canonical';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../../../engine/graph/document';
import type { GraphDocument, GraphEdge, GraphNode } from '../../../engine/graph/document';
import type { GraphSchema } from '../../../engine/graph/schema';
import type { GraphProblem } from '../api/types';
import { uniqueId } from './catalog';

export interface GraphFragment {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The selected nodes and the edges between them, as a graph document's text. */
export function copySelection(
  nodes: readonly GraphNode[],
  edges: readonly GraphEdge[],
  selected: ReadonlySet<string>,
): string | null {
  const picked = nodes.filter((node) => selected.has(node.id));
  if (picked.length === 0) return null;
  const doc: GraphDocument = {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: 'clipboard',
    name: picked.length === 1 ? `Copied ${picked[0].type}` : `${picked.length} copied nodes`,
    description: '',
    nodes: picked,
    edges: edges.filter((edge) => selected.has(edge.source) && selected.has(edge.target)),
    exposed: [],
    meta: {},
  };
  return serializeGraph(doc);
}

export type PasteResult =
  | { kind: 'graph'; fragment: GraphFragment; migratedFrom?: number }
  | { kind: 'problems'; problems: GraphProblem[] }
  /** Plain text that is not meant as a graph: let the paste go wherever it was going. */
  | { kind: 'not-graph' };

let schemaLoad: Promise<Pick<GraphSchema, 'load'>> | undefined;

/**
 * The engine's graph loader, fetched on first use: building it defines and checks every node
 * type's schemas, work the studio's first render should not wait for (see bench/RESULTS.md).
 */
export function loadGraphSchema(): Promise<Pick<GraphSchema, 'load'>> {
  schemaLoad ??= import('../../../nodes/definitions').then((module) => module.graphSchema);
  return schemaLoad;
}

/**
 * Reads pasted text. Anything that is not JSON shaped like a graph is `not-graph`; JSON that
 * means to be a graph but is broken comes back with every problem.
 */
export function parsePaste(text: string, schema: Pick<GraphSchema, 'load'>): PasteResult {
  const read = readPaste(text);
  return read.kind === 'document' ? loadPasted(read.doc, schema) : read;
}

/** The synchronous half of `parsePaste`: is it meant as a graph, and is it JSON at all? */
export function readPaste(
  text: string,
): Exclude<PasteResult, { kind: 'graph' }> | { kind: 'document'; doc: Record<string, unknown> } {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return { kind: 'not-graph' };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    if (!/"(nodes|edges|schema)"\s*:/.test(trimmed)) return { kind: 'not-graph' };
    return {
      kind: 'problems',
      problems: [
        {
          code: 'invalid_json',
          message: `the pasted graph is not valid JSON (${error instanceof Error ? error.message : String(error)}): copy it again`,
        },
      ],
    };
  }
  const doc = asDocument(value);
  return doc ? { kind: 'document', doc } : { kind: 'not-graph' };
}

/** Loads a pasted document with the engine's loader (migrations, strict parse). */
export function loadPasted(
  doc: Record<string, unknown>,
  schema: Pick<GraphSchema, 'load'>,
): Exclude<PasteResult, { kind: 'not-graph' }> {
  const loaded = schema.load(doc);
  if (!loaded.ok) return { kind: 'problems', problems: loaded.errors };
  return {
    kind: 'graph',
    fragment: { nodes: loaded.graph.nodes, edges: loaded.graph.edges },
    ...(loaded.migratedFrom === undefined ? {} : { migratedFrom: loaded.migratedFrom }),
  };
}

/** A document, or a bare `{ nodes, edges }` / node list made into one; null if neither. */
function asDocument(value: unknown): Record<string, unknown> | null {
  if (Array.isArray(value)) {
    return value.length > 0 && value.every((item) => isObject(item) && 'type' in item)
      ? wrap({ nodes: value, edges: [] })
      : null;
  }
  if (!isObject(value)) return null;
  if ('schema' in value || 'version' in value) return value;
  if (Array.isArray(value.nodes)) return wrap({ nodes: value.nodes, edges: value.edges ?? [] });
  return null;
}

function wrap(body: { nodes: unknown; edges: unknown }): Record<string, unknown> {
  return { schema: GRAPH_SCHEMA_ID, version: GRAPH_VERSION, id: 'pasted', name: 'Pasted', ...body };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Places a fragment into a graph: ids that are taken get a free variant (edges follow),
 * edges to nodes outside the fragment are dropped, and the fragment's top-left corner moves
 * to `at` (or shifts by `offset` when no point is given).
 */
export function placeFragment(
  fragment: GraphFragment,
  takenNodeIds: ReadonlySet<string>,
  takenEdgeIds: ReadonlySet<string>,
  placement: { at: { x: number; y: number } } | { offset: { x: number; y: number } },
): GraphFragment {
  const nodeIds = new Set(takenNodeIds);
  const rename = new Map<string, string>();
  for (const node of fragment.nodes) {
    const id = uniqueId(node.id, nodeIds);
    nodeIds.add(id);
    rename.set(node.id, id);
  }
  let dx = 0;
  let dy = 0;
  if ('at' in placement) {
    const minX = Math.min(...fragment.nodes.map((n) => n.position.x));
    const minY = Math.min(...fragment.nodes.map((n) => n.position.y));
    dx = placement.at.x - minX;
    dy = placement.at.y - minY;
  } else {
    dx = placement.offset.x;
    dy = placement.offset.y;
  }
  const nodes = fragment.nodes.map((node) => ({
    ...node,
    id: rename.get(node.id)!,
    position: { x: Math.round(node.position.x + dx), y: Math.round(node.position.y + dy) },
    params: structuredClone(node.params),
  }));
  const edgeIds = new Set(takenEdgeIds);
  const edges: GraphEdge[] = [];
  for (const edge of fragment.edges) {
    const source = rename.get(edge.source);
    const target = rename.get(edge.target);
    if (!source || !target) continue;
    const id = uniqueId(edge.id, edgeIds);
    edgeIds.add(id);
    edges.push({ ...edge, id, source, target });
  }
  return { nodes, edges };
}
