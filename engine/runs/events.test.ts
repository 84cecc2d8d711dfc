import { describe, expect, it } from 'vitest';
import { emptySnapshot, foldEvents, type RunEvent } from './events';

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
});
