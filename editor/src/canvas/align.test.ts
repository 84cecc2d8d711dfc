import { describe, expect, it } from 'vitest';
import { align } from './align';

const boxes = [
  { id: 'a', x: 0, y: 0, width: 100, height: 50 },
  { id: 'b', x: 300, y: 100, width: 200, height: 100 },
  { id: 'c', x: 100, y: 400, width: 100, height: 50 },
];

describe('align', () => {
  it('aligns edges and centres', () => {
    expect(Object.fromEntries(align(boxes, 'left'))).toEqual({
      b: { x: 0, y: 100 },
      c: { x: 0, y: 400 },
    });
    expect(Object.fromEntries(align(boxes, 'right'))).toEqual({
      a: { x: 400, y: 0 },
      c: { x: 400, y: 400 },
    });
    expect(Object.fromEntries(align(boxes, 'center'))).toEqual({
      a: { x: 200, y: 0 },
      b: { x: 150, y: 100 },
      c: { x: 200, y: 400 },
    });
    expect(Object.fromEntries(align(boxes, 'bottom'))).toEqual({
      a: { x: 0, y: 400 },
      b: { x: 300, y: 350 },
    });
  });

  it('distributes with equal gaps, outer boxes fixed', () => {
    const moved = align(boxes, 'distribute-y');
    // Heights 50 + 100 + 50 in a span of 450: gaps of 125.
    expect(Object.fromEntries(moved)).toEqual({ b: { x: 300, y: 175 } });
  });

  it('moves nothing for fewer than two boxes', () => {
    expect(align([boxes[0]], 'left').size).toBe(0);
  });
});
