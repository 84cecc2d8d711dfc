/**
 * Keyboard shortcuts: one table read by the key handler and by the help panel, so the panel
 * can never list a shortcut that does not work. `Mod` is Cmd on macOS and Ctrl elsewhere.
 */

export type Command =
  | 'undo'
  | 'redo'
  | 'copy'
  | 'cut'
  | 'paste'
  | 'duplicate'
  | 'delete'
  | 'selectAll'
  | 'save'
  | 'run'
  | 'fitView'
  | 'quickAdd'
  | 'toggleSnap'
  | 'help'
  | 'escape';

export interface Shortcut {
  command: Command;
  /** Display forms, e.g. `Mod+Shift+Z`. The first is shown first in the help. */
  keys: string[];
  description: string;
}

export const SHORTCUTS: Shortcut[] = [
  { command: 'undo', keys: ['Mod+Z'], description: 'Undo' },
  { command: 'redo', keys: ['Mod+Shift+Z', 'Mod+Y'], description: 'Redo' },
  { command: 'copy', keys: ['Mod+C'], description: 'Copy the selection as graph JSON' },
  { command: 'cut', keys: ['Mod+X'], description: 'Cut the selection' },
  { command: 'paste', keys: ['Mod+V'], description: 'Paste nodes (graph JSON from anywhere)' },
  { command: 'duplicate', keys: ['Mod+D'], description: 'Duplicate the selection' },
  { command: 'delete', keys: ['Delete', 'Backspace'], description: 'Delete the selection' },
  { command: 'selectAll', keys: ['Mod+A'], description: 'Select every node' },
  { command: 'save', keys: ['Mod+S'], description: 'Save now (autosave runs anyway)' },
  { command: 'run', keys: ['Mod+Enter'], description: 'Run the workflow' },
  { command: 'fitView', keys: ['Shift+1', 'F'], description: 'Fit the graph in view' },
  { command: 'quickAdd', keys: ['Tab', 'Double-click canvas'], description: 'Add a node by name' },
  { command: 'toggleSnap', keys: ['Shift+S'], description: 'Snap to grid on/off' },
  { command: 'help', keys: ['?'], description: 'Show these shortcuts' },
  { command: 'escape', keys: ['Escape'], description: 'Close a panel, clear the selection' },
];

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The command a key press means, or null. Typing in a field is the caller's to exclude. */
export function commandFor(event: KeyLike, isMac: boolean): Command | null {
  const mod = isMac ? event.metaKey : event.ctrlKey;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (event.altKey) return null;
  if (mod) {
    if (key === 'z') return event.shiftKey ? 'redo' : 'undo';
    if (key === 'y' && !event.shiftKey) return 'redo';
    if (event.shiftKey) return null;
    switch (key) {
      case 'c':
        return 'copy';
      case 'x':
        return 'cut';
      case 'v':
        return 'paste';
      case 'd':
        return 'duplicate';
      case 'a':
        return 'selectAll';
      case 's':
        return 'save';
      case 'Enter':
        return 'run';
      default:
        return null;
    }
  }
  if (event.ctrlKey || event.metaKey) return null;
  switch (key) {
    case 'Delete':
    case 'Backspace':
      return 'delete';
    case 'Escape':
      return 'escape';
    case 'Tab':
      return event.shiftKey ? null : 'quickAdd';
    case '?':
      return 'help';
    case '!':
      // Shift+1 on US layouts arrives as "!".
      return event.shiftKey ? 'fitView' : null;
    case 'f':
      return event.shiftKey ? null : 'fitView';
    case 's':
      return event.shiftKey ? 'toggleSnap' : null;
    default:
      return null;
  }
}

/** `Mod+Shift+Z` → `⌘⇧Z` on macOS, `Ctrl+Shift+Z` elsewhere. */
export function formatKeys(keys: string, isMac: boolean): string {
  if (!isMac) return keys.replace('Mod', 'Ctrl');
  return keys.replace('Mod+', '⌘').replace('Shift+', '⇧').replace('Alt+', '⌥');
}

export function isMacPlatform(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)
  );
}

/** True when a key press belongs to a text field, not to the canvas. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}
