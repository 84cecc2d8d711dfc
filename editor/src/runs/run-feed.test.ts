import { describe, expect, it } from 'vitest';
import { emptySnapshot } from '../../../engine/runs/events';
import type { RunEvent } from '../../../engine/runs/events';
import { createFeed, feedEvent, feedSnapshot, resumeSeq } from './run-feed';

const at = '2026-01-01T00:00:00.000Z';
const ev = (seq: number, rest: Partial<RunEvent>): RunEvent => ({
  runId: 'r1',
  seq,
  type: 'node.progress',
  at,
  ...rest,
});

describe('run feed', () => {
  it('folds events after the snapshot and ignores those already in it', () => {
    let feed = createFeed('r1');
    feed = feedSnapshot(feed, { ...emptySnapshot('r1', ['a']), status: 'running', seq: 2 });
    feed = feedEvent(feed, ev(2, { type: 'node.started', nodeId: 'a' }));
    expect(feed.snapshot!.nodes.a.status).toBe('pending');
    feed = feedEvent(feed, ev(3, { type: 'node.progress', nodeId: 'a', progress: 0.5 }));
    expect(feed.snapshot!.nodes.a).toMatchObject({ status: 'running', progress: 0.5 });
    expect(resumeSeq(feed)).toBe(3);
    expect(feed.log.map((e) => e.seq)).toEqual([2, 3]);
  });

  it('keeps events that beat the snapshot and folds them after it', () => {
    let feed = createFeed('r1');
    feed = feedEvent(feed, ev(5, { type: 'node.progress', nodeId: 'a', progress: 0.7 }));
    feed = feedEvent(feed, ev(4, { type: 'node.started', nodeId: 'a' }));
    feed = feedSnapshot(feed, { ...emptySnapshot('r1', ['a']), status: 'running', seq: 3 });
    expect(feed.snapshot!.nodes.a).toMatchObject({ status: 'running', progress: 0.7 });
    expect(feed.snapshot!.seq).toBe(5);
    expect(feed.log.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('never rolls back to an older snapshot, dedupes the log and ignores other runs', () => {
    let feed = feedSnapshot(createFeed('r1'), {
      ...emptySnapshot('r1', ['a']),
      seq: 9,
      status: 'running',
    });
    feed = feedSnapshot(feed, { ...emptySnapshot('r1', ['a']), seq: 4 });
    expect(feed.snapshot!.seq).toBe(9);
    feed = feedEvent(feed, ev(10, { type: 'run.completed' }));
    feed = feedEvent(feed, ev(10, { type: 'run.completed' }));
    feed = feedEvent(feed, { ...ev(11, { type: 'run.failed' }), runId: 'other' });
    expect(feed.log).toHaveLength(1);
    expect(feed.snapshot!.status).toBe('succeeded');
  });

  it('collects fan-out item outputs as items finish', () => {
    const ref = { id: 'a'.repeat(64), mime: 'image/png', bytes: 1, sha256: 'a'.repeat(64) };
    let feed = feedSnapshot(createFeed('r1'), emptySnapshot('r1', ['frames']));
    feed = feedEvent(
      feed,
      ev(1, { type: 'node.completed', nodeId: 'frames', index: 2, outputs: { frames: ref } }),
    );
    expect(feed.itemOutputs).toEqual({ frames: { 2: { frames: ref } } });
  });
});
