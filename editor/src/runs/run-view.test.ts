import { describe, expect, it } from 'vitest';
import { emptySnapshot } from '../../../engine/runs/events';
import type { RunEvent } from '../../../engine/runs/events';
import {
  describeEvent,
  elapsedMs,
  fanOutCount,
  finalVideo,
  formatDuration,
  mergeItemOutputs,
  previewOutputs,
  runProgress,
  shotCaptions,
} from './run-view';

const ref = (n: string, mime: string) => ({
  id: n.repeat(64),
  mime,
  bytes: 10,
  sha256: n.repeat(64),
});

describe('run view', () => {
  it('counts fan-out items', () => {
    expect(fanOutCount({ status: 'running', progress: 0.3, done: 3, total: 8 })).toBe('3/8');
    expect(fanOutCount({ status: 'succeeded', progress: 1, total: 8 })).toBe('8/8');
    expect(fanOutCount({ status: 'running', progress: 0 })).toBeUndefined();
  });

  it('measures and formats elapsed time', () => {
    const start = '2026-01-01T00:00:00.000Z';
    expect(elapsedMs({ startedAt: start, endedAt: '2026-01-01T00:00:02.500Z' }, 0)).toBe(2500);
    expect(elapsedMs({ startedAt: start }, Date.parse(start) + 400)).toBe(400);
    expect(elapsedMs({}, 0)).toBeUndefined();
    expect([
      formatDuration(400),
      formatDuration(12_340),
      formatDuration(125_000),
      formatDuration(undefined),
    ]).toEqual(['400 ms', '12.3 s', '2 m 05 s', '—']);
  });

  it('writes log lines naming the node and the item', () => {
    const e = (rest: Partial<RunEvent>): RunEvent => ({
      runId: 'r',
      seq: 1,
      type: 'node.progress',
      at: '',
      ...rest,
    });
    const title = (id: string) => `«${id}»`;
    expect(
      describeEvent(
        e({ nodeId: 'f', index: 2, total: 8, progress: 0.456, stage: 'sampling' }),
        title,
      ),
    ).toBe('«f» #3/8 46% · sampling');
    expect(describeEvent(e({ type: 'node.failed', nodeId: 'f', error: 'boom' }), title)).toBe(
      '«f» failed: boom',
    );
    expect(describeEvent(e({ type: 'node.cached', nodeId: 'f' }), title)).toBe(
      '«f» reused from cache',
    );
  });

  it('sorts outputs into images, videos and a storyboard', () => {
    const storyboard = {
      title: 'T',
      shots: [
        {
          index: 0,
          description: 'd',
          prompt: 'p',
          negativePrompt: '',
          camera: 'static',
          durationSec: 2,
        },
      ],
    };
    const preview = previewOutputs({
      frames: [ref('a', 'image/png'), ref('b', 'image/png')],
      video: ref('c', 'video/mp4'),
      storyboard,
    });
    expect(preview.images).toHaveLength(2);
    expect(preview.videos).toHaveLength(1);
    expect(preview.storyboard?.shots).toHaveLength(1);
  });

  it('captions frames with their storyboard shots when the counts match', () => {
    const shot = (index: number, description: string) => ({
      index,
      description,
      prompt: 'p',
      negativePrompt: '',
      camera: 'static',
      durationSec: 2,
    });
    const snapshot = emptySnapshot('r', ['story']);
    snapshot.nodes.story = {
      status: 'succeeded',
      progress: 1,
      outputs: { storyboard: { title: 'T', shots: [shot(0, 'Mira waves'), shot(1, 'Rain')] } },
    };
    expect(shotCaptions(snapshot, 2)).toEqual(['Shot 1: Mira waves', 'Shot 2: Rain']);
    expect(shotCaptions(snapshot, 3)).toEqual(['Shot 1', 'Shot 2', 'Shot 3']);
    expect(shotCaptions(null, 1)).toEqual(['Shot 1']);
  });

  it('shows finished items before the node is done, then the node outputs', () => {
    const items = { 2: { frames: ref('c', 'image/png') }, 0: { frames: ref('a', 'image/png') } };
    expect(mergeItemOutputs({ status: 'running', progress: 0.5 }, items)).toEqual({
      frames: [ref('a', 'image/png'), ref('c', 'image/png')],
    });
    const done = { status: 'succeeded' as const, progress: 1, outputs: { frames: [] } };
    expect(mergeItemOutputs(done, items)).toBe(done.outputs);
  });

  it('finds the final video and the overall progress', () => {
    const snapshot = emptySnapshot('r', ['clips', 'merge']);
    snapshot.nodes.clips = {
      status: 'succeeded',
      progress: 1,
      outputs: { clips: [ref('a', 'video/mp4')] },
    };
    snapshot.nodes.merge = { status: 'running', progress: 0.5 };
    expect(finalVideo(snapshot)).toBeUndefined();
    expect(runProgress(snapshot)).toBe(0.75);
    snapshot.nodes.merge = {
      status: 'succeeded',
      progress: 1,
      outputs: { video: ref('b', 'video/mp4') },
    };
    expect(finalVideo(snapshot)?.id).toBe('b'.repeat(64));
    expect(
      finalVideo({ ...snapshot, outputs: { merge: { video: ref('c', 'video/mp4') } } })?.id,
    ).toBe('c'.repeat(64));
  });
});
