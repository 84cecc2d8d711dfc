/** Shown when a save was refused because the workflow changed elsewhere; autosave is paused. */
import type { SaveConflict } from './save-conflict';
import { conflictMessage } from './save-conflict';
import './DraftBanner.css';

export interface ConflictBannerProps {
  conflict: SaveConflict;
  /** Replace the local graph with the server's version. */
  onReload(): void;
  /** Keep the local graph as a new workflow. */
  onSaveCopy(): void;
}

export function ConflictBanner({ conflict, onReload, onSaveCopy }: ConflictBannerProps) {
  return (
    <div className="draft-banner" role="alert" data-testid="save-conflict">
      {conflictMessage(conflict)}
      <button className="button button--small button--primary" onClick={onReload}>
        Reload
      </button>
      <button className="button button--small" onClick={onSaveCopy}>
        Save as copy
      </button>
    </div>
  );
}
