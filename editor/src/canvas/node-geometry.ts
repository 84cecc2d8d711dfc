/**
 * A node's size and handle positions, known before it mounts. Left to itself React Flow hides
 * every node until a ResizeObserver has measured it and read each handle with
 * `getBoundingClientRect`, then sends one `dimensions` change per node through the editor
 * reducer and draws the graph again, edges last: the costliest part of opening a large graph
 * (bench/RESULTS.md). Given `measured` and `handles` (React Flow 12's fields for nodes it cannot
 * measure, `NodeHandle`), a loaded graph is drawn with its edges in the first commit and the
 * view is fitted at once. React Flow still measures each node once after it mounts and keeps
 * what it finds, so a figure that is off here costs that re-render, never a misplaced edge.
 *
 * The figures mirror GraphNodeView.css, whose header, sub line and port rows have fixed heights
 * for this; editor/e2e/editor-render.e2e.test.ts checks them against Chromium for every node type.
 */
import { Position } from '@xyflow/react';
import type { NodeHandle } from '@xyflow/react';
import type { NodeTypeInfo } from '../api/types';

/** `.graph-node` width, border included. */
export const NODE_WIDTH = 232;
const BORDER = 1;
/** `.graph-node__header` height. */
const HEADER_HEIGHT = 29;
/** `.graph-node__sub` height, its bottom border included. */
const SUB_HEIGHT = 23;
/** `.graph-node__ports` vertical padding. */
const PORTS_PADDING = 6;
/** `.port` row height and the gap between rows (`.ports`). */
const PORT_HEIGHT = 20;
const PORT_GAP = 4;
/** `.port__handle` size; React Flow centres a handle on the row's edge. */
const HANDLE_SIZE = 11;

export interface NodeGeometry {
  width: number;
  height: number;
  handles: NodeHandle[];
}

// One per node type: every node of a type shares it (React Flow copies handles per node).
const byType = new WeakMap<NodeTypeInfo, NodeGeometry>();

/** The size and handles of an idle node of this type (no run progress, error or outputs). */
export function nodeGeometry(info: NodeTypeInfo): NodeGeometry {
  const known = byType.get(info);
  if (known) return known;
  const rows = Math.max(info.inputs.length, info.outputs.length);
  const portsTop = BORDER + HEADER_HEIGHT + SUB_HEIGHT + PORTS_PADDING;
  const handleY = (row: number) =>
    portsTop + row * (PORT_HEIGHT + PORT_GAP) + (PORT_HEIGHT - HANDLE_SIZE) / 2;
  const handle = (id: string, row: number, type: 'source' | 'target'): NodeHandle => ({
    id,
    type,
    position: type === 'target' ? Position.Left : Position.Right,
    x: type === 'target' ? BORDER - HANDLE_SIZE / 2 : NODE_WIDTH - BORDER - HANDLE_SIZE / 2,
    y: handleY(row),
    width: HANDLE_SIZE,
    height: HANDLE_SIZE,
  });
  const geometry: NodeGeometry = {
    width: NODE_WIDTH,
    height:
      portsTop + Math.max(0, rows * (PORT_HEIGHT + PORT_GAP) - PORT_GAP) + PORTS_PADDING + BORDER,
    handles: [
      ...info.inputs.map((port, row) => handle(port.id, row, 'target')),
      ...info.outputs.map((port, row) => handle(port.id, row, 'source')),
    ],
  };
  byType.set(info, geometry);
  return geometry;
}
