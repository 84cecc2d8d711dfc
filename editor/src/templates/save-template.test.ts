import { describe, expect, it } from 'vitest';
import type { ArtifactRef, RunSnapshot } from '../api/types';
import {
  initialChoice,
  keyFrames,
  previewBody,
  runPreviews,
  templateOrigin,
} from './save-template';

const ref = (id: string, mime: string): ArtifactRef => ({
  id,
  mime,
  bytes: 10,
  sha256: id.padEnd(64, '0'),
});

function snapshot(nodes: RunSnapshot['nodes'], outputs: RunSnapshot['outputs'] = {}): RunSnapshot {
  return { runId: 'run_1', status: 'succeeded', seq: 9, nodes, outputs };
}

describe('templateOrigin', () => {
  it('reads the template a workflow came from, in either spelling', () => {
    expect(templateOrigin({ meta: { template: { id: 'tpl_a', version: 3 } } })).toEqual({
      id: 'tpl_a',
      version: 3,
    });
    expect(templateOrigin({ meta: { templateId: 'tpl_b' } })).toEqual({ id: 'tpl_b', version: 1 });
    expect(templateOrigin({ meta: {} })).toBeNull();
    expect(templateOrigin({ meta: { template: { id: '' } } })).toBeNull();
  });
});

describe('previews from the last run', () => {
  const run = snapshot(
    {
      frames: {
        status: 'succeeded',
        progress: 1,
        outputs: { frames: [ref('f1', 'image/png'), ref('f2', 'image/png')] },
      },
      check: { status: 'succeeded', progress: 1, outputs: { frames: [ref('f1', 'image/png')] } },
      merge: { status: 'succeeded', progress: 1, outputs: { video: ref('v1', 'video/mp4') } },
    },
    { merge: { video: ref('v1', 'video/mp4') } },
  );

  it('offers the final video and every key frame once, in node order', () => {
    expect(keyFrames(run).map((f) => f.id)).toEqual(['f1', 'f2']);
    expect(runPreviews(run)).toMatchObject({ runId: 'run_1', video: { id: 'v1' } });
    expect(initialChoice(runPreviews(run))).toEqual({ kind: 'video' });
  });

  it('sends the video by run id, a frame by artifact id and the graph as null', () => {
    const previews = runPreviews(run);
    expect(previewBody({ kind: 'video' }, previews)).toEqual({ runId: 'run_1' });
    expect(previewBody({ kind: 'frame', artifactId: 'f2' }, previews)).toEqual({
      artifactId: 'f2',
    });
    expect(previewBody({ kind: 'graph' }, previews)).toBeNull();
    // No run with a video: asking for one falls back to the graph, never a dangling run id.
    expect(previewBody({ kind: 'video' }, null)).toBeNull();
  });

  it('starts from a frame when the run made no video, and from the graph without a run', () => {
    const framesOnly = snapshot({
      frames: { status: 'succeeded', progress: 1, outputs: { frames: [ref('f9', 'image/png')] } },
    });
    expect(initialChoice(runPreviews(framesOnly))).toEqual({ kind: 'frame', artifactId: 'f9' });
    expect(runPreviews(snapshot({ a: { status: 'succeeded', progress: 1 } }))).toBeNull();
    expect(initialChoice(null)).toEqual({ kind: 'graph' });
  });
});
