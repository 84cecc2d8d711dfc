import { describe, expect, it } from 'vitest';
import {
  VIRTUALIZE_MIN_NODES,
  nextVirtualize,
  shareOnScreen,
  viewRect,
  type Box,
} from './virtualize';

/** A grid of `columns` x `rows` nodes, 232 x 110, 280 / 240 apart (the bench layout). */
function grid(columns: number, rows: number): Box[] {
  const boxes: Box[] = [];
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++)
      boxes.push({ x: c * 280, y: r * 240, width: 232, height: 110 });
  return boxes;
}

describe('virtualising the canvas', () => {
  const nodes = grid(25, 20); // 500 nodes, 7,000 x 4,800 flow px

  it('sees every node on screen at fit view, and a few when zoomed in', () => {
    const screen = { width: 1000, height: 700 };
    // Fit view: zoom 0.14 shows 7,140 x 5,000 flow px from the origin.
    const fit = viewRect([0, 0, 0.14], screen.width, screen.height);
    expect(shareOnScreen(nodes, fit)).toBe(1);
    // 100 %: a 1,000 x 700 window in the middle of the graph.
    const zoomed = viewRect([-3000, -2000, 1], screen.width, screen.height);
    const share = shareOnScreen(nodes, zoomed);
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(0.05);
  });

  it('counts a node the screen edge cuts through as on screen', () => {
    expect(
      shareOnScreen([{ x: 90, y: 0, width: 20, height: 20 }], {
        x: 0,
        y: 0,
        width: 100,
        height: 100,
      }),
    ).toBe(1);
    expect(
      shareOnScreen([{ x: 100, y: 0, width: 20, height: 20 }], {
        x: 0,
        y: 0,
        width: 100,
        height: 100,
      }),
    ).toBe(0);
    expect(shareOnScreen([], { x: 0, y: 0, width: 100, height: 100 })).toBe(1);
  });

  it('virtualises by the share on screen, not by the node count', () => {
    // 500 nodes all on screen (fit view): render them all, as bare React Flow does.
    expect(nextVirtualize(false, 500, 1)).toBe(false);
    expect(nextVirtualize(true, 500, 1)).toBe(false);
    // Zoomed in on a few of them: only what is on screen.
    expect(nextVirtualize(false, 500, 0.03)).toBe(true);
    // A small graph never pays for the re-mounts, wherever the view is.
    expect(nextVirtualize(false, VIRTUALIZE_MIN_NODES, 0.01)).toBe(false);
  });

  it('keeps its last answer between the thresholds, so panning across one does not flap', () => {
    expect(nextVirtualize(true, 500, 0.5)).toBe(true);
    expect(nextVirtualize(false, 500, 0.5)).toBe(false);
    expect(nextVirtualize(true, 500, 0.61)).toBe(false);
    expect(nextVirtualize(false, 500, 0.39)).toBe(true);
  });
});
