import { describe, expect, it } from 'vitest';
import { emptySnapshot } from '../runs/events';
import { graphDoc } from '../testing/server-fixtures';
import { graphSchema } from '../../nodes/definitions';
import { previewOfRun } from './templates';

const ref = (n: number, mime: string) => ({
  id: String(n).repeat(64).slice(0, 64),
  sha256: String(n).repeat(64).slice(0, 64),
  mime,
  bytes: 10,
});

const graph = graphSchema.load(
  graphDoc(
    'Film',
    [
      { id: 'script', type: 'script-input' },
      { id: 'story', type: 'gpt-storyboard' },
      { id: 'frames', type: 'sd-lora-frame' },
      { id: 'clips', type: 'runway-clip' },
      { id: 'merge', type: 'ffmpeg-merge' },
    ],
    [],
  ),
);
if (!graph.ok) throw new Error('the test graph does not load');
const run = { graph: graph.graph };
const nodeIds = run.graph.nodes.map((node) => node.id);

describe('previewOfRun', () => {
  it("takes the run's final video: the last node's, not a clip's", () => {
    const snapshot = emptySnapshot('run_1', nodeIds);
    snapshot.outputs = {
      frames: { frames: [ref(1, 'image/png'), ref(2, 'image/png')] },
      clips: { clips: [ref(3, 'video/mp4')] },
      merge: { video: ref(4, 'video/mp4') },
    };
    expect(previewOfRun(run, snapshot)?.id).toBe(ref(4, 'video/mp4').id);
  });

  it('falls back to the first key frame when the run made no video (yet)', () => {
    const snapshot = emptySnapshot('run_1', nodeIds);
    // A run still going (or failed after the frames): outputs live on the nodes only.
    snapshot.nodes.frames = {
      ...snapshot.nodes.frames,
      status: 'succeeded',
      outputs: { frames: [ref(1, 'image/png'), ref(2, 'image/png')] },
    };
    expect(previewOfRun(run, snapshot)?.id).toBe(ref(1, 'image/png').id);
  });

  it('finds nothing in a run without media', () => {
    expect(previewOfRun(run, emptySnapshot('run_1', nodeIds))).toBeUndefined();
  });
});
