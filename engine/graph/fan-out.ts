/**
 * Fan-out item selection, the one definition the interpreter (how many items), the activity
 * shell (each item's cache key) and the node activities (which item to work on) all use, so
 * they cannot disagree. Pure, no imports: the Temporal workflow sandbox imports this file.
 */

/** Where a fan-out reads its list: an input port, and optionally a list field inside it. */
export interface FanOutSource {
  input: string;
  /** A field of the input's value holding the list (a storyboard's shots); absent: the value is the list. */
  path?: string;
}

/** The list a fan-out iterates: the value itself, or its `path` field; undefined if not a list. */
export function fanOutList(value: unknown, path?: string): unknown[] | undefined {
  const list =
    path === undefined
      ? value
      : value !== null && typeof value === 'object'
        ? (value as Record<string, unknown>)[path]
        : undefined;
  return Array.isArray(list) ? list : undefined;
}

/**
 * Item `index` of a fan-out list. A list shorter than the fan-out (fewer shots than frames)
 * repeats its last item, so every item still gets one; an empty or missing list has none.
 */
export function fanOutItem<T>(list: readonly T[] | undefined, index: number): T | undefined {
  if (!list || list.length === 0) return undefined;
  return list[Math.min(Math.max(0, index), list.length - 1)];
}

/**
 * The inputs as item `index` sees them: the fan-out input and every zipped input narrowed to
 * their item (null when they have none). What a fan-out item's cache key is made of, so
 * editing shot 3 changes only item 3's key.
 */
export function itemInputs(
  inputs: Record<string, unknown>,
  fanOut: FanOutSource & { zip?: FanOutSource[] },
  index: number,
): Record<string, unknown> {
  const narrowed: Record<string, unknown> = { ...inputs };
  for (const source of [fanOut, ...(fanOut.zip ?? [])]) {
    narrowed[source.input] =
      fanOutItem(fanOutList(inputs[source.input], source.path), index) ?? null;
  }
  return narrowed;
}
