/**
 * Autosave: every change is written shortly after the user stops (debounced), a draft is
 * created on its first save, and `flush()` writes immediately (before Run and Export). The
 * status drives the toolbar's saved / unsaved / saving / failed indicator.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { EditorAction, EditorState } from './editor-state';
import { currentDocument, isDirty } from './editor-state';

export type SaveStatus =
  | { kind: 'saved'; at?: number }
  | { kind: 'unsaved' }
  | { kind: 'saving' }
  | { kind: 'error'; message: string };

export const AUTOSAVE_DELAY_MS = 800;

export function useAutosave(options: {
  state: EditorState;
  dispatch(action: EditorAction): void;
  workflowId: string | null;
  onCreated(workflowId: string): void;
  onError(error: unknown): void;
}) {
  const { state, dispatch, onCreated, onError } = options;
  const stateRef = useRef(state);
  const idRef = useRef(options.workflowId);
  const inFlight = useRef<Promise<void> | null>(null);
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [savedAt, setSavedAt] = useState<number | undefined>(undefined);
  useLayoutEffect(() => {
    stateRef.current = state;
  });

  const saveOnce = useCallback(async () => {
    const snapshot = stateRef.current;
    const doc = currentDocument(snapshot);
    if (!idRef.current) {
      const record = await api.createWorkflow(doc);
      idRef.current = record.id;
      onCreated(record.id);
    } else {
      await api.saveWorkflow(idRef.current, doc);
    }
    dispatch({ type: 'saved', revision: snapshot.revision });
  }, [dispatch, onCreated]);

  /** Saves unless already clean; waits for a save in flight first (saves never overlap). */
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
      setFailure(error instanceof Error ? error.message : String(error));
      throw error;
    } finally {
      inFlight.current = null;
      setSaving(false);
    }
    return idRef.current!;
  }, [saveOnce]);

  const dirty = isDirty(state);
  useEffect(() => {
    if (!dirty) return;
    const timer = window.setTimeout(() => void save().catch(onError), AUTOSAVE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [dirty, state.revision, save, onError]);

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const status: SaveStatus = saving
    ? { kind: 'saving' }
    : failure && dirty
      ? { kind: 'error', message: failure }
      : dirty
        ? { kind: 'unsaved' }
        : { kind: 'saved', ...(savedAt ? { at: savedAt } : {}) };
  return { status, flush: save };
}
