import { describe, expect, it } from 'vitest';
import { indexExposed } from './studio-context';

describe('indexExposed', () => {
  it('lists each node’s exposed labels and keeps unchanged nodes’ lists, so their markers stay put', () => {
    const first = indexExposed([
      { nodeId: 'script', label: 'Script' },
      { nodeId: 'story', label: 'Shots' },
      { nodeId: 'story', label: 'Style' },
    ]);
    expect(first.get('story')).toEqual(['Shots', 'Style']);
    const second = indexExposed(
      [
        { nodeId: 'script', label: 'Script' },
        { nodeId: 'story', label: 'Shot count' },
        { nodeId: 'story', label: 'Style' },
      ],
      first,
    );
    expect(second.get('script')).toBe(first.get('script'));
    expect(second.get('story')).toEqual(['Shot count', 'Style']);
    expect(second.get('story')).not.toBe(first.get('story'));
    expect(indexExposed([], second).get('script')).toBeUndefined();
  });
});
