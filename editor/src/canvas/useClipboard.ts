/**
 * Copy, cut and paste of nodes as graph JSON through the browser's own clipboard events, so
 * no permission prompt is needed and graphs paste between tabs, files and chats. Pasted nodes
 * land under the pointer; text that is a graph document but does not load goes to the
 * importer, which lists its problems.
 */
import { useReactFlow } from '@xyflow/react';
import type { XYPosition } from '@xyflow/react';
import { useEffect, useLayoutEffect, useRef } from 'react';
import type { RefObject } from 'react';
import { isTypingTarget } from '../ui/shortcuts';
import { useToasts } from '../ui/toasts';
import { copySelection, loadGraphSchema, loadPasted, readPaste } from './clipboard';
import type { EditorAction, EditorState } from './editor-state';
import { selectedNodeIds } from './editor-state';
import { toGraphEdge, toGraphNode } from './flow-mapping';

export function useClipboard(options: {
  state: EditorState;
  dispatch(action: EditorAction): void;
  /** The pointer over the canvas in page pixels, null when it is elsewhere. */
  pointer: RefObject<XYPosition | null>;
  /** Pasted text that is a graph document with problems. */
  onPasteProblems(text: string): void;
}): void {
  const flow = useReactFlow();
  const toasts = useToasts();
  const latest = useRef(options);
  useLayoutEffect(() => {
    latest.current = options;
  });

  useEffect(() => {
    const onCopy = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target) || window.getSelection()?.toString()) return;
      const { state, dispatch } = latest.current;
      const text = copySelection(
        state.nodes.map(toGraphNode),
        state.edges.map(toGraphEdge),
        new Set(selectedNodeIds(state)),
      );
      if (!text || !event.clipboardData) return;
      event.clipboardData.setData('text/plain', text);
      event.preventDefault();
      if (event.type === 'cut') dispatch({ type: 'deleteSelection' });
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target) || document.querySelector('.dialog')) return;
      const text = event.clipboardData?.getData('text/plain') ?? '';
      const read = readPaste(text);
      if (read.kind === 'not-graph') return;
      // Decided now, while the event is live; the loader may still be on its way.
      event.preventDefault();
      void loadGraphSchema().then((schema) => pasteGraph(text, read, schema));
    };
    const pasteGraph = (
      text: string,
      read: Exclude<ReturnType<typeof readPaste>, { kind: 'not-graph' }>,
      schema: Parameters<typeof loadPasted>[1],
    ) => {
      const result = read.kind === 'document' ? loadPasted(read.doc, schema) : read;
      const { dispatch, pointer, onPasteProblems } = latest.current;
      if (result.kind === 'problems') {
        onPasteProblems(text);
        return;
      }
      const at = pointer.current ? flow.screenToFlowPosition(pointer.current) : undefined;
      dispatch({ type: 'paste', fragment: result.fragment, ...(at ? { at } : {}) });
      if (result.migratedFrom !== undefined) {
        toasts.info(
          'Pasted nodes were migrated',
          `They came from document version ${result.migratedFrom}.`,
        );
      }
    };
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCopy);
    document.addEventListener('paste', onPaste);
    return () => {
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCopy);
      document.removeEventListener('paste', onPaste);
    };
  }, [flow, toasts]);
}
