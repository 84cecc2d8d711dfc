/**
 * A node's handles, placed where node-geometry.ts says (the same figures React Flow is given
 * before the node mounts) and coloured by their port's kind. A plain function, not a component:
 * a large graph renders it once per node, and an extra component per node costs on every render.
 */
import { Handle, Position } from '@xyflow/react';
import type { CSSProperties, ReactElement } from 'react';
import { PORT_COLORS } from '../../../engine/graph/ports';
import type { NodeTypeInfo, PortInfo } from '../api/types';
import { portKind } from './catalog';
import { nodeGeometry } from './node-geometry';

export function portHandles(
  info: NodeTypeInfo,
  options: {
    className(port: PortInfo & { id: string }, type: 'source' | 'target'): string;
    /** False on a read-only canvas. */
    connectable?: boolean;
  },
): ReactElement[] {
  return nodeGeometry(info).handles.map((handle, index) => {
    const input = handle.type === 'target';
    const port = input ? info.inputs[index] : info.outputs[index - info.inputs.length];
    return (
      <Handle
        key={`${handle.type}:${port.id}`}
        type={handle.type}
        position={input ? Position.Left : Position.Right}
        id={port.id}
        {...(options.connectable === false ? { isConnectable: false } : {})}
        className={options.className(port, handle.type)}
        title={`${port.label}: ${port.type}${port.optional ? ' (optional)' : ''}`}
        style={
          {
            left: handle.x,
            top: handle.y,
            '--port-color': PORT_COLORS[portKind(port.type)],
          } as CSSProperties
        }
      />
    );
  });
}
