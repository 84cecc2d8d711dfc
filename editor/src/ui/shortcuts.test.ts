import { describe, expect, it } from 'vitest';
import { SHORTCUTS, commandFor, formatKeys } from './shortcuts';

const key = (
  k: string,
  mods: Partial<{ ctrl: boolean; meta: boolean; shift: boolean; alt: boolean }> = {},
) => ({
  key: k,
  ctrlKey: !!mods.ctrl,
  metaKey: !!mods.meta,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
});

describe('shortcuts', () => {
  it('maps Mod to Ctrl off macOS and Cmd on it', () => {
    expect(commandFor(key('z', { ctrl: true }), false)).toBe('undo');
    expect(commandFor(key('Z', { ctrl: true, shift: true }), false)).toBe('redo');
    expect(commandFor(key('y', { ctrl: true }), false)).toBe('redo');
    expect(commandFor(key('z', { meta: true }), true)).toBe('undo');
    expect(commandFor(key('z', { ctrl: true }), true)).toBeNull();
  });

  it('knows every command the help panel lists', () => {
    const reachable = new Set(
      [
        key('z', { ctrl: true }),
        key('Z', { ctrl: true, shift: true }),
        key('c', { ctrl: true }),
        key('x', { ctrl: true }),
        key('v', { ctrl: true }),
        key('d', { ctrl: true }),
        key('Delete'),
        key('a', { ctrl: true }),
        key('s', { ctrl: true }),
        key('Enter', { ctrl: true }),
        key('f'),
        key('Tab'),
        key('S', { shift: true }),
        key('?', { shift: true }),
        key('Escape'),
      ].map((k) => commandFor(k, false)),
    );
    for (const shortcut of SHORTCUTS) expect(reachable.has(shortcut.command)).toBe(true);
    expect(formatKeys('Mod+Shift+Z', true)).toBe('⌘⇧Z');
    expect(formatKeys('Mod+Shift+Z', false)).toBe('Ctrl+Shift+Z');
  });

  it('leaves plain letters and Alt combinations alone', () => {
    expect(commandFor(key('a'), false)).toBeNull();
    expect(commandFor(key('z', { ctrl: true, alt: true }), false)).toBeNull();
  });
});
