/**
 * The studio around one workflow: a toolbar over the palette, the canvas and the side panel
 * (inspector, live run, history). The page opens the route's workflow; `Studio` holds the
 * editor state and wires it to autosave, validation, the live run, run actions, import and
 * export, keyboard shortcuts and the clipboard, one hook each.
 */
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import type { XYPosition } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import type { GraphDocument } from '../../../engine/graph/document';
import type { ArtifactRef, NodeTypeInfo } from '../api/types';
import { shotCaptions } from '../runs/run-view';
import { useRunWatch } from '../runs/useRunWatch';
import { useCatalog } from '../state/catalog-context';
import { navigate } from '../state/routes';
import { Lightbox } from '../ui/Lightbox';
import { ShortcutsHelp } from '../ui/ShortcutsHelp';
import { createStore } from '../ui/store';
import { useToasts } from '../ui/toasts';
import { SaveTemplateDialog } from '../templates/SaveTemplateDialog';
import { ShareDialog } from '../share/ShareDialog';
import { ImportDialog } from '../workflows/ImportDialog';
import type { QuickAddRequest } from './Canvas';
import { Canvas } from './Canvas';
import type { Catalog } from './catalog';
import { ConflictBanner } from './ConflictBanner';
import { DraftBanner } from './DraftBanner';
import { currentDocument, editorReducer, initialEditorState } from './editor-state';
import { Palette } from './Palette';
import { QuickAdd } from './QuickAdd';
import type { SideTab } from './SidePanel';
import { SidePanel } from './SidePanel';
import type { ExposedIndex, ProblemIndex, RunState, StudioContextValue } from './studio-context';
import { NO_PROBLEMS, StudioContext, indexExposed } from './studio-context';
import { StudioToolbar } from './StudioToolbar';
import { useAutosave } from './useAutosave';
import { useClipboard } from './useClipboard';
import { useImportExport } from './useImportExport';
import { useRunActions } from './useRunActions';
import { useStudioShortcuts } from './useStudioShortcuts';
import { useValidation } from './useValidation';
import { useWorkflowSession } from './useWorkflowSession';
import './StudioPage.css';

export interface StudioPageProps {
  workflowId: string | null;
  runId?: string;
}

export function StudioPage({ workflowId, runId }: StudioPageProps) {
  const { types, catalog } = useCatalog();
  const { session, error, onCreated } = useWorkflowSession(workflowId);
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
  if (!session) return <div className="page-message muted">Opening the workflow…</div>;
  return (
    <ReactFlowProvider>
      <Studio
        key={session.key}
        initialDoc={session.doc}
        initialWorkflowId={session.workflowId}
        initialRevision={session.revision}
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
  initialRevision?: number;
  runId?: string;
  types: NodeTypeInfo[];
  catalog: Catalog;
  onCreated(id: string): void;
}

interface LightboxState {
  images: ArtifactRef[];
  index: number;
  captions?: string[];
}

const SNAP_KEY = 'charlab.snap';

function Studio({
  initialDoc,
  initialWorkflowId,
  initialRevision,
  runId,
  types,
  catalog,
  onCreated,
}: StudioProps) {
  const toasts = useToasts();
  const flow = useReactFlow();
  const [state, dispatch] = useReducer(editorReducer, undefined, () =>
    initialEditorState(initialDoc, catalog),
  );
  const [workflowId, setWorkflowId] = useState(initialWorkflowId);
  const [runStore] = useState(() => createStore<RunState>({ feed: null }));
  const [problemStore] = useState(() => createStore<ProblemIndex>(NO_PROBLEMS));
  const [exposedStore] = useState(() =>
    createStore<ExposedIndex>(indexExposed(initialDoc.exposed)),
  );
  const [tab, setTab] = useState<SideTab>(runId ? 'run' : 'inspect');
  const [quickAdd, setQuickAdd] = useState<QuickAddRequest | null>(null);
  const [lightbox, setLightbox] = useState<LightboxState | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [savingTemplate, setSavingTemplate] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [snap, setSnap] = useState(() => localStorage.getItem(SNAP_KEY) !== 'off');
  const pointer = useRef<XYPosition | null>(null);
  const onPointer = useCallback((point: XYPosition | null) => {
    pointer.current = point;
  }, []);
  const stateRef = useRef(state);
  useEffect(() => {
    stateRef.current = state;
  }, [state]);
  useEffect(() => {
    localStorage.setItem(SNAP_KEY, snap ? 'on' : 'off');
  }, [snap]);
  useEffect(() => {
    exposedStore.set((previous) => indexExposed(state.meta.exposed, previous));
  }, [exposedStore, state.meta.exposed]);

  // Opening a run (Run, the history, a shared URL) shows the run panel.
  const [shownRunId, setShownRunId] = useState(runId);
  if (runId !== shownRunId) {
    setShownRunId(runId);
    if (runId) setTab('run');
  }

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
    initialRevision,
    onCreated: created,
    onCopied: (id) => navigate({ page: 'studio', workflowId: id }),
    onError: reportError,
  });
  useValidation(state, problemStore);
  const { connected } = useRunWatch(runId, runStore, (message) =>
    toasts.push({ kind: 'error', title: 'Live run view', message }),
  );
  const showProblems = useCallback(() => {
    dispatch({ type: 'select', nodeIds: [] });
    setTab('inspect');
  }, []);
  const runs = useRunActions({
    runId,
    workflowId,
    state,
    save: saver.flush,
    runStore,
    problemStore,
    onRefused: showProblems,
  });

  const { importer, exportWorkflow } = useImportExport({
    save: saver.flush,
    name: state.meta.name,
  });

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

  const addAtCenter = useCallback(
    (type: string) => {
      const middle = canvasCenter();
      const center = middle ? flow.screenToFlowPosition(middle) : { x: 0, y: 0 };
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

  useStudioShortcuts({
    undo: () => dispatch({ type: 'undo' }),
    redo: () => dispatch({ type: 'redo' }),
    duplicate: () => dispatch({ type: 'duplicate' }),
    delete: () => dispatch({ type: 'deleteSelection' }),
    selectAll: () => dispatch({ type: 'selectAll' }),
    save: () => void saver.flush().then(() => toasts.success('Saved'), reportError),
    run: () => void runs.run(),
    fitView: () => void flow.fitView({ padding: 0.12, maxZoom: 1, duration: 300 }),
    quickAdd: () => {
      const screen = pointer.current ?? canvasCenter() ?? { x: 400, y: 300 };
      setQuickAdd({ screen, flow: flow.screenToFlowPosition(screen) });
    },
    toggleSnap: () => setSnap((on) => !on),
    help: () => setHelpOpen(true),
    escape: () => dispatch({ type: 'select', nodeIds: [] }),
  });

  useClipboard({
    state,
    dispatch,
    pointer,
    onPasteProblems: (text) => {
      importer.open();
      void importer.importText(text, 'the pasted text');
    },
  });

  // Nodes get one context value for the studio's lifetime; Run from here calls the latest rerun.
  const rerunRef = useRef(runs.rerun);
  useEffect(() => {
    rerunRef.current = runs.rerun;
  }, [runs.rerun]);
  const regenerateRef = useRef(runs.regenerate);
  useEffect(() => {
    regenerateRef.current = runs.regenerate;
  }, [runs.regenerate]);
  const context = useMemo<StudioContextValue>(
    () => ({
      catalog,
      run: runStore,
      problems: problemStore,
      exposed: exposedStore,
      dispatch,
      runFromHere: (nodeId) => void rerunRef.current(nodeId),
      regenerateShot: (nodeId, index) => void regenerateRef.current(nodeId, index),
      openImages: (images, index, captions) =>
        setLightbox({
          images,
          index,
          captions: captions ?? shotCaptions(runStore.get().feed?.snapshot, images.length),
        }),
    }),
    [catalog, runStore, problemStore, exposedStore],
  );

  return (
    <StudioContext.Provider value={context}>
      <div className="studio">
        <StudioToolbar
          state={state}
          dispatch={dispatch}
          save={saver.status}
          onRetrySave={() => void saver.flush().catch(reportError)}
          snap={snap}
          onToggleSnap={() => setSnap((on) => !on)}
          onImport={importer.open}
          onExport={() => void exportWorkflow()}
          onHelp={() => setHelpOpen(true)}
          onShowProblems={showProblems}
          onSaveTemplate={() => setSavingTemplate(true)}
          {...(workflowId ? { onShare: () => setSharing(true) } : {})}
          runs={runs}
        />
        {saver.conflict && (
          <ConflictBanner
            conflict={saver.conflict}
            onReload={() => void saver.reload().catch(reportError)}
            onSaveCopy={() => void saver.saveAsCopy().catch(reportError)}
          />
        )}
        <DraftBanner
          workflowId={initialWorkflowId}
          doc={initialDoc}
          onRestore={(doc) => dispatch({ type: 'replace', doc })}
        />
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
          <SidePanel
            tab={tab}
            onTab={setTab}
            state={state}
            workflowId={workflowId}
            runId={runId}
            runs={runs}
            connected={connected}
            onFocusNode={focusNode}
          />
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
      {savingTemplate && (
        <SaveTemplateDialog
          graph={currentDocument(state)}
          workflowId={workflowId}
          flush={saver.flush}
          onSaved={(template) => {
            dispatch({ type: 'setTemplateOrigin', id: template.id, version: template.version });
            setSavingTemplate(false);
          }}
          onClose={() => setSavingTemplate(false)}
        />
      )}
      {sharing && workflowId && (
        <ShareDialog
          workflowId={workflowId}
          flush={saver.flush}
          onClose={() => setSharing(false)}
        />
      )}
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

/** The middle of the canvas on the page, if it is on screen. */
function canvasCenter(): XYPosition | undefined {
  const box = document.querySelector('.canvas')?.getBoundingClientRect();
  return box ? { x: box.left + box.width / 2, y: box.top + box.height / 2 } : undefined;
}
