/**
 * The workflow the studio shows: the route's workflow loaded from the server, or a fresh one
 * for `#/new`. A new workflow's first save gives it an id; the route then follows without
 * reloading the studio. The last workflow shown is remembered for the Studio tab.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { GraphDocument } from '../../../engine/graph/document';
import { api } from '../api/client';
import { navigate } from '../state/routes';
import { newDocument } from './editor-state';

/** The workflow the Studio tab returns to. */
export const LAST_WORKFLOW_KEY = 'charlab.lastWorkflow';

export interface WorkflowSession {
  /** New for every load, so the studio starts over when another workflow opens. */
  key: number;
  doc: GraphDocument;
  workflowId: string | null;
  /** The saved revision it was loaded at; autosave sends it back (undefined for a new one). */
  revision?: number;
}

let sessionCounter = 0;

type LoadedWorkflow = Awaited<ReturnType<typeof api.getWorkflow>>;

let prefetched: { workflowId: string; at: number; load: Promise<LoadedWorkflow> } | undefined;

/** A prefetched copy older than this is not handed out (someone may have saved since). */
const PREFETCH_FRESH_MS = 10_000;

/**
 * Starts fetching a workflow before the studio can show it (the app shell calls this for the
 * route it opens with, while the node types load), so the two requests overlap instead of
 * queueing one behind the other. The first session for that id takes it; later ones fetch anew.
 */
export function prefetchWorkflow(workflowId: string): void {
  if (prefetched?.workflowId === workflowId) return;
  const load = api.getWorkflow(workflowId);
  // Failures are reported by the session that takes it, not here.
  load.catch(() => undefined);
  prefetched = { workflowId, at: Date.now(), load };
}

function takeWorkflow(workflowId: string): Promise<LoadedWorkflow> {
  const taken =
    prefetched?.workflowId === workflowId && Date.now() - prefetched.at < PREFETCH_FRESH_MS
      ? prefetched.load
      : undefined;
  prefetched = undefined;
  // A prefetch made before the sign-in (a 401) or that failed otherwise is asked once more.
  return taken ? taken.catch(() => api.getWorkflow(workflowId)) : api.getWorkflow(workflowId);
}

export function useWorkflowSession(workflowId: string | null): {
  /** The loaded workflow, once it is the route's (null while it loads). */
  session: WorkflowSession | null;
  error: Error | null;
  /** A new workflow was saved for the first time and got this id. */
  onCreated(id: string): void;
} {
  const [session, setSession] = useState<WorkflowSession | null>(null);
  const [error, setError] = useState<Error | null>(null);
  // Ids this page created itself (a draft's first save): reaching them is not a new workflow.
  const own = useRef(new Set<string>());

  useEffect(() => {
    if (workflowId && own.current.has(workflowId)) return;
    let alive = true;
    const load = workflowId
      ? takeWorkflow(workflowId).then((record) => ({
          doc: record.graph,
          workflowId: record.id,
          revision: record.revision,
        }))
      : Promise.resolve({ doc: newDocument(), workflowId: null });
    load.then(
      (loaded) => {
        if (!alive) return;
        setError(null);
        setSession({ key: ++sessionCounter, ...loaded });
      },
      (err: unknown) => alive && setError(err instanceof Error ? err : new Error(String(err))),
    );
    return () => {
      alive = false;
    };
  }, [workflowId]);

  useEffect(() => {
    if (session?.workflowId) localStorage.setItem(LAST_WORKFLOW_KEY, session.workflowId);
  }, [session?.workflowId]);

  const onCreated = useCallback((id: string) => {
    own.current.add(id);
    setSession((s) => (s ? { ...s, workflowId: id } : s));
    navigate({ page: 'studio', workflowId: id }, { replace: true });
  }, []);

  return {
    session: session && session.workflowId === workflowId ? session : null,
    error,
    onCreated,
  };
}
