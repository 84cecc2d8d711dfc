/**
 * The studio's keyboard shortcuts (the table in ui/shortcuts.ts). Keys typed into a field, or
 * while a dialog, the lightbox or quick add is open, belong to them. Copy, cut and paste are
 * the browser's own events (useClipboard), so they are not handled here.
 */
import { useEffect, useLayoutEffect, useRef } from 'react';
import type { Command } from '../ui/shortcuts';
import { commandFor, isMacPlatform, isTypingTarget } from '../ui/shortcuts';

/** What every shortcut does. */
export type ShortcutHandlers = Record<Exclude<Command, 'copy' | 'cut' | 'paste'>, () => void>;

export function useStudioShortcuts(handlers: ShortcutHandlers): void {
  const latest = useRef(handlers);
  useLayoutEffect(() => {
    latest.current = handlers;
  });

  useEffect(() => {
    const mac = isMacPlatform();
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target) || document.querySelector('.dialog, .lightbox, .quick-add'))
        return;
      const command = commandFor(event, mac);
      if (!command || command === 'copy' || command === 'cut' || command === 'paste') return;
      event.preventDefault();
      latest.current[command]();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
