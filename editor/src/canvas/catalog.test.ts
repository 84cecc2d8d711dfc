import { describe, expect, it } from 'vitest';
import { nodeTypes } from '../test/fixtures';
import { defaultParams, groupByCategory, nodeIdBase, searchNodeTypes, uniqueId } from './catalog';

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

  it('groups by category in palette order', () => {
    expect(groupByCategory(nodeTypes()).map((g) => g.category)).toEqual([
      'Inputs',
      'Characters',
      'Story',
      'Images',
      'Video',
      'Quality',
    ]);
  });

  it('searches titles first, then ports and descriptions', () => {
    const titles = (q: string) => searchNodeTypes(nodeTypes(), q).map((t) => t.type);
    expect(titles('merge')).toEqual(['ffmpeg-merge']);
    expect(titles('image[]')).toEqual(['sd-lora-frame', 'runway-clip', 'consistency-check']);
    expect(titles('sto')[0]).toBe('gpt-storyboard');
    expect(titles('')).toHaveLength(8);
    expect(titles('zzz')).toEqual([]);
  });

  it('makes short unique ids', () => {
    expect(nodeIdBase('script-input')).toBe('script');
    expect(nodeIdBase('sd-lora-frame')).toBe('frame');
    expect(nodeIdBase('character-loader')).toBe('character');
    expect(uniqueId('frame', new Set(['frame', 'frame-2']))).toBe('frame-3');
  });
});
