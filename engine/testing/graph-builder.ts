/**
 * Builds graph documents in tests: `node(id, type, params)` and `edge('a.out', 'b.in')`,
 * filling typeVersion from the registry and positions on a grid.
 */
import {
  GRAPH_SCHEMA_ID,
  GRAPH_VERSION,
  type GraphDocument,
  type GraphEdge,
  type GraphNode,
} from '../graph/document';
import { graphSchema } from '../../nodes/definitions';

export function node(id: string, type: string, params: Record<string, unknown> = {}): GraphNode {
  const definition = graphSchema.definition(type);
  return { id, type, typeVersion: definition?.version ?? 1, position: { x: 0, y: 0 }, params };
}

/** `edge('story.storyboard', 'frames.storyboard')` */
export function edge(from: string, to: string): GraphEdge {
  const [source, sourcePort] = from.split('.');
  const [target, targetPort] = to.split('.');
  return { id: `${from}:${to}`, source, sourcePort, target, targetPort };
}

export function graph(nodes: GraphNode[], edges: GraphEdge[], name = 'test graph'): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: 'wf_test',
    name,
    description: '',
    nodes: nodes.map((n, i) => ({
      ...n,
      position: { x: (i % 4) * 320, y: Math.floor(i / 4) * 240 },
    })),
    edges,
    exposed: [],
    meta: {},
  };
}
