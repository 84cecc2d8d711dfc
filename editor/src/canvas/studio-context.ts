/**
 * What canvas nodes, edges and the inspector read besides their own props: the catalog, the
 * live run and validation problems (as slice-subscribable stores) and the studio's actions.
 * The context value is stable for a studio's lifetime, so providing it re-renders nothing.
 */
import { createContext, useCallback, useContext } from 'react';
import type { NodeSnapshot } from '../../../engine/runs/events';
import type { ArtifactRef, GraphProblem } from '../api/types';
import type { RunFeed } from '../runs/run-feed';
import type { Store } from '../ui/store';
import { useStore } from '../ui/store';
import type { Catalog } from './catalog';
import type { EditorAction } from './editor-state';

export interface ProblemIndex {
  list: GraphProblem[];
  byNode: ReadonlyMap<string, GraphProblem[]>;
  byEdge: ReadonlyMap<string, GraphProblem[]>;
}

export const NO_PROBLEMS: ProblemIndex = { list: [], byNode: new Map(), byEdge: new Map() };

export function indexProblems(list: GraphProblem[]): ProblemIndex {
  const byNode = new Map<string, GraphProblem[]>();
  const byEdge = new Map<string, GraphProblem[]>();
  for (const problem of list) {
    if (problem.nodeId)
      byNode.set(problem.nodeId, [...(byNode.get(problem.nodeId) ?? []), problem]);
    if (problem.edgeId)
      byEdge.set(problem.edgeId, [...(byEdge.get(problem.edgeId) ?? []), problem]);
  }
  return { list, byNode, byEdge };
}

export interface RunState {
  feed: RunFeed | null;
}

export interface StudioActions {
  dispatch(action: EditorAction): void;
  runFromHere(nodeId: string): void;
  /** Regenerates one shot (fan-out item) of the viewed, finished run with a new seed. */
  regenerateShot(nodeId: string, index: number): void;
  openImages(images: ArtifactRef[], index: number, captions?: string[]): void;
}

/** Labels of the exposed params by node id (the document's `exposed` list, indexed). */
export type ExposedIndex = ReadonlyMap<string, readonly string[]>;

export const NO_EXPOSED: ExposedIndex = new Map();

/** Keeps `previous`'s arrays where a node's labels did not change, so its marker stays put. */
export function indexExposed(
  list: readonly { nodeId: string; label: string }[],
  previous: ExposedIndex = NO_EXPOSED,
): ExposedIndex {
  const byNode = new Map<string, readonly string[]>();
  for (const entry of list) {
    byNode.set(entry.nodeId, [...(byNode.get(entry.nodeId) ?? []), entry.label]);
  }
  for (const [nodeId, labels] of byNode) {
    const before = previous.get(nodeId);
    if (before && before.length === labels.length && before.every((l, i) => l === labels[i])) {
      byNode.set(nodeId, before);
    }
  }
  return byNode;
}

export interface StudioContextValue extends StudioActions {
  catalog: Catalog;
  run: Store<RunState>;
  problems: Store<ProblemIndex>;
  /** A store, not a prop: exposing a param repaints only the nodes whose marker changes. */
  exposed: Store<ExposedIndex>;
}

export const StudioContext = createContext<StudioContextValue | null>(null);

export function useStudio(): StudioContextValue {
  const value = useContext(StudioContext);
  if (!value) throw new Error('useStudio needs a <StudioContext.Provider> above it');
  return value;
}

/** One node's live run state; re-renders only when that node's snapshot changes. */
export function useNodeRun(nodeId: string): {
  node: NodeSnapshot | undefined;
  items: Record<number, Record<string, unknown>> | undefined;
} {
  const { run } = useStudio();
  const node = useStore(
    run,
    useCallback((s: RunState) => s.feed?.snapshot?.nodes[nodeId], [nodeId]),
  );
  const items = useStore(
    run,
    useCallback((s: RunState) => s.feed?.itemOutputs[nodeId], [nodeId]),
  );
  return { node, items };
}

export function useNodeProblems(nodeId: string): GraphProblem[] | undefined {
  const { problems } = useStudio();
  return useStore(
    problems,
    useCallback((s: ProblemIndex) => s.byNode.get(nodeId), [nodeId]),
  );
}

export function useEdgeProblems(edgeId: string): GraphProblem[] | undefined {
  const { problems } = useStudio();
  return useStore(
    problems,
    useCallback((s: ProblemIndex) => s.byEdge.get(edgeId), [edgeId]),
  );
}

/** The labels of a node's exposed params (undefined when none). */
export function useNodeExposed(nodeId: string): readonly string[] | undefined {
  const { exposed } = useStudio();
  return useStore(
    exposed,
    useCallback((s: ExposedIndex) => s.get(nodeId), [nodeId]),
  );
}
