/**
 * Edges coloured by the kind of value they carry (thicker for lists), turning red with the
 * validator's message when the server names them in a problem.
 */
import { BaseEdge, EdgeLabelRenderer, getBezierPath } from '@xyflow/react';
import type { EdgeProps } from '@xyflow/react';
import { memo } from 'react';
import { PORT_COLORS } from '../../../engine/graph/ports';
import type { FlowEdge } from './flow-mapping';
import { useEdgeProblems } from './studio-context';
import './TypedEdge.css';

function TypedEdge(props: EdgeProps<FlowEdge>) {
  const { id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, data, selected } =
    props;
  const problems = useEdgeProblems(id);
  const [path, labelX, labelY] = getBezierPath({
    sourceX,
    sourceY,
    targetX,
    targetY,
    sourcePosition,
    targetPosition,
  });
  const color = problems
    ? 'var(--danger)'
    : data?.kind
      ? PORT_COLORS[data.kind]
      : 'var(--text-dim)';
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        interactionWidth={16}
        className={problems ? 'edge--problem' : undefined}
        style={{
          stroke: color,
          strokeWidth: (data?.list ? 3 : 2) + (selected ? 1.5 : 0),
          opacity: selected ? 1 : 0.85,
        }}
      />
      {problems && (
        <EdgeLabelRenderer>
          <div
            className="edge-problem nodrag nopan"
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
            title={problems.map((p) => p.message).join('\n')}
            data-testid={`edge-problem-${id}`}
          >
            !
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export default memo(TypedEdge);
