/**
 * A copy of unsaved work in this browser. The server only stores graphs that validate, so a
 * half-built graph (or one edited while offline) lives here until it can be saved; reopening
 * the workflow offers it back. Keyed by workflow id (`new` for a workflow not yet created).
 */
import { canonicalJson } from '../../../engine/graph/canonical';
import type { GraphDocument } from '../../../engine/graph/document';

export interface LocalDraft {
  savedAt: number;
  doc: GraphDocument;
}

const PREFIX = 'charlab.draft.';

export function draftKey(workflowId: string | null): string {
  return `${PREFIX}${workflowId ?? 'new'}`;
}

export function writeDraft(
  storage: Storage,
  workflowId: string | null,
  doc: GraphDocument,
  now: number,
): void {
  try {
    storage.setItem(
      draftKey(workflowId),
      JSON.stringify({ savedAt: now, doc } satisfies LocalDraft),
    );
  } catch {
    // Storage full or disabled: the save indicator still says the work is unsaved.
  }
}

export function clearDraft(storage: Storage, workflowId: string | null): void {
  storage.removeItem(draftKey(workflowId));
}

/** The kept draft when it differs from `current` (same content is nothing to restore). */
export function readDraft(
  storage: Storage,
  workflowId: string | null,
  current: GraphDocument,
): LocalDraft | null {
  const raw = storage.getItem(draftKey(workflowId));
  if (!raw) return null;
  try {
    const draft = JSON.parse(raw) as LocalDraft;
    if (!draft.doc || !Array.isArray(draft.doc.nodes) || typeof draft.savedAt !== 'number')
      return null;
    const { id: _a, ...kept } = draft.doc;
    const { id: _b, ...shown } = current;
    return canonicalJson(kept) === canonicalJson(shown) ? null : draft;
  } catch {
    return null;
  }
}
