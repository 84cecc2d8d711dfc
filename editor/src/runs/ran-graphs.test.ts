// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { characterShort } from '../test/fixtures';
import { recallRanGraph, rememberRanGraph } from './ran-graphs';

describe('ran graphs', () => {
  it('remembers the last 20 runs’ graphs', () => {
    localStorage.clear();
    for (let i = 0; i < 25; i++)
      rememberRanGraph(localStorage, `run_${i}`, { ...characterShort(), name: `n${i}` });
    expect(recallRanGraph(localStorage, 'run_4')).toBeUndefined();
    expect(recallRanGraph(localStorage, 'run_5')?.name).toBe('n5');
    expect(recallRanGraph(localStorage, 'run_24')?.name).toBe('n24');
    localStorage.setItem('charlab.ranGraphs', 'garbage');
    expect(recallRanGraph(localStorage, 'run_24')).toBeUndefined();
  });
});
