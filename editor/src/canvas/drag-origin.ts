/**
 * The handle a connection is being dragged from, read by every node to mark its handles
 * compatible or refused. The canvas subscribes to React Flow's connection state once and
 * publishes the origin here; a node subscribing to React Flow itself would run its selector on
 * every store change, i.e. 500 selectors per frame while panning a 500-node graph.
 */
import { useConnection } from '@xyflow/react';
import { createContext, useContext, useLayoutEffect, useMemo, useState } from 'react';
import { createStore, useStore, type Store } from '../ui/store';
import type { DragOrigin } from './connection';

export const DragOriginContext = createContext<Store<DragOrigin | null>>(
  createStore<DragOrigin | null>(null),
);

const identity = (origin: DragOrigin | null) => origin;

/** The current drag origin, or null when no connection is being dragged. */
export function useDragOrigin(): DragOrigin | null {
  return useStore(useContext(DragOriginContext), identity);
}

/** For the canvas: one subscription to React Flow, published to the nodes through a store. */
export function useDragOriginStore(): Store<DragOrigin | null> {
  const [store] = useState(() => createStore<DragOrigin | null>(null));
  const key = useConnection((c) =>
    c.inProgress && c.fromHandle
      ? [
          c.fromHandle.nodeId,
          String(c.fromNode.data.type),
          c.fromHandle.id ?? '',
          c.fromHandle.type,
        ].join('\u0000')
      : null,
  );
  const origin = useMemo<DragOrigin | null>(() => {
    if (!key) return null;
    const [nodeId, nodeType, handleId, handleType] = key.split('\u0000');
    return { nodeId, nodeType, handleId, handleType: handleType as 'source' | 'target' };
  }, [key]);
  // Before paint, so handles are marked in the same frame the drag starts.
  useLayoutEffect(() => store.set(origin), [store, origin]);
  return store;
}
