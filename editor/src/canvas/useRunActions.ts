/**
 * Running the workflow from the studio: Run (save, then start), Cancel, and re-running the
 * viewed run with the edits made since (from one node, or everything that changed). A run the
 * server refuses shows its problems on the graph. The viewed run is the route's, so opening
 * one (Run, the history, a shared URL) is a navigation.
 */
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { RunStatus } from '../../../engine/runs/events';
import { isTerminalRunStatus } from '../../../engine/runs/events';
import { api } from '../api/client';
import { ApiError } from '../api/http';
import { recallRanGraph, rememberRanGraph } from '../runs/ran-graphs';
import { planRerun } from '../runs/rerun-plan';
import { navigate } from '../state/routes';
import type { Store } from '../ui/store';
import { useStore } from '../ui/store';
import { useToasts } from '../ui/toasts';
import type { EditorState } from './editor-state';
import { currentDocument } from './editor-state';
import type { ProblemIndex, RunState } from './studio-context';
import { indexProblems } from './studio-context';

export interface RunActions {
  /** A run is being started; Run and Re-run wait. */
  busy: boolean;
  /** The viewed run's status, once known. */
  status: RunStatus | undefined;
  /** The viewed run has not ended yet. */
  active: boolean;
  /** The viewed run has ended and the graph differs from the one it ran. */
  changedSinceRun: boolean;
  run(): Promise<void>;
  /** Re-runs the viewed run with the edits made since (from a node, or everything changed). */
  rerun(fromNodeId?: string): Promise<void>;
  /** Regenerates one shot of the viewed, finished run (a new seed for that item only). */
  regenerate(nodeId: string, index: number): Promise<void>;
  cancel(): Promise<void>;
  /** Shows a run of this workflow (undefined: none). */
  open(runId: string | undefined): void;
}

export function useRunActions(options: {
  runId: string | undefined;
  workflowId: string | null;
  state: EditorState;
  /** Saves the workflow now and answers its id (autosave's flush). */
  save(): Promise<string>;
  runStore: Store<RunState>;
  problemStore: Store<ProblemIndex>;
  /** The server refused a run; its problems are in the problem store: show them. */
  onRefused(): void;
}): RunActions {
  const { runId, workflowId, state, save, runStore, problemStore, onRefused } = options;
  const toasts = useToasts();
  const [busy, setBusy] = useState(false);
  const stateRef = useRef(state);
  useLayoutEffect(() => {
    stateRef.current = state;
  });
  const status = useStore(runStore, (s: RunState) => s.feed?.snapshot?.status);

  const openRun = useCallback(
    (id: string | undefined, wf = workflowId) => {
      if (wf)
        navigate(
          { page: 'studio', workflowId: wf, ...(id ? { runId: id } : {}) },
          { replace: true },
        );
    },
    [workflowId],
  );

  const showRefusal = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.problems.length > 0) {
        problemStore.set(indexProblems(error.problems));
        onRefused();
      }
      toasts.error(error, 'The run did not start');
    },
    [problemStore, onRefused, toasts],
  );

  const run = useCallback(async () => {
    setBusy(true);
    try {
      const id = await save();
      const doc = currentDocument(stateRef.current);
      const { runId: started } = await api.startRun({ workflowId: id });
      rememberRanGraph(localStorage, started, doc);
      openRun(started, id);
    } catch (error) {
      showRefusal(error);
    } finally {
      setBusy(false);
    }
  }, [save, openRun, showRefusal]);

  const cancel = useCallback(async () => {
    if (!runId) return;
    try {
      await api.cancelRun(runId);
      toasts.info(
        'Cancelling the run',
        'Running steps stop within a few seconds; finished results are kept.',
      );
    } catch (error) {
      toasts.error(error, 'Could not cancel');
    }
  }, [runId, toasts]);

  const rerun = useCallback(
    async (fromNodeId?: string) => {
      const snapshot = runStore.get().feed?.snapshot;
      if (!snapshot) return run();
      if (!isTerminalRunStatus(snapshot.status)) {
        toasts.info(
          'A run is still going',
          'Wait for it to finish or cancel it, then run from here.',
        );
        return;
      }
      const doc = currentDocument(stateRef.current);
      const ran =
        recallRanGraph(localStorage, snapshot.runId) ??
        (await api.getRunGraph(snapshot.runId).catch(() => undefined));
      const plan = ran
        ? planRerun(ran, doc)
        : { kind: 'fresh' as const, reason: 'the graph of that run is not known here' };
      if (plan.kind === 'fresh') {
        toasts.info(
          'Starting a new run',
          `${plan.reason}, so run ${snapshot.runId.slice(-8)} cannot be re-run; unchanged nodes come from the cache.`,
        );
        return run();
      }
      setBusy(true);
      try {
        const id = await save();
        const { runId: started } = await api.rerun(snapshot.runId, {
          ...(fromNodeId ? { fromNodeId } : {}),
          params: plan.params,
        });
        rememberRanGraph(localStorage, started, doc);
        openRun(started, id);
      } catch (error) {
        showRefusal(error);
      } finally {
        setBusy(false);
      }
    },
    [run, runStore, save, openRun, showRefusal, toasts],
  );

  const regenerate = useCallback(
    async (nodeId: string, index: number) => {
      const snapshot = runStore.get().feed?.snapshot;
      if (!snapshot || !isTerminalRunStatus(snapshot.status)) {
        toasts.info('A run is still going', 'Wait for it to finish, then regenerate a shot.');
        return;
      }
      setBusy(true);
      try {
        const { runId: started } = await api.regenerate(snapshot.runId, { nodeId, index });
        // Same graph as the rejected run: only the plan's reroll differs.
        const ran = recallRanGraph(localStorage, snapshot.runId);
        if (ran) rememberRanGraph(localStorage, started, ran);
        openRun(started);
      } catch (error) {
        toasts.error(error, 'Could not regenerate the shot');
      } finally {
        setBusy(false);
      }
    },
    [runStore, openRun, toasts],
  );

  // "Re-run with changes" shows once the viewed run has ended and the graph differs from it
  // (any edit, when that run's graph is not known in this browser).
  const ranGraph = useMemo(
    () => (runId ? recallRanGraph(localStorage, runId) : undefined),
    [runId],
  );
  const { meta, nodes, edges } = state;
  const edited = state.past.length > 0;
  const changedSinceRun = useMemo(() => {
    if (status === undefined || !isTerminalRunStatus(status)) return false;
    if (!ranGraph) return edited;
    const plan = planRerun(ranGraph, currentDocument({ meta, nodes, edges }));
    return plan.kind === 'fresh' || Object.keys(plan.params).length > 0;
  }, [status, ranGraph, meta, nodes, edges, edited]);

  return {
    busy,
    status,
    active: !!runId && (!status || !isTerminalRunStatus(status)),
    changedSinceRun,
    run,
    rerun,
    regenerate,
    cancel,
    open: openRun,
  };
}
