/**
 * The studio: palette, canvas and side panel (inspector, live run, history) around one
 * workflow, with autosave, live validation, running, keyboard shortcuts, clipboard and
 * import/export. State lives in the editor reducer; this file wires it to the API.
 */
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../../../engine/graph/document';
import type { GraphDocument } from '../../../engine/graph/document';
import { isTerminalRunStatus } from '../../../engine/graph/events';
import { api } from '../api/client';
import type { ImportResult } from '../api/client';
import { ApiError } from '../api/http';
import type { ArtifactRef, NodeTypeInfo } from '../api/types';
import { useCatalog } from '../app/catalog-context';
import { navigate } from '../app/routes';
import { Inspector } from '../inspector/Inspector';
import { recallRanGraph, rememberRanGraph } from '../runs/ran-graphs';
import { planRerun } from '../runs/rerun-plan';
import { previewOutputs } from '../runs/run-view';
import { RunHistory } from '../runs/RunHistory';
import { RunPanel } from '../runs/RunPanel';
import { useRunWatch } from '../runs/useRunWatch';
import { Lightbox } from '../ui/Lightbox';
import { ShortcutsHelp } from '../ui/ShortcutsHelp';
import { commandFor, isMacPlatform, isTypingTarget } from '../ui/shortcuts';
import { createStore, useStore } from '../ui/store';
import { useToasts } from '../ui/toasts';
import { ImportDialog } from '../workflows/ImportDialog';
import { useImporter } from '../workflows/useImporter';
import type { QuickAddRequest } from './Canvas';
import { Canvas } from './Canvas';
import type { Catalog } from './catalog';
import { copySelection, parsePaste } from './clipboard';
import {
  canRedo,
  canUndo,
  currentDocument,
  editorReducer,
  initialEditorState,
  selectedNodeIds,
} from './editor-state';
import { toGraphEdge, toGraphNode } from './flow-mapping';
import { Palette } from './Palette';
import { QuickAdd } from './QuickAdd';
import type { ProblemIndex, RunState, StudioContextValue } from './studio-context';
import { NO_PROBLEMS, StudioContext, indexProblems } from './studio-context';
import type { SaveStatus } from './useAutosave';
import { useAutosave } from './useAutosave';
import { useValidation } from './useValidation';
import { clearDraft, readDraft } from './local-draft';

export interface StudioPageProps {
  workflowId: string | null;
  runId?: string;
}

interface Session {
  key: number;
  doc: GraphDocument;
  workflowId: string | null;
}

let sessionCounter = 0;

/** The workflow the Studio tab returns to. */
export const LAST_WORKFLOW_KEY = 'charlab.lastWorkflow';

/** A fresh, empty workflow; it is saved (and gets its server id) on the first change or Run. */
export function newDocument(): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: `wf_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    name: 'Untitled workflow',
    description: '',
    nodes: [],
    edges: [],
    exposed: [],
    meta: { createdWith: 'character-lab-studio' },
  };
}

export function StudioPage({ workflowId, runId }: StudioPageProps) {
  const { types, catalog } = useCatalog();
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  // Ids this page created itself (a draft's first save): reaching them is not a new workflow.
  const own = useRef(new Set<string>());

  useEffect(() => {
    if (workflowId && own.current.has(workflowId)) return;
    let alive = true;
    const load = workflowId
      ? api.getWorkflow(workflowId).then((record) => ({ doc: record.graph, workflowId: record.id }))
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

  if (error) {
    return (
      <div className="page-message" role="alert">
        <h1>This workflow could not be opened</h1>
        <p>{error.message}</p>
        <a className="button button--primary" href="#/workflows">
          Back to workflows
        </a>
      </div>
    );
  }
  if (!session || session.workflowId !== workflowId) {
    return <div className="page-message muted">Opening the workflow…</div>;
  }
  return (
    <ReactFlowProvider>
      <Studio
        key={session.key}
        initialDoc={session.doc}
        initialWorkflowId={session.workflowId}
        runId={runId}
        types={types}
        catalog={catalog}
        onCreated={onCreated}
      />
    </ReactFlowProvider>
  );
}

interface StudioProps {
  initialDoc: GraphDocument;
  initialWorkflowId: string | null;
  runId?: string;
  types: NodeTypeInfo[];
  catalog: Catalog;
  onCreated(id: string): void;
}

type SideTab = 'inspect' | 'run' | 'history';

const SNAP_KEY = 'charlab.snap';

function Studio({ initialDoc, initialWorkflowId, runId, types, catalog, onCreated }: StudioProps) {
  const toasts = useToasts();
  const flow = useReactFlow();
  const [state, dispatch] = useReducer(editorReducer, undefined, () =>
    initialEditorState(initialDoc, catalog),
  );
  const [workflowId, setWorkflowId] = useState(initialWorkflowId);
  const [runStore] = useState(() => createStore<RunState>({ feed: null }));
  const [problemStore] = useState(() => createStore<ProblemIndex>(NO_PROBLEMS));
  const [tab, setTab] = useState<SideTab>(runId ? 'run' : 'inspect');
  const [quickAdd, setQuickAdd] = useState<QuickAddRequest | null>(null);
  const [lightbox, setLightbox] = useState<{
    images: ArtifactRef[];
    index: number;
    captions?: string[];
  } | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [snap, setSnap] = useState(() => localStorage.getItem(SNAP_KEY) !== 'off');
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState(() => readDraft(localStorage, initialWorkflowId, initialDoc));
  const pointer = useRef<{ x: number; y: number } | null>(null);
  const onPointer = useCallback((point: { x: number; y: number } | null) => {
    pointer.current = point;
  }, []);
  const stateRef = useRef(state);
  useEffect(() => {
    stateRef.current = state;
  }, [state]);

  const reportError = useCallback(
    (error: unknown) => toasts.error(error, 'Saving failed'),
    [toasts],
  );
  const created = useCallback(
    (id: string) => {
      setWorkflowId(id);
      onCreated(id);
    },
    [onCreated],
  );
  const saver = useAutosave({
    state,
    dispatch,
    workflowId,
    onCreated: created,
    onError: reportError,
  });
  useValidation(state, problemStore);
  const { connected } = useRunWatch(runId, runStore, (message) =>
    toasts.push({ kind: 'error', title: 'Live run view', message }),
  );
  const runStatus = useStore(runStore, (s: RunState) => s.feed?.snapshot?.status);
  const runActive = !!runId && (!runStatus || !isTerminalRunStatus(runStatus));
  const problemCount = useStore(problemStore, (s: ProblemIndex) => s.list.length);
  const problems = useStore(problemStore, (s: ProblemIndex) => s.list);

  // Opening a run (Run, the history, a shared URL) shows the run panel.
  const [shownRunId, setShownRunId] = useState(runId);
  if (runId !== shownRunId) {
    setShownRunId(runId);
    if (runId) setTab('run');
  }

  useEffect(() => {
    localStorage.setItem(SNAP_KEY, snap ? 'on' : 'off');
  }, [snap]);

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

  const showRunRefusal = useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && error.problems.length > 0) {
        problemStore.set(indexProblems(error.problems));
        setTab('inspect');
        dispatch({ type: 'select', nodeIds: [] });
      }
      toasts.error(error, 'The run did not start');
    },
    [problemStore, toasts],
  );

  const run = useCallback(async () => {
    setBusy(true);
    try {
      const id = await saver.flush();
      const doc = currentDocument(stateRef.current);
      const { runId: started } = await api.startRun({ workflowId: id });
      rememberRanGraph(localStorage, started, doc);
      openRun(started, id);
    } catch (error) {
      showRunRefusal(error);
    } finally {
      setBusy(false);
    }
  }, [saver, openRun, showRunRefusal]);

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

  /** Re-runs the viewed run with the edits made since (from a node, or everything changed). */
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
        const id = await saver.flush();
        const { runId: started } = await api.rerun(snapshot.runId, {
          ...(fromNodeId ? { fromNodeId } : {}),
          params: plan.params,
        });
        rememberRanGraph(localStorage, started, doc);
        openRun(started, id);
      } catch (error) {
        showRunRefusal(error);
      } finally {
        setBusy(false);
      }
    },
    [run, runStore, saver, openRun, showRunRefusal, toasts],
  );

  const focusNode = useCallback(
    (nodeId: string) => {
      const node = stateRef.current.nodes.find((n) => n.id === nodeId);
      if (!node) return;
      dispatch({ type: 'select', nodeIds: [nodeId] });
      setTab('inspect');
      const width = node.measured?.width ?? 240;
      const height = node.measured?.height ?? 120;
      void flow.setCenter(node.position.x + width / 2, node.position.y + height / 2, {
        zoom: Math.max(flow.getZoom(), 0.8),
        duration: 300,
      });
    },
    [flow],
  );

  const exportWorkflow = useCallback(async () => {
    try {
      const id = await saver.flush();
      const link = document.createElement('a');
      link.href = api.exportUrl(id);
      link.download = `${stateRef.current.meta.name.replace(/[^\w.-]+/g, '-') || 'workflow'}.json`;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      toasts.error(error, 'Export failed');
    }
  }, [saver, toasts]);

  const onImported = useCallback(
    (result: ImportResult) => {
      toasts.success(
        `Imported “${result.workflow.name}”`,
        result.migratedFrom !== undefined
          ? `It was saved by an older version (document version ${result.migratedFrom}) and has been migrated.`
          : undefined,
      );
      navigate({ page: 'studio', workflowId: result.workflow.id });
    },
    [toasts],
  );
  const importer = useImporter(onImported);

  const addAtCenter = useCallback(
    (type: string) => {
      const box = document.querySelector('.canvas')?.getBoundingClientRect();
      const center = box
        ? flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
        : { x: 0, y: 0 };
      // Stagger so several double-clicks do not stack nodes exactly on top of each other.
      const offset = (stateRef.current.nodes.length % 6) * 24;
      dispatch({
        type: 'addNode',
        nodeType: type,
        position: { x: center.x - 120 + offset, y: center.y - 60 + offset },
      });
    },
    [flow],
  );

  const openQuickAddAtPointer = useCallback(() => {
    const box = document.querySelector('.canvas')?.getBoundingClientRect();
    const screen =
      pointer.current ??
      (box ? { x: box.left + box.width / 2, y: box.top + box.height / 2 } : { x: 400, y: 300 });
    setQuickAdd({ screen, flow: flow.screenToFlowPosition(screen) });
  }, [flow]);

  // Keyboard shortcuts (the table in ui/shortcuts.ts).
  useEffect(() => {
    const mac = isMacPlatform();
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target) || document.querySelector('.dialog, .lightbox, .quick-add'))
        return;
      const command = commandFor(event, mac);
      if (!command || command === 'copy' || command === 'cut' || command === 'paste') return;
      event.preventDefault();
      switch (command) {
        case 'undo':
        case 'redo':
          dispatch({ type: command });
          break;
        case 'duplicate':
          dispatch({ type: 'duplicate' });
          break;
        case 'delete':
          dispatch({ type: 'deleteSelection' });
          break;
        case 'selectAll':
          dispatch({ type: 'selectAll' });
          break;
        case 'save':
          saver.flush().then(() => toasts.success('Saved'), reportError);
          break;
        case 'run':
          void run();
          break;
        case 'fitView':
          void flow.fitView({ padding: 0.12, maxZoom: 1, duration: 300 });
          break;
        case 'quickAdd':
          openQuickAddAtPointer();
          break;
        case 'toggleSnap':
          setSnap((on) => !on);
          break;
        case 'help':
          setHelpOpen(true);
          break;
        case 'escape':
          dispatch({ type: 'select', nodeIds: [] });
          break;
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [flow, openQuickAddAtPointer, reportError, run, saver, toasts]);

  // Clipboard: the browser's own copy/cut/paste events, so no permission prompt is needed.
  useEffect(() => {
    const copyText = () => {
      const s = stateRef.current;
      return copySelection(
        s.nodes.map(toGraphNode),
        s.edges.map(toGraphEdge),
        new Set(selectedNodeIds(s)),
      );
    };
    const onCopy = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target) || window.getSelection()?.toString()) return;
      const text = copyText();
      if (!text || !event.clipboardData) return;
      event.clipboardData.setData('text/plain', text);
      event.preventDefault();
      if (event.type === 'cut') dispatch({ type: 'deleteSelection' });
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target) || document.querySelector('.dialog')) return;
      const text = event.clipboardData?.getData('text/plain') ?? '';
      const result = parsePaste(text);
      if (result.kind === 'not-graph') return;
      event.preventDefault();
      if (result.kind === 'problems') {
        importer.open();
        void importer.importText(text, 'the pasted text');
        return;
      }
      const at = pointer.current ? flow.screenToFlowPosition(pointer.current) : undefined;
      dispatch({ type: 'paste', fragment: result.fragment, ...(at ? { at } : {}) });
      if (result.migratedFrom !== undefined) {
        toasts.info(
          'Pasted nodes were migrated',
          `They came from document version ${result.migratedFrom}.`,
        );
      }
    };
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCopy);
    document.addEventListener('paste', onPaste);
    return () => {
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCopy);
      document.removeEventListener('paste', onPaste);
    };
  }, [flow, importer, toasts]);

  const runFromHereRef = useRef(rerun);
  useEffect(() => {
    runFromHereRef.current = rerun;
  }, [rerun]);
  const context = useMemo<StudioContextValue>(
    () => ({
      catalog,
      run: runStore,
      problems: problemStore,
      dispatch,
      runFromHere: (nodeId) => void runFromHereRef.current(nodeId),
      openImages: (images, index, captions) =>
        setLightbox({
          images,
          index,
          captions: captions ?? shotCaptions(runStore.get(), images.length),
        }),
    }),
    [catalog, runStore, problemStore],
  );

  const selected = useMemo(() => state.nodes.filter((n) => n.selected), [state.nodes]);
  const titles = useMemo(
    () =>
      new Map(
        state.nodes.map((n) => [
          n.id,
          n.data.label || catalog.get(n.data.type)?.title || n.data.type,
        ]),
      ),
    [state.nodes, catalog],
  );
  // "Re-run with changes" shows once the viewed run has ended and the graph differs from it
  // (any edit, when that run's graph is not known in this browser).
  const ranGraph = useMemo(
    () => (runId ? recallRanGraph(localStorage, runId) : undefined),
    [runId],
  );
  const changedSinceRun = useMemo(() => {
    if (runStatus === undefined || !isTerminalRunStatus(runStatus)) return false;
    if (!ranGraph) return state.past.length > 0;
    const plan = planRerun(
      ranGraph,
      currentDocument({ meta: state.meta, nodes: state.nodes, edges: state.edges }),
    );
    return plan.kind === 'fresh' || Object.keys(plan.params).length > 0;
  }, [runStatus, ranGraph, state.meta, state.nodes, state.edges, state.past.length]);

  return (
    <StudioContext.Provider value={context}>
      <div className="studio">
        <div className="studio__toolbar" role="toolbar" aria-label="Workflow">
          <input
            className="input studio__name"
            aria-label="Workflow name"
            value={state.meta.name}
            maxLength={200}
            onChange={(e) => dispatch({ type: 'setMeta', name: e.target.value })}
          />
          <SaveIndicator
            status={saver.status}
            onRetry={() => void saver.flush().catch(reportError)}
          />
          <span className="toolbar__sep" />
          <button
            className="icon-button"
            title="Undo (Ctrl/Cmd+Z)"
            aria-label="Undo"
            disabled={!canUndo(state)}
            onClick={() => dispatch({ type: 'undo' })}
          >
            ↶
          </button>
          <button
            className="icon-button"
            title="Redo (Ctrl/Cmd+Shift+Z)"
            aria-label="Redo"
            disabled={!canRedo(state)}
            onClick={() => dispatch({ type: 'redo' })}
          >
            ↷
          </button>
          <button
            className={`button button--small${snap ? ' is-on' : ''}`}
            title="Snap to grid (Shift+S)"
            aria-pressed={snap}
            onClick={() => setSnap((on) => !on)}
          >
            Snap
          </button>
          <span className="toolbar__sep" />
          <button className="button button--small" onClick={importer.open}>
            Import
          </button>
          <button
            className="button button--small"
            onClick={() => void exportWorkflow()}
            data-testid="export"
          >
            Export
          </button>
          <button
            className="icon-button"
            title="Keyboard shortcuts (?)"
            aria-label="Keyboard shortcuts"
            onClick={() => setHelpOpen(true)}
          >
            ?
          </button>
          <span className="toolbar__grow" />
          {problemCount > 0 && (
            <button
              className="problems-badge"
              onClick={() => {
                dispatch({ type: 'select', nodeIds: [] });
                setTab('inspect');
              }}
              title="Show the problems"
              data-testid="problems-badge"
            >
              ⚠ {problemCount} {problemCount === 1 ? 'problem' : 'problems'}
            </button>
          )}
          {changedSinceRun && (
            <button
              className="button"
              disabled={busy}
              onClick={() => void rerun()}
              title="Run again with your edits; unchanged nodes come from the cache"
            >
              Re-run with changes
            </button>
          )}
          {runActive ? (
            <button
              className="button button--danger"
              onClick={() => void cancel()}
              data-testid="cancel-run"
            >
              ■ Cancel
            </button>
          ) : (
            <button
              className="button button--primary"
              disabled={busy || state.nodes.length === 0}
              onClick={() => void run()}
              title="Run the workflow (Ctrl/Cmd+Enter)"
              data-testid="run"
            >
              ▶ Run
            </button>
          )}
        </div>
        {draft && (
          <div className="draft-banner" role="status">
            Unsaved work from {new Date(draft.savedAt).toLocaleString()} was kept in this browser.
            <button
              className="button button--small button--primary"
              onClick={() => {
                dispatch({ type: 'replace', doc: draft.doc });
                setDraft(null);
              }}
            >
              Restore it
            </button>
            <button
              className="button button--small"
              onClick={() => {
                clearDraft(localStorage, initialWorkflowId);
                setDraft(null);
              }}
            >
              Discard
            </button>
          </div>
        )}
        <div className="studio__body">
          <Palette types={types} onAdd={addAtCenter} />
          <Canvas
            nodes={state.nodes}
            edges={state.edges}
            types={types}
            catalog={catalog}
            dispatch={dispatch}
            snap={snap}
            onPointer={onPointer}
            onQuickAdd={setQuickAdd}
            onImportFile={(file) => void importer.importFile(file)}
            onRefused={(reason) =>
              toasts.push({ kind: 'error', title: 'Not connected', message: reason })
            }
            onTemplates={() => navigate({ page: 'templates' })}
            onOpenNode={() => setTab('inspect')}
          />
          <aside className="side-panel">
            <div className="tabs" role="tablist">
              {(
                [
                  ['inspect', 'Inspector'],
                  ['run', runActive ? 'Run ●' : 'Run'],
                  ['history', 'History'],
                ] as const
              ).map(([id, label]) => (
                <button
                  key={id}
                  role="tab"
                  aria-selected={tab === id}
                  className={tab === id ? 'tab is-active' : 'tab'}
                  onClick={() => setTab(id)}
                >
                  {label}
                </button>
              ))}
            </div>
            <div className="side-panel__body">
              {tab === 'inspect' && (
                <Inspector
                  selected={selected}
                  name={state.meta.name}
                  description={state.meta.description}
                  exposed={state.meta.exposed}
                  problems={problems}
                  nodeCount={state.nodes.length}
                  onFocusNode={focusNode}
                />
              )}
              {tab === 'run' && (
                <RunPanel
                  titles={titles}
                  connected={connected}
                  onCancel={() => void cancel()}
                  onClose={() => openRun(undefined)}
                  onSelectNode={focusNode}
                />
              )}
              {tab === 'history' && (
                <RunHistory
                  workflowId={workflowId}
                  activeRunId={runId}
                  refreshKey={`${runId ?? ''}:${runStatus ?? ''}`}
                  onOpen={(id) => openRun(id)}
                />
              )}
            </div>
          </aside>
        </div>
      </div>
      {quickAdd && (
        <QuickAdd
          types={quickAdd.types ?? types}
          screen={quickAdd.screen}
          onClose={() => setQuickAdd(null)}
          onPick={(type) => {
            dispatch({
              type: 'addNode',
              nodeType: type,
              position: { x: quickAdd.flow.x - 20, y: quickAdd.flow.y - 16 },
              ...(quickAdd.connectFrom ? { connectFrom: quickAdd.connectFrom } : {}),
            });
            setQuickAdd(null);
          }}
        />
      )}
      {lightbox && <Lightbox {...lightbox} onClose={() => setLightbox(null)} />}
      {helpOpen && <ShortcutsHelp onClose={() => setHelpOpen(false)} />}
      {importer.state.open && (
        <ImportDialog
          state={importer.state}
          onFile={(file) => void importer.importFile(file)}
          onText={(text) => void importer.importText(text, 'the pasted text')}
          onClose={importer.close}
        />
      )}
    </StudioContext.Provider>
  );
}

/**
 * Captions for frames in the lightbox: the run's storyboard shots, when there is one shot per
 * frame (a frames node fans out per shot), else plain "Shot N".
 */
function shotCaptions(state: RunState, count: number): string[] {
  const nodes = Object.values(state.feed?.snapshot?.nodes ?? {});
  for (const node of nodes) {
    const storyboard = previewOutputs(node.outputs).storyboard;
    if (storyboard && storyboard.shots.length === count) {
      return storyboard.shots.map((shot, i) => `Shot ${i + 1}: ${shot.description}`);
    }
  }
  return Array.from({ length: count }, (_, i) => `Shot ${i + 1}`);
}

function SaveIndicator({ status, onRetry }: { status: SaveStatus; onRetry(): void }) {
  switch (status.kind) {
    case 'saved':
      return (
        <span
          className="save-state save-state--saved"
          data-testid="save-state"
          title={status.at ? `Saved at ${new Date(status.at).toLocaleTimeString()}` : undefined}
        >
          ✓ Saved
        </span>
      );
    case 'unsaved':
      return (
        <span className="save-state save-state--unsaved" data-testid="save-state">
          ● Unsaved changes
        </span>
      );
    case 'saving':
      return (
        <span className="save-state save-state--saving" data-testid="save-state">
          Saving…
        </span>
      );
    case 'invalid':
      return (
        <span
          className="save-state save-state--unsaved"
          data-testid="save-state"
          title="The server saves graphs without problems only; until then your work is kept in this browser"
        >
          ● Draft: fix {status.problems} {status.problems === 1 ? 'problem' : 'problems'} to save
        </span>
      );
    case 'error':
      return (
        <span
          className="save-state save-state--error"
          data-testid="save-state"
          title={status.message}
        >
          Save failed{' '}
          <button className="link" onClick={onRetry}>
            retry
          </button>
        </span>
      );
  }
}
