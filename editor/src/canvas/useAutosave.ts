/**
 * Autosave: every change is written shortly after the user stops (debounced), a new
 * workflow is created on its first save, and `flush()` writes at once (before Run and
 * Export). The server stores only graphs that validate, so while the graph has problems the
 * work is kept in this browser (local-draft.ts) and the indicator says what blocks saving.
 * Each save sends the revision last loaded or saved; when the workflow was changed elsewhere
 * the server refuses it (save-conflict.ts), autosave stops and `conflict` says so until the
 * user reloads the saved version or keeps this one as a copy.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import { ApiError } from '../api/http';
import type { EditorAction, EditorState } from './editor-state';
import { currentDocument, isDirty } from './editor-state';
import { clearDraft, writeDraft } from './local-draft';
import { copyOf, saveConflictFrom, type SaveConflict } from './save-conflict';

export type SaveStatus =
  | { kind: 'saved'; at?: number }
  | { kind: 'unsaved' }
  | { kind: 'saving' }
  /** The server refused the graph: it has problems; the draft is kept in this browser. */
  | { kind: 'invalid'; problems: number }
  | { kind: 'error'; message: string };

export const AUTOSAVE_DELAY_MS = 800;

type Failure = { kind: 'invalid'; problems: number } | { kind: 'error'; message: string };

export function useAutosave(options: {
  state: EditorState;
  dispatch(action: EditorAction): void;
  workflowId: string | null;
  /** The revision the workflow was loaded at (undefined for a new one or an older server). */
  initialRevision?: number;
  onCreated(workflowId: string): void;
  /** "Save as copy" created this workflow from the local graph; the studio should open it. */
  onCopied?(workflowId: string): void;
  /** Failures other than "the graph has problems" (those show in the indicator and on nodes). */
  onError(error: unknown): void;
}) {
  const { state, dispatch, onCreated, onCopied, onError } = options;
  const stateRef = useRef(state);
  const idRef = useRef(options.workflowId);
  const serverRevision = useRef(options.initialRevision);
  const [conflict, setConflict] = useState<SaveConflict | null>(null);
  const inFlight = useRef<Promise<void> | null>(null);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [savedAt, setSavedAt] = useState<number | undefined>(undefined);
  useLayoutEffect(() => {
    stateRef.current = state;
  });

  const saveOnce = useCallback(async () => {
    const snapshot = stateRef.current;
    const doc = currentDocument(snapshot);
    const draftId = idRef.current;
    try {
      if (!idRef.current) {
        const record = await api.createWorkflow(doc);
        idRef.current = record.id;
        serverRevision.current = record.revision;
        onCreated(record.id);
      } else {
        const record = await api.saveWorkflow(idRef.current, doc, serverRevision.current);
        serverRevision.current = record.revision;
      }
    } catch (error) {
      writeDraft(localStorage, draftId, doc, Date.now());
      const refused = saveConflictFrom(error);
      if (refused) setConflict(refused);
      throw error;
    }
    clearDraft(localStorage, draftId);
    dispatch({ type: 'saved', revision: snapshot.revision });
  }, [dispatch, onCreated]);

  /**
   * Saves unless already clean and returns the workflow id; waits for a save in flight first
   * (saves never overlap). Throws the server's error, e.g. `invalid_graph` with every problem.
   */
  const save = useCallback(async (): Promise<string> => {
    while (inFlight.current) await inFlight.current.catch(() => {});
    const current = stateRef.current;
    if (idRef.current && current.revision === current.savedRevision) return idRef.current;
    const attempt = saveOnce();
    inFlight.current = attempt;
    setSaving(true);
    try {
      await attempt;
      setFailure(null);
      setSavedAt(Date.now());
    } catch (error) {
      setFailure(
        error instanceof ApiError && error.code === 'invalid_graph'
          ? { kind: 'invalid', problems: error.problems.length }
          : { kind: 'error', message: error instanceof Error ? error.message : String(error) },
      );
      throw error;
    } finally {
      inFlight.current = null;
      setSaving(false);
    }
    return idRef.current!;
  }, [saveOnce]);

  /** Replaces the local graph with the server's version (undoable) and resumes autosave. */
  const reload = useCallback(async () => {
    const id = idRef.current;
    if (!id) return;
    const record = await api.getWorkflow(id);
    const next = stateRef.current.revision + 1;
    dispatch({ type: 'replace', doc: record.graph });
    dispatch({ type: 'saved', revision: next });
    serverRevision.current = record.revision;
    clearDraft(localStorage, id);
    setFailure(null);
    setConflict(null);
  }, [dispatch]);

  /** Keeps the local graph as a new workflow; the refused one stays as saved elsewhere. */
  const saveAsCopy = useCallback(async () => {
    const record = await api.createWorkflow(copyOf(currentDocument(stateRef.current)));
    onCopied?.(record.id);
    return record.id;
  }, [onCopied]);

  const dirty = isDirty(state);
  useEffect(() => {
    // After a conflict another save would only be refused again: wait for the user's choice.
    if (!dirty || conflict) return;
    const timer = window.setTimeout(
      () =>
        void save().catch((error: unknown) => {
          if (error instanceof ApiError && error.code === 'invalid_graph') return;
          if (!saveConflictFrom(error)) onError(error);
        }),
      AUTOSAVE_DELAY_MS,
    );
    return () => window.clearTimeout(timer);
  }, [dirty, conflict, state.revision, save, onError]);

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const status: SaveStatus = saving
    ? { kind: 'saving' }
    : failure && dirty
      ? failure
      : dirty
        ? { kind: 'unsaved' }
        : { kind: 'saved', ...(savedAt ? { at: savedAt } : {}) };
  return { status, flush: save, conflict, reload, saveAsCopy };
}
