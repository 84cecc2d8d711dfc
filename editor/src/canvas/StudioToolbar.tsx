/**
 * The studio toolbar: the workflow's name and save state, undo and redo, snap, import and
 * export, "Save as template", "Share", the shortcuts help, the problems badge and the run buttons.
 */
import { useStore } from '../ui/store';
import type { EditorAction, EditorState } from './editor-state';
import { canRedo, canUndo } from './editor-state';
import type { ProblemIndex } from './studio-context';
import { useStudio } from './studio-context';
import type { SaveStatus } from './useAutosave';
import type { RunActions } from './useRunActions';
import './StudioToolbar.css';

export interface StudioToolbarProps {
  state: EditorState;
  dispatch(action: EditorAction): void;
  save: SaveStatus;
  onRetrySave(): void;
  snap: boolean;
  onToggleSnap(): void;
  onImport(): void;
  onExport(): void;
  onHelp(): void;
  onShowProblems(): void;
  /** Opens "Save as template" (absent: no button). */
  onSaveTemplate?(): void;
  /** Opens "Share" (absent: no button, e.g. a draft that was never saved). */
  onShare?(): void;
  runs: RunActions;
}

export function StudioToolbar(props: StudioToolbarProps) {
  const { state, dispatch, snap, runs } = props;
  const { problems } = useStudio();
  const problemCount = useStore(problems, (s: ProblemIndex) => s.list.length);
  return (
    <div className="studio__toolbar" role="toolbar" aria-label="Workflow">
      <input
        className="input studio__name"
        aria-label="Workflow name"
        value={state.meta.name}
        maxLength={200}
        onChange={(e) => dispatch({ type: 'setMeta', name: e.target.value })}
      />
      <SaveIndicator status={props.save} onRetry={props.onRetrySave} />
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
        onClick={props.onToggleSnap}
      >
        Snap
      </button>
      <span className="toolbar__sep" />
      <button className="button button--small" onClick={props.onImport}>
        Import
      </button>
      <button className="button button--small" onClick={props.onExport} data-testid="export">
        Export
      </button>
      {props.onSaveTemplate && (
        <button
          className="button button--small"
          onClick={props.onSaveTemplate}
          disabled={state.nodes.length === 0}
          title="Save this workflow as a template, with the values it exposes as a form"
          data-testid="open-save-template"
        >
          Save as template
        </button>
      )}
      {props.onShare && (
        <button
          className="button button--small"
          onClick={props.onShare}
          title="Make a read-only link to this workflow that others can open and import"
          data-testid="open-share"
        >
          Share
        </button>
      )}
      <button
        className="icon-button"
        title="Keyboard shortcuts (?)"
        aria-label="Keyboard shortcuts"
        onClick={props.onHelp}
      >
        ?
      </button>
      <span className="toolbar__grow" />
      {problemCount > 0 && (
        <button
          className="problems-badge"
          onClick={props.onShowProblems}
          title="Show the problems"
          data-testid="problems-badge"
        >
          ⚠ {problemCount} {problemCount === 1 ? 'problem' : 'problems'}
        </button>
      )}
      {runs.changedSinceRun && (
        <button
          className="button"
          disabled={runs.busy}
          onClick={() => void runs.rerun()}
          title="Run again with your edits; unchanged nodes come from the cache"
        >
          Re-run with changes
        </button>
      )}
      {runs.active ? (
        <button
          className="button button--danger"
          onClick={() => void runs.cancel()}
          data-testid="cancel-run"
        >
          ■ Cancel
        </button>
      ) : (
        <button
          className="button button--primary"
          disabled={runs.busy || state.nodes.length === 0}
          onClick={() => void runs.run()}
          title="Run the workflow (Ctrl/Cmd+Enter)"
          data-testid="run"
        >
          ▶ Run
        </button>
      )}
    </div>
  );
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
