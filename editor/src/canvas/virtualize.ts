/**
 * When the canvas should render only the nodes on screen (React Flow's
 * `onlyRenderVisibleElements`). Virtualising pays when most nodes are off screen: zoomed in on
 * a large graph, a pan frame touches a dozen nodes instead of hundreds. With most nodes on
 * screen (fit view) it costs: every pan frame re-mounts the nodes crossing the screen edge
 * (bench/RESULTS.md measured 0.87x bare React Flow's pan frame rate). So the choice follows the
 * share of nodes on screen, not the node count, with a band between switching on and off so a
 * pan that hovers around one share does not re-mount half the graph back and forth.
 */
import { useStoreApi } from '@xyflow/react';
import { useEffect, useRef, useState } from 'react';

/** Below this many nodes everything is rendered: the saving could not pay for the re-mounts. */
export const VIRTUALIZE_MIN_NODES = 150;
/** Virtualise once fewer than this share of the nodes are on screen… */
export const VIRTUALIZE_ON_BELOW = 0.4;
/** …and stop once more than this share are. */
export const VIRTUALIZE_OFF_ABOVE = 0.6;

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** `[x, y, zoom]`, as React Flow's store keeps the viewport. */
export type Transform = readonly [number, number, number];

/** The part of the flow the screen shows, in flow coordinates. */
export function viewRect(transform: Transform, width: number, height: number): Box {
  const [x, y, zoom] = transform;
  return { x: -x / zoom, y: -y / zoom, width: width / zoom, height: height / zoom };
}

/** Share of `nodes` (0 to 1) that overlap `view` at least partly; 1 for no nodes. */
export function shareOnScreen(nodes: Iterable<Box>, view: Box): number {
  let total = 0;
  let inside = 0;
  for (const node of nodes) {
    total++;
    if (
      node.x < view.x + view.width &&
      node.x + node.width > view.x &&
      node.y < view.y + view.height &&
      node.y + node.height > view.y
    )
      inside++;
  }
  return total === 0 ? 1 : inside / total;
}

/** The next decision, given the last one: a band between the two thresholds keeps it. */
export function nextVirtualize(previous: boolean, nodeCount: number, share: number): boolean {
  if (nodeCount <= VIRTUALIZE_MIN_NODES) return false;
  if (share < VIRTUALIZE_ON_BELOW) return true;
  if (share > VIRTUALIZE_OFF_ABOVE) return false;
  return previous;
}

interface FlowStoreSlice {
  transform: Transform;
  width: number;
  height: number;
  nodeLookup: ReadonlyMap<
    string,
    {
      internals: { positionAbsolute: { x: number; y: number } };
      measured: { width?: number; height?: number };
    }
  >;
}

function* boxesOf(lookup: FlowStoreSlice['nodeLookup']): Iterable<Box> {
  for (const node of lookup.values())
    yield {
      ...node.internals.positionAbsolute,
      width: node.measured.width ?? 0,
      height: node.measured.height ?? 0,
    };
}

function decide(state: FlowStoreSlice, previous: boolean): boolean {
  // Not laid out yet (no size, no fitted view): decide once it is.
  if (state.width === 0 || state.height === 0) return previous;
  const count = state.nodeLookup.size;
  if (count <= VIRTUALIZE_MIN_NODES) return false;
  const share = shareOnScreen(
    boxesOf(state.nodeLookup),
    viewRect(state.transform, state.width, state.height),
  );
  return nextVirtualize(previous, count, share);
}

/**
 * Whether to render only what is on screen, re-decided on every viewport or node change
 * (one pass over the nodes; the canvas re-renders only when the answer flips).
 */
export function useVirtualize(): boolean {
  const store = useStoreApi();
  const [virtualize, setVirtualize] = useState(() => decide(store.getState(), false));
  const current = useRef(virtualize);
  useEffect(() => {
    const update = (state: FlowStoreSlice) => {
      const next = decide(state, current.current);
      if (next === current.current) return;
      current.current = next;
      setVirtualize(next);
    };
    update(store.getState());
    return store.subscribe(update);
  }, [store]);
  return virtualize;
}
