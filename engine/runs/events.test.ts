import { describe, expect, it } from 'vitest';
import { CANCEL_CAME_LATE, emptySnapshot, foldEvents, type RunEvent } from './events';

const at = '2026-01-01T00:00:00.000Z';
let seq = 0;
const event = (fields: Partial<RunEvent> & Pick<RunEvent, 'type'>): RunEvent => ({
  runId: 'r',
  at,
  seq: ++seq,
  ...fields,
});

describe('the run snapshot fold', () => {
  it('follows a run with a fan-out node to its end', () => {
    seq = 0;
    const events = [
      event({ type: 'run.started' }),
      event({ type: 'node.completed', nodeId: 'script', outputs: { text: 'hi' } }),
      event({ type: 'node.started', nodeId: 'frames', total: 2 }),
      event({ type: 'node.started', nodeId: 'frames', index: 0 }),
      event({ type: 'node.progress', nodeId: 'frames', index: 0, progress: 0.5 }),
      event({ type: 'node.cached', nodeId: 'frames', index: 1 }),
    ];
    const mid = foldEvents(emptySnapshot('r', ['script', 'frames']), events);
    expect(mid.status).toBe('running');
    expect(mid.nodes.frames).toMatchObject({
      status: 'running',
      done: 1,
      total: 2,
      progress: 0.75,
    });
    const end = foldEvents(mid, [
      event({ type: 'node.completed', nodeId: 'frames', index: 0 }),
      event({ type: 'node.completed', nodeId: 'frames', outputs: { frames: [] } }),
      event({ type: 'run.completed', outputs: { frames: { frames: [] } } }),
    ]);
    expect(end).toMatchObject({ status: 'succeeded', seq: 9, outputs: { frames: { frames: [] } } });
    expect(end.nodes.frames).toMatchObject({ status: 'succeeded', progress: 1, done: 2 });
    expect(end.nodes.script.status).toBe('succeeded');
  });

  it('ignores replayed events and late progress after a node ended', () => {
    seq = 0;
    const started = event({ type: 'node.started', nodeId: 'merge' });
    const failed = event({ type: 'node.failed', nodeId: 'merge', error: 'ffmpeg failed' });
    const late = event({ type: 'node.progress', nodeId: 'merge', progress: 0.9 });
    const snapshot = foldEvents(emptySnapshot('r', ['merge']), [started, failed, late, started]);
    expect(snapshot.nodes.merge).toMatchObject({ status: 'failed', error: 'ffmpeg failed' });
    expect(snapshot.seq).toBe(3);
  });

  it('a cancelled fan-out node leaves no item running, even if a late start arrives', () => {
    seq = 0;
    const snapshot = foldEvents(emptySnapshot('r', ['clips']), [
      event({ type: 'run.started' }),
      event({ type: 'node.started', nodeId: 'clips', total: 3 }),
      event({ type: 'node.started', nodeId: 'clips', index: 0 }),
      event({ type: 'node.completed', nodeId: 'clips', index: 0 }),
      event({ type: 'node.started', nodeId: 'clips', index: 1 }),
      event({ type: 'node.cancelled', nodeId: 'clips' }),
      // The worker's live report of item 2 arrives after the workflow ended the node.
      event({ type: 'node.started', nodeId: 'clips', index: 2 }),
      event({ type: 'node.progress', nodeId: 'clips', index: 2, progress: 0.4 }),
    ]);
    expect(snapshot.nodes.clips.status).toBe('cancelled');
    expect(snapshot.nodes.clips.items).toEqual({
      0: { status: 'succeeded', progress: 1 },
      1: { status: 'cancelled', progress: 0 },
      2: { status: 'cancelled', progress: 0 },
    });
  });

  it('a late node.started never brings an ended node back to running', () => {
    seq = 0;
    const snapshot = foldEvents(emptySnapshot('r', ['merge']), [
      event({ type: 'node.cancelled', nodeId: 'merge' }),
      event({ type: 'node.started', nodeId: 'merge' }),
    ]);
    expect(snapshot.nodes.merge.status).toBe('cancelled');
  });

  it('a run that ends cancelled (or outside the interpreter) leaves nothing running', () => {
    seq = 0;
    const snapshot = foldEvents(emptySnapshot('r', ['story', 'frames', 'merge']), [
      event({ type: 'run.started' }),
      event({ type: 'node.completed', nodeId: 'story' }),
      event({ type: 'node.started', nodeId: 'frames', total: 2 }),
      event({ type: 'node.started', nodeId: 'frames', index: 0 }),
      event({ type: 'run.cancelled' }),
    ]);
    expect(snapshot.status).toBe('cancelled');
    expect(snapshot.nodes.story.status).toBe('succeeded');
    expect(snapshot.nodes.frames.status).toBe('cancelled');
    expect(snapshot.nodes.frames.items?.[0].status).toBe('cancelled');
    expect(snapshot.nodes.merge.status).toBe('cancelled');
  });

  it('keeps the note of a run whose cancel came after its last node', () => {
    seq = 0;
    const snapshot = foldEvents(emptySnapshot('r', ['merge']), [
      event({ type: 'node.completed', nodeId: 'merge' }),
      event({ type: 'run.completed', stage: CANCEL_CAME_LATE }),
    ]);
    expect(snapshot).toMatchObject({ status: 'succeeded', note: CANCEL_CAME_LATE });
    expect(snapshot.nodes.merge.status).toBe('succeeded');
  });
});
