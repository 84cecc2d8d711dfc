/**
 * Escaping for values inside an ffmpeg filtergraph string. A filter option value is parsed
 * twice: first by the graph parser (which splits on `[ ] , ;`), then by the filter's option
 * parser (which splits on `:`). Both strip backslashes and single quotes, so a value needs
 * both levels, innermost first (ffmpeg-filters(1), "Notes on filtergraph escaping").
 */

/** Escapes a value (a file path, a style string) for use as `option=<value>` in a filtergraph. */
export function filterValue(value: string): string {
  const optionLevel = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return optionLevel.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

/** A colour as ffmpeg writes it: `0xRRGGBB`, optionally `@alpha`. */
export function ffmpegColor(rgb: readonly [number, number, number], alpha?: number): string {
  const hex = rgb
    .map((c) =>
      Math.round(Math.min(255, Math.max(0, c)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('');
  return alpha === undefined ? `0x${hex}` : `0x${hex}@${alpha.toFixed(2)}`;
}
