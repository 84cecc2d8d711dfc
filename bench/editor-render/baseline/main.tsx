/**
 * The editor benchmark's floor: bare React Flow 12 as its quick start writes it (controlled
 * nodes and edges, Controls, MiniMap, Background), default node and edge types, drawing the
 * same graph as the studio: the same node ids, positions and edges, fetched over HTTP like the
 * studio fetches a workflow. Only the zoom range and fit padding are set to the studio's, so
 * both pages fit every node on screen at the same scale; nothing here is slowed down or sped up.
 */
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  addEdge,
  useEdgesState,
  useNodesState,
} from '@xyflow/react';
import type { Connection, Edge, Node } from '@xyflow/react';
import { StrictMode, useCallback } from 'react';
import { createRoot } from 'react-dom/client';
import '@xyflow/react/dist/style.css';

interface BenchGraph {
  nodes: { id: string; type: string; position: { x: number; y: number } }[];
  edges: { id: string; source: string; target: string }[];
}

function Flow({ graph }: { graph: BenchGraph }) {
  const [nodes, , onNodesChange] = useNodesState<Node>(
    graph.nodes.map((node) => ({
      id: node.id,
      position: node.position,
      data: { label: node.type },
    })),
  );
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>(
    graph.edges.map((edge) => ({ id: edge.id, source: edge.source, target: edge.target })),
  );
  const onConnect = useCallback(
    (connection: Connection) => setEdges((current) => addEdge(connection, current)),
    [setEdges],
  );
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onConnect={onConnect}
      minZoom={0.05}
      maxZoom={2}
      fitView
      fitViewOptions={{ padding: 0.12, maxZoom: 1 }}
    >
      <Controls />
      <MiniMap />
      <Background />
    </ReactFlow>
  );
}

const size = new URLSearchParams(location.search).get('nodes') ?? '500';
void fetch(`/graph.json?nodes=${encodeURIComponent(size)}`)
  .then((response) => response.json() as Promise<BenchGraph>)
  .then((graph) =>
    createRoot(document.getElementById('root')!).render(
      <StrictMode>
        <Flow graph={graph} />
      </StrictMode>,
    ),
  );
