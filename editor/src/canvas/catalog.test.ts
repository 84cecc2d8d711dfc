import { describe, expect, it } from 'vitest';
import { NEUTRAL_NODE_COLOR, normalizeNodeType } from '../api/client';
import { catalog, nodeTypes } from '../test/fixtures';
import {
  defaultParams,
  groupByCategory,
  nodeColor,
  nodeIdBase,
  searchNodeTypes,
  uniqueId,
} from './catalog';

describe('catalog', () => {
  it('normalises the server answer: ports in order, params with defaults', () => {
    const frames = nodeTypes().find((t) => t.type === 'sd-lora-frame')!;
    expect(frames.inputs.map((p) => [p.id, p.type])).toEqual([
      ['storyboard', 'storyboard'],
      ['character', 'character'],
    ]);
    expect(frames.outputs).toEqual([{ id: 'frames', type: 'image[]', label: 'Frames' }]);
    expect(defaultParams(frames)).toMatchObject({ seed: 42, steps: 28, checkpoint: '' });
  });

  it('groups by the categories nodes declare, in the order each first appears', () => {
    const [a, b, c] = nodeTypes();
    const groups = groupByCategory([
      { ...a, category: 'Sound' },
      { ...b, category: 'Light' },
      { ...c, category: 'Sound' },
    ]);
    expect(groups.map((g) => [g.category, g.types.map((t) => t.type)])).toEqual([
      ['Sound', [a.type, c.type]],
      ['Light', [b.type]],
    ]);
    const palette = groupByCategory(nodeTypes());
    expect(palette[0].category).toBe('Inputs');
    expect(palette.flatMap((g) => g.types)).toHaveLength(nodeTypes().length);
  });

  it('takes each node colour from its definition, neutral when there is none', () => {
    expect(nodeColor(catalog(), 'character-loader')).toBe('#f472b6');
    expect(nodeColor(catalog(), 'sd-lora-frame')).toBe('#34d399');
    expect(nodeColor(catalog(), 'no-such-node')).toBe(NEUTRAL_NODE_COLOR);
    expect(nodeTypes().every((t) => /^#[0-9a-f]{6}$/i.test(t.color))).toBe(true);
    expect(normalizeNodeType({ type: 'old-node' }).color).toBe(NEUTRAL_NODE_COLOR);
    expect(normalizeNodeType({ type: 'odd', color: 'red; x: y' }).color).toBe(NEUTRAL_NODE_COLOR);
  });

  it('searches titles first, then ports and descriptions', () => {
    const titles = (q: string) => searchNodeTypes(nodeTypes(), q).map((t) => t.type);
    expect(titles('merge')).toEqual(['ffmpeg-merge']);
    expect(titles('image[]')).toEqual(['sd-lora-frame', 'runway-clip', 'consistency-check']);
    expect(titles('sto')[0]).toBe('gpt-storyboard');
    expect(titles('')).toHaveLength(nodeTypes().length);
    expect(titles('zzz')).toEqual([]);
  });

  it('makes short unique ids', () => {
    expect(nodeIdBase('script-input')).toBe('script');
    expect(nodeIdBase('sd-lora-frame')).toBe('frame');
    expect(nodeIdBase('character-loader')).toBe('character');
    expect(uniqueId('frame', new Set(['frame', 'frame-2']))).toBe('frame-3');
  });
});
