import { describe, expect, it } from 'vitest';
import { canConnect, parsePortType, PORT_COLORS, PORT_KINDS } from './ports';

describe('canConnect', () => {
  it('connects equal kinds and refuses different ones', () => {
    expect(canConnect('image', 'image')).toBe(true);
    expect(canConnect('image[]', 'image[]')).toBe(true);
    expect(canConnect('text', 'storyboard')).toBe(false);
    expect(canConnect('video[]', 'image[]')).toBe(false);
  });

  it('lets one value feed a list, never a list feed one value', () => {
    expect(canConnect('video', 'video[]')).toBe(true);
    expect(canConnect('video[]', 'video')).toBe(false);
  });

  it('parses list types and colours every kind', () => {
    expect(parsePortType('number[]')).toEqual({ kind: 'number', list: true });
    expect(parsePortType('character')).toEqual({ kind: 'character', list: false });
    expect(Object.keys(PORT_COLORS).sort()).toEqual([...PORT_KINDS].sort());
  });
});
