/**
 * Whether the canvas is zoomed out so far that node details are unreadable (below
 * `FAR_ZOOM`). The canvas decides once per threshold crossing and tells the nodes through
 * this context: a node subscribing to React Flow's viewport itself would run its selector on
 * every pan frame, 500 of them for a 500-node graph.
 */
import { createContext } from 'react';

/** Below this zoom nodes are drawn as boxes with handles: no labels, previews or shadows. */
export const FAR_ZOOM = 0.3;

export const FarZoomContext = createContext(false);
