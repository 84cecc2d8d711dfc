/** Aligning and distributing selected nodes. Pure: boxes in, new positions out. */

export type AlignMode =
  'left' | 'center' | 'right' | 'top' | 'middle' | 'bottom' | 'distribute-x' | 'distribute-y';

export interface Box {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export const ALIGN_MODES: { mode: AlignMode; label: string }[] = [
  { mode: 'left', label: 'Align left edges' },
  { mode: 'center', label: 'Align centres (vertical line)' },
  { mode: 'right', label: 'Align right edges' },
  { mode: 'top', label: 'Align top edges' },
  { mode: 'middle', label: 'Align middles (horizontal line)' },
  { mode: 'bottom', label: 'Align bottom edges' },
  { mode: 'distribute-x', label: 'Distribute horizontally' },
  { mode: 'distribute-y', label: 'Distribute vertically' },
];

/** New top-left positions for the boxes that move; fewer than two boxes never move. */
export function align(
  boxes: readonly Box[],
  mode: AlignMode,
): Map<string, { x: number; y: number }> {
  const moved = new Map<string, { x: number; y: number }>();
  if (boxes.length < 2) return moved;
  const minX = Math.min(...boxes.map((b) => b.x));
  const maxRight = Math.max(...boxes.map((b) => b.x + b.width));
  const minY = Math.min(...boxes.map((b) => b.y));
  const maxBottom = Math.max(...boxes.map((b) => b.y + b.height));
  const centerX = (minX + maxRight) / 2;
  const centerY = (minY + maxBottom) / 2;
  const set = (box: Box, x: number, y: number) => {
    if (x !== box.x || y !== box.y) moved.set(box.id, { x, y });
  };
  switch (mode) {
    case 'left':
      boxes.forEach((b) => set(b, minX, b.y));
      break;
    case 'right':
      boxes.forEach((b) => set(b, maxRight - b.width, b.y));
      break;
    case 'center':
      boxes.forEach((b) => set(b, centerX - b.width / 2, b.y));
      break;
    case 'top':
      boxes.forEach((b) => set(b, b.x, minY));
      break;
    case 'bottom':
      boxes.forEach((b) => set(b, b.x, maxBottom - b.height));
      break;
    case 'middle':
      boxes.forEach((b) => set(b, b.x, centerY - b.height / 2));
      break;
    case 'distribute-x': {
      const sorted = [...boxes].sort((a, b) => a.x - b.x);
      distribute(sorted, 'x', 'width', minX, maxRight).forEach((x, i) =>
        set(sorted[i], x, sorted[i].y),
      );
      break;
    }
    case 'distribute-y': {
      const sorted = [...boxes].sort((a, b) => a.y - b.y);
      distribute(sorted, 'y', 'height', minY, maxBottom).forEach((y, i) =>
        set(sorted[i], sorted[i].x, y),
      );
      break;
    }
  }
  return moved;
}

/** Equal gaps between boxes already sorted along the axis; the outermost two stay put. */
function distribute(
  sorted: readonly Box[],
  axis: 'x' | 'y',
  size: 'width' | 'height',
  start: number,
  end: number,
): number[] {
  const total = sorted.reduce((sum, b) => sum + b[size], 0);
  const gap = (end - start - total) / (sorted.length - 1);
  const positions: number[] = [];
  let cursor = start;
  for (const box of sorted) {
    positions.push(Math.round(cursor * 10) / 10);
    cursor += box[size] + gap;
  }
  return positions;
}
