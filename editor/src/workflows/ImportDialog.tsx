/** Import a workflow: pick a file, drop one, or paste its JSON; problems are listed in full. */
import { useState } from 'react';
import { Dialog } from '../ui/Dialog';
import { ImportProblems } from './ImportProblems';
import type { ImportState } from './useImporter';

export interface ImportDialogProps {
  state: ImportState;
  onFile(file: File): void;
  onText(text: string): void;
  onClose(): void;
}

export function ImportDialog({ state, onFile, onText, onClose }: ImportDialogProps) {
  const [text, setText] = useState('');
  const [over, setOver] = useState(false);
  return (
    <Dialog
      title="Import a workflow"
      onClose={onClose}
      wide
      footer={
        <>
          <button className="button" onClick={onClose}>
            Close
          </button>
          <button
            className="button button--primary"
            disabled={text.trim() === '' || state.busy}
            onClick={() => onText(text)}
          >
            {state.busy ? 'Importing…' : 'Import pasted JSON'}
          </button>
        </>
      }
    >
      {state.problems.length > 0 && (
        <ImportProblems problems={state.problems} source={state.source} />
      )}
      <label
        className={`drop-zone${over ? ' is-over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const file = e.dataTransfer.files[0];
          if (file) onFile(file);
        }}
      >
        <input
          type="file"
          accept=".json,application/json"
          data-testid="import-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) onFile(file);
            e.target.value = '';
          }}
        />
        <span>
          Drop an exported .json here, or click to choose a file. Older versions are migrated on
          import.
        </span>
      </label>
      <label className="field__label" htmlFor="import-text">
        …or paste the graph JSON
      </label>
      <textarea
        id="import-text"
        className="input input--mono"
        rows={8}
        placeholder='{ "schema": "character-lab/graph", "version": 1, … }'
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
    </Dialog>
  );
}
