/**
 * Live validation by the server (`POST /api/graphs/validate`) shortly after each change, so
 * problems appear on the nodes and edges they name while the user edits, not only on Run.
 * Moving nodes does not re-validate; answers that arrive out of order are dropped.
 */
import { useEffect, useLayoutEffect, useRef } from 'react';
import { api } from '../api/client';
import type { Store } from '../ui/store';
import type { EditorState } from './editor-state';
import { currentDocument } from './editor-state';
import type { ProblemIndex } from './studio-context';
import { NO_PROBLEMS, indexProblems } from './studio-context';

export const VALIDATE_DELAY_MS = 400;

export function useValidation(state: EditorState, problems: Store<ProblemIndex>): void {
  const stateRef = useRef(state);
  const lastKey = useRef<string | null>(null);
  const sequence = useRef(0);
  useLayoutEffect(() => {
    stateRef.current = state;
  });

  useEffect(() => {
    const timer = window.setTimeout(() => {
      const doc = currentDocument(stateRef.current);
      // Positions do not change validity: skip the request when only they moved.
      const key = JSON.stringify({
        ...doc,
        nodes: doc.nodes.map(({ position: _p, ...rest }) => rest),
      });
      if (key === lastKey.current) return;
      lastKey.current = key;
      if (doc.nodes.length === 0) {
        problems.set(NO_PROBLEMS);
        return;
      }
      const mine = ++sequence.current;
      api.validate(doc).then(
        (result) => {
          if (mine === sequence.current) problems.set(indexProblems(result.errors));
        },
        () => {
          // The save indicator and toasts already report an unreachable server.
          lastKey.current = null;
        },
      );
    }, VALIDATE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [state.revision, problems]);
}
