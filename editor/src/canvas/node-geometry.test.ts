import { Position } from '@xyflow/react';
import { describe, expect, it } from 'vitest';
import { catalog } from '../test/fixtures';
import { toFlow } from './flow-mapping';
import { NODE_WIDTH, nodeGeometry } from './node-geometry';

describe('node geometry', () => {
  const types = catalog();
  const geometry = (type: string) => nodeGeometry(types.get(type)!);

  it('sizes a node by its longest port column', () => {
    // ffmpeg-merge: 3 inputs, 1 output; script-input: 1 output.
    expect(geometry('ffmpeg-merge')).toMatchObject({ width: NODE_WIDTH, height: 134 });
    expect(geometry('script-input')).toMatchObject({ width: NODE_WIDTH, height: 86 });
  });

  it('puts inputs on the left edge and outputs on the right, one row each', () => {
    const merge = geometry('ffmpeg-merge');
    const info = types.get('ffmpeg-merge')!;
    expect(merge.handles.map((h) => [h.type, h.id, h.position, h.x, h.y])).toEqual([
      ...info.inputs.map((p, row) => ['target', p.id, Position.Left, -4.5, 63.5 + row * 24]),
      ...info.outputs.map((p, row) => ['source', p.id, Position.Right, 225.5, 63.5 + row * 24]),
    ]);
    for (const handle of merge.handles) expect([handle.width, handle.height]).toEqual([11, 11]);
  });

  it('hands React Flow the size and handles of known types, and nothing it would have to trust for unknown ones', () => {
    const { nodes } = toFlow(
      {
        nodes: [
          { id: 'a', type: 'script-input', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
          { id: 'b', type: 'no-such-type', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
        ],
        edges: [],
      },
      types,
    );
    expect(nodes[0].measured).toEqual({ width: NODE_WIDTH, height: 86 });
    expect(nodes[0].handles).toBe(geometry('script-input').handles);
    expect(nodes[1].measured).toBeUndefined();
    expect(nodes[1].handles).toBeUndefined();
  });

  it('keeps a size React Flow measured before (a node showing outputs) over the idle one', () => {
    const doc = {
      nodes: [
        { id: 'a', type: 'script-input', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
      ],
      edges: [],
    };
    const first = toFlow(doc, types).nodes[0];
    const grown = { ...first, measured: { width: NODE_WIDTH, height: 300 } };
    expect(toFlow(doc, types, [grown]).nodes[0].measured).toEqual({
      width: NODE_WIDTH,
      height: 300,
    });
  });
});
