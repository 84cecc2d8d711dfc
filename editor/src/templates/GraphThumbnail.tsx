/** A tiny drawing of a graph (nodes as boxes, edges as lines) for template and workflow cards. */
import { memo } from 'react';
import type { GraphDocument } from '../../../engine/graph/document';
import './GraphThumbnail.css';

const NODE_W = 200;
const NODE_H = 90;

export const GraphThumbnail = memo(function GraphThumbnail({ graph }: { graph: GraphDocument }) {
  if (graph.nodes.length === 0) return <div className="graph-thumb graph-thumb--empty">empty</div>;
  const xs = graph.nodes.map((n) => n.position.x);
  const ys = graph.nodes.map((n) => n.position.y);
  const minX = Math.min(...xs) - 20;
  const minY = Math.min(...ys) - 20;
  const width = Math.max(...xs) + NODE_W + 20 - minX;
  const height = Math.max(...ys) + NODE_H + 20 - minY;
  const at = new Map(graph.nodes.map((n) => [n.id, n.position]));
  return (
    <svg
      className="graph-thumb"
      viewBox={`${minX} ${minY} ${width} ${height}`}
      preserveAspectRatio="xMidYMid meet"
      aria-hidden
    >
      {graph.edges.map((edge) => {
        const a = at.get(edge.source);
        const b = at.get(edge.target);
        if (!a || !b) return null;
        return (
          <line
            key={edge.id}
            x1={a.x + NODE_W}
            y1={a.y + NODE_H / 2}
            x2={b.x}
            y2={b.y + NODE_H / 2}
            stroke="#4b5563"
            strokeWidth={6}
          />
        );
      })}
      {graph.nodes.map((node) => (
        <rect
          key={node.id}
          x={node.position.x}
          y={node.position.y}
          width={NODE_W}
          height={NODE_H}
          rx={14}
          fill="#1f2430"
          stroke="#a78bfa"
          strokeWidth={5}
        />
      ))}
    </svg>
  );
});
