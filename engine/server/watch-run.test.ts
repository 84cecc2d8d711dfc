import { describe, expect, it } from 'vitest';
import { emptySnapshot, type RunEvent } from '../runs/events';
import { watchRun } from './watch-run';

const AT = '2026-01-01T00:00:00.000Z';
const event = (seq: number): RunEvent => ({
  runId: 'run_1',
  seq,
  type: 'node.progress',
  nodeId: 'n',
  progress: seq / 100,
  at: AT,
});

/** An engine whose store holds `stored` and whose hub pushes what the test publishes. */
function fakeEngine(stored: RunEvent[]) {
  let listener: ((event: RunEvent) => void) | undefined;
  return {
    publish: (e: RunEvent) => listener?.(e),
    engine: {
      events: {
        subscribe: (_runId: string, l: (event: RunEvent) => void) => {
          listener = l;
          return () => (listener = undefined);
        },
        since: async (_runId: string, sinceSeq = 0) => stored.filter((e) => e.seq > sinceSeq),
      },
      runs: { snapshot: async () => emptySnapshot('run_1', ['n']) },
    },
  };
}

describe('watchRun', () => {
  it('forwards live events in seq order when they arrive out of order', async () => {
    const { engine, publish } = fakeEngine([]);
    const seen: number[] = [];
    const watch = await watchRun(engine as never, 'run_1', 0, (e) => seen.push(e.seq));
    watch!.start();
    for (const seq of [1, 3, 2, 5, 4, 6]) publish(event(seq));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    watch!.stop();
  });

  it('fills a gap from the store when an event never arrives live (stored elsewhere)', async () => {
    const stored = [1, 2, 3, 4].map(event);
    const { engine, publish } = fakeEngine(stored);
    const seen: number[] = [];
    const watch = await watchRun(engine as never, 'run_1', 4, (e) => seen.push(e.seq));
    watch!.start();
    stored.push(event(5), event(6)); // 5 was stored by another process: no live push
    publish(event(6));
    publish(event(6)); // a repeat is dropped
    expect(seen).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen).toEqual([5, 6]);
    publish(event(7));
    expect(seen).toEqual([5, 6, 7]);
    watch!.stop();
  });
});
