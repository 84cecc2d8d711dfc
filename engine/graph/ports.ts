/**
 * Port kinds and the one compatibility rule used by the canvas while dragging and by the
 * validator. Browser- and workflow-safe: no imports.
 */
export const PORT_KINDS = [
  'text',
  'number',
  'character',
  'storyboard',
  'image',
  'video',
  'audio',
] as const;

export type PortKind = (typeof PORT_KINDS)[number];

/** A port's type as written in a definition: a kind, optionally a list of it (`image[]`). */
export type PortType = PortKind | `${PortKind}[]`;

export interface ParsedPortType {
  kind: PortKind;
  list: boolean;
}

export function parsePortType(type: PortType): ParsedPortType {
  const list = type.endsWith('[]');
  return { kind: (list ? type.slice(0, -2) : type) as PortKind, list };
}

/**
 * Whether an output of type `out` may feed an input of type `input`. Kinds must match; a
 * single value may feed a list input (it becomes a one-item list), a list never feeds a
 * single input (which item would it be?).
 */
export function canConnect(out: PortType, input: PortType): boolean {
  const a = parsePortType(out);
  const b = parsePortType(input);
  if (a.kind !== b.kind) return false;
  return a.list === b.list || (!a.list && b.list);
}

/** Handle colours by kind, shared by the canvas and the docs. */
export const PORT_COLORS: Record<PortKind, string> = {
  text: '#9aa5b1',
  number: '#7dd3fc',
  character: '#f472b6',
  storyboard: '#fbbf24',
  image: '#34d399',
  video: '#a78bfa',
  audio: '#fb923c',
};
