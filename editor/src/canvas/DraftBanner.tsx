/**
 * Offers the work this browser kept for the workflow (edits the server did not save, e.g.
 * while the graph had problems) when it differs from what was opened.
 */
import { useState } from 'react';
import type { GraphDocument } from '../../../engine/graph/document';
import { clearDraft, readDraft } from './local-draft';
import './DraftBanner.css';

export interface DraftBannerProps {
  /** The workflow as opened, and its id (null before its first save). */
  workflowId: string | null;
  doc: GraphDocument;
  onRestore(doc: GraphDocument): void;
}

export function DraftBanner({ workflowId, doc, onRestore }: DraftBannerProps) {
  const [draft, setDraft] = useState(() => readDraft(localStorage, workflowId, doc));
  if (!draft) return null;
  return (
    <div className="draft-banner" role="status">
      Unsaved work from {new Date(draft.savedAt).toLocaleString()} was kept in this browser.
      <button
        className="button button--small button--primary"
        onClick={() => {
          onRestore(draft.doc);
          setDraft(null);
        }}
      >
        Restore it
      </button>
      <button
        className="button button--small"
        onClick={() => {
          clearDraft(localStorage, workflowId);
          setDraft(null);
        }}
      >
        Discard
      </button>
    </div>
  );
}
