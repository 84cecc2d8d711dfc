/**
 * The line drawn while connecting: the colour of the dragged port's kind, and, over a handle
 * that cannot take it, red and dashed with the reason next to the cursor.
 */
import { getBezierPath } from '@xyflow/react';
import type { ConnectionLineComponentProps } from '@xyflow/react';
import { PORT_COLORS } from '../../../engine/graph/ports';
import { findPort, portKind } from './catalog';
import { checkConnection } from './connection';
import type { FlowNode } from './flow-mapping';
import { useStudio } from './studio-context';
import './ConnectionLine.css';

export function ConnectionLine(props: ConnectionLineComponentProps<FlowNode>) {
  const {
    fromX,
    fromY,
    toX,
    toY,
    fromPosition,
    toPosition,
    fromNode,
    fromHandle,
    toNode,
    toHandle,
  } = props;
  const { catalog } = useStudio();
  const fromOutput = fromHandle.type === 'source';
  const port = findPort(
    catalog,
    fromNode.data.type,
    fromOutput ? 'output' : 'input',
    fromHandle.id,
  );
  const color = port ? PORT_COLORS[portKind(port.type)] : 'var(--text-dim)';
  let reason: string | null = null;
  if (toNode && toHandle) {
    const connection = fromOutput
      ? {
          source: fromNode.id,
          sourceHandle: fromHandle.id,
          target: toNode.id,
          targetHandle: toHandle.id,
        }
      : {
          source: toNode.id,
          sourceHandle: toHandle.id,
          target: fromNode.id,
          targetHandle: fromHandle.id,
        };
    const types = new Map([
      [fromNode.id, fromNode.data.type],
      [toNode.id, String(toNode.data.type)],
    ]);
    // Loops are checked on drop; here the line shows type and direction problems at once.
    const verdict = checkConnection(connection, (id) => types.get(id), [], catalog);
    if (!verdict.ok) reason = verdict.reason;
  }
  const [path] = getBezierPath({
    sourceX: fromX,
    sourceY: fromY,
    sourcePosition: fromPosition,
    targetX: toX,
    targetY: toY,
    targetPosition: toPosition,
  });
  return (
    <g className={reason ? 'connection-line is-refused' : 'connection-line'}>
      <path
        d={path}
        fill="none"
        stroke={reason ? 'var(--danger)' : color}
        strokeWidth={2.5}
        strokeDasharray={reason ? '6 4' : undefined}
      />
      {reason && (
        <foreignObject
          x={toX + 12}
          y={toY + 10}
          width={260}
          height={60}
          className="connection-refusal-wrap"
        >
          <div className="connection-refusal" role="status" data-testid="connection-refused">
            ✕ {reason}
          </div>
        </foreignObject>
      )}
    </g>
  );
}
