/**
 * Importing a workflow from a file, a drop or pasted text: read and parse it here, let the
 * server migrate, validate and save it, and collect every problem for the import view.
 */
import { useCallback, useState } from 'react';
import type { ImportResult } from '../api/client';
import { api } from '../api/client';
import { ApiError } from '../api/http';
import type { GraphProblem } from '../api/types';
import { readImportText } from './import-file';

export interface ImportState {
  open: boolean;
  busy: boolean;
  problems: GraphProblem[];
  source: string;
}

const CLOSED: ImportState = { open: false, busy: false, problems: [], source: '' };

export function useImporter(onImported: (result: ImportResult) => void) {
  const [state, setState] = useState<ImportState>(CLOSED);

  const importText = useCallback(
    async (text: string, source: string) => {
      const read = readImportText(text, source);
      if (!read.ok) {
        setState({ open: true, busy: false, problems: read.problems, source });
        return;
      }
      setState((s) => ({ ...s, busy: true, source }));
      try {
        const result = await api.importWorkflow(read.value);
        setState(CLOSED);
        onImported(result);
      } catch (error) {
        const problems: GraphProblem[] =
          error instanceof ApiError && error.problems.length > 0
            ? error.problems
            : [
                {
                  code: error instanceof ApiError ? error.code : 'import_failed',
                  message: error instanceof Error ? error.message : String(error),
                },
              ];
        setState({ open: true, busy: false, problems, source });
      }
    },
    [onImported],
  );

  const importFile = useCallback(
    async (file: File) => {
      if (!file.name.toLowerCase().endsWith('.json') && file.type !== 'application/json') {
        setState({
          open: true,
          busy: false,
          source: file.name,
          problems: [
            {
              code: 'not_a_graph_file',
              message: `${file.name} is not a .json file: export a workflow from Character Lab (Export) and import that file`,
            },
          ],
        });
        return;
      }
      await importText(await file.text(), file.name);
    },
    [importText],
  );

  return {
    state,
    open: useCallback(() => setState({ ...CLOSED, open: true }), []),
    close: useCallback(() => setState(CLOSED), []),
    importText,
    importFile,
  };
}
