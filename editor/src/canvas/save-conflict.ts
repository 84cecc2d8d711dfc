/**
 * A save refused because the workflow was changed elsewhere (another tab, another person, a
 * script): the server answers 409 `workflow_conflict` with its current revision. Autosave
 * stops and the studio offers to reload the saved version or keep this one as a copy.
 */
import type { GraphDocument } from '../../../engine/graph/document';
import { ApiError, isRecord } from '../api/http';

export interface SaveConflict {
  /** The revision the server holds now. */
  revision: number;
}

/** The conflict a failed save reports, or null for any other failure. */
export function saveConflictFrom(error: unknown): SaveConflict | null {
  if (!(error instanceof ApiError) || error.code !== 'workflow_conflict') return null;
  const revision = isRecord(error.details) ? error.details.revision : undefined;
  return { revision: typeof revision === 'number' ? revision : NaN };
}

/** What the banner says. */
export function conflictMessage(conflict: SaveConflict): string {
  const which = Number.isNaN(conflict.revision) ? '' : ` (revision ${conflict.revision})`;
  return (
    `This workflow was changed elsewhere${which}. ` + 'Reload it, or save your version as a copy.'
  );
}

/** The local graph as a new workflow's document, named so the two are told apart. */
export function copyOf(doc: GraphDocument): GraphDocument {
  return { ...doc, name: `${doc.name} (copy)` };
}
