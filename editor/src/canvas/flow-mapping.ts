/**
 * Graph document ↔ React Flow. The document (DESIGN.md §2) is what is saved; React Flow's
 * nodes and edges are how it is drawn. Ports map to handle ids one to one, positions live in
 * the document, and everything React Flow adds (selection, measured size) stays on its side.
 */
import type { Edge, Node } from '@xyflow/react';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../../../engine/graph/document';
import type { GraphDocument, GraphEdge, GraphNode } from '../../../engine/graph/document';
import type { PortKind } from '../../../engine/graph/ports';
import type { Catalog } from './catalog';
import { findPort, portKind } from './catalog';
import { nodeGeometry } from './node-geometry';

export interface GraphNodeData extends Record<string, unknown> {
  type: string;
  typeVersion: number;
  params: Record<string, unknown>;
  label?: string;
}

export type FlowNode = Node<GraphNodeData, 'graph'>;

export interface GraphEdgeData extends Record<string, unknown> {
  /** Kind of the source port, for the edge colour; absent when the port is unknown. */
  kind?: PortKind;
  /** The source port carries a list (drawn thicker). */
  list?: boolean;
}

export type FlowEdge = Edge<GraphEdgeData, 'typed'>;

/** Everything of a document except its nodes and edges. */
export type DocumentMeta = Omit<GraphDocument, 'nodes' | 'edges'>;

/**
 * A document node as React Flow draws it. A node of a known type comes with its size and
 * handles (node-geometry.ts), so React Flow can draw it and its edges before measuring it.
 */
export function toFlowNode(node: GraphNode, catalog: Catalog, previous?: FlowNode): FlowNode {
  const data: GraphNodeData = {
    type: node.type,
    typeVersion: node.typeVersion,
    params: node.params,
    ...(node.label === undefined ? {} : { label: node.label }),
  };
  const info = catalog.get(node.type);
  const geometry = info ? nodeGeometry(info) : undefined;
  // The size measured last (undo/redo of a node showing outputs) beats the idle size.
  const measured =
    previous?.measured ??
    (geometry ? { width: geometry.width, height: geometry.height } : undefined);
  return {
    id: node.id,
    type: 'graph',
    position: { x: node.position.x, y: node.position.y },
    data,
    ...(measured ? { measured } : {}),
    ...(geometry ? { handles: geometry.handles } : {}),
  };
}

export function toFlowEdge(
  edge: GraphEdge,
  nodeTypes: ReadonlyMap<string, string>,
  catalog: Catalog,
): FlowEdge {
  const sourceType = nodeTypes.get(edge.source);
  const port = sourceType ? findPort(catalog, sourceType, 'output', edge.sourcePort) : undefined;
  return {
    id: edge.id,
    type: 'typed',
    source: edge.source,
    sourceHandle: edge.sourcePort,
    target: edge.target,
    targetHandle: edge.targetPort,
    data: port ? { kind: portKind(port.type), list: port.type.endsWith('[]') } : {},
  };
}

/** Draws a document. `previous` nodes lend their measured sizes to nodes with the same id. */
export function toFlow(
  doc: Pick<GraphDocument, 'nodes' | 'edges'>,
  catalog: Catalog,
  previous: readonly FlowNode[] = [],
): { nodes: FlowNode[]; edges: FlowEdge[] } {
  const before = new Map(previous.map((node) => [node.id, node]));
  const nodeTypes = new Map(doc.nodes.map((node) => [node.id, node.type]));
  return {
    nodes: doc.nodes.map((node) => toFlowNode(node, catalog, before.get(node.id))),
    edges: doc.edges.map((edge) => toFlowEdge(edge, nodeTypes, catalog)),
  };
}

export function toGraphNode(node: FlowNode): GraphNode {
  return {
    id: node.id,
    type: node.data.type,
    typeVersion: node.data.typeVersion,
    position: { x: round(node.position.x), y: round(node.position.y) },
    params: node.data.params,
    ...(node.data.label === undefined || node.data.label === '' ? {} : { label: node.data.label }),
  };
}

export function toGraphEdge(edge: FlowEdge): GraphEdge {
  return {
    id: edge.id,
    source: edge.source,
    sourcePort: edge.sourceHandle ?? '',
    target: edge.target,
    targetPort: edge.targetHandle ?? '',
  };
}

/** The document being edited, in the saved shape. */
export function toDocument(
  meta: DocumentMeta,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: meta.id,
    name: meta.name,
    description: meta.description,
    nodes: nodes.map(toGraphNode),
    edges: edges.map(toGraphEdge),
    exposed: meta.exposed,
    meta: meta.meta,
  };
}

/** Positions are saved to a tenth of a pixel: sub-pixel noise from dragging makes diffs unreadable. */
function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export function metaOf(doc: GraphDocument): DocumentMeta {
  const { nodes: _nodes, edges: _edges, ...meta } = doc;
  return meta;
}
