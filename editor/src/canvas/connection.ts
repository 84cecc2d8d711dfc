/**
 * Whether a connection may be made, and why not. The canvas asks while the user drags (to
 * refuse an incompatible handle visibly) and again when the edge is dropped. The one type
 * rule is the engine's `canConnect`, the same the server's validator applies.
 */
import { canConnect } from '../../../engine/graph/ports';
import type { Catalog } from './catalog';
import { findPort } from './catalog';

export interface ConnectionLike {
  source: string | null;
  sourceHandle?: string | null;
  target: string | null;
  targetHandle?: string | null;
}

export interface EdgeLike {
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
}

export type ConnectionVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Checks a connection against port types, self-loops, duplicates and cycles. `nodeType`
 * returns a node's type id (undefined for a node that is not on the canvas).
 */
export function checkConnection(
  connection: ConnectionLike,
  nodeType: (id: string) => string | undefined,
  edges: readonly EdgeLike[],
  catalog: Catalog,
): ConnectionVerdict {
  const { source, target } = connection;
  if (!source || !target) return { ok: false, reason: 'the connection has no end' };
  if (source === target) return { ok: false, reason: 'a node cannot feed itself' };
  const sourceType = nodeType(source);
  const targetType = nodeType(target);
  if (!sourceType || !targetType) return { ok: false, reason: 'the node is gone' };
  const output = findPort(catalog, sourceType, 'output', connection.sourceHandle);
  const input = findPort(catalog, targetType, 'input', connection.targetHandle);
  if (!output || !input)
    return { ok: false, reason: 'connect an output (right) to an input (left)' };
  if (!canConnect(output.type, input.type)) {
    return {
      ok: false,
      reason: `${output.label} (${output.type}) cannot feed ${input.label} (${input.type})`,
    };
  }
  const duplicate = edges.some(
    (edge) =>
      edge.source === source &&
      edge.target === target &&
      edge.sourceHandle === connection.sourceHandle &&
      edge.targetHandle === connection.targetHandle,
  );
  if (duplicate) return { ok: false, reason: 'these ports are already connected' };
  if (reaches(target, source, edges)) {
    return { ok: false, reason: 'this edge would make a loop: data must flow one way' };
  }
  return { ok: true };
}

/** True when `to` can be reached from `from` along edges (so an edge to → from closes a loop). */
export function reaches(from: string, to: string, edges: readonly EdgeLike[]): boolean {
  const outgoing = new Map<string, string[]>();
  for (const edge of edges) {
    const list = outgoing.get(edge.source);
    if (list) list.push(edge.target);
    else outgoing.set(edge.source, [edge.target]);
  }
  const seen = new Set<string>([from]);
  const queue = [from];
  for (let i = 0; i < queue.length; i++) {
    if (queue[i] === to) return true;
    for (const next of outgoing.get(queue[i]) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/** The handle a connection drag started from, as React Flow reports it. */
export interface DragOrigin {
  nodeId: string;
  nodeType: string;
  handleId: string;
  /** `source` when dragging from an output. */
  handleType: 'source' | 'target';
}

/**
 * While dragging from `origin`, whether a handle may be dropped on: opposite side, another
 * node, compatible types. Loops are only checked on drop (it needs the whole edge list).
 */
export function handleAccepts(
  origin: DragOrigin,
  nodeId: string,
  nodeType: string,
  handleId: string,
  handleType: 'source' | 'target',
  catalog: Catalog,
): boolean {
  if (handleType === origin.handleType || nodeId === origin.nodeId) return false;
  const fromOutput = origin.handleType === 'source';
  const output = fromOutput
    ? findPort(catalog, origin.nodeType, 'output', origin.handleId)
    : findPort(catalog, nodeType, 'output', handleId);
  const input = fromOutput
    ? findPort(catalog, nodeType, 'input', handleId)
    : findPort(catalog, origin.nodeType, 'input', origin.handleId);
  return !!output && !!input && canConnect(output.type, input.type);
}
