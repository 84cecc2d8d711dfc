/**
 * Subtitles for the merged video: one cue per clip, timed by the clips' real (probed)
 * durations, written as SRT for ffmpeg's libass `subtitles` filter.
 */

export interface SubtitleCue {
  startSec: number;
  endSec: number;
  text: string;
}

/**
 * Where each clip shows in the merged timeline. Without crossfades clip i runs from the sum of
 * the earlier durations; with a crossfade of `crossfadeSec` each clip starts that much earlier
 * per earlier clip, and its cue switches in the middle of the transition.
 */
export function clipCueTimes(
  durations: readonly number[],
  crossfadeSec = 0,
): { startSec: number; endSec: number }[] {
  const starts: number[] = [];
  let at = 0;
  for (const d of durations) {
    starts.push(at);
    at += d - crossfadeSec;
  }
  const total = at + crossfadeSec;
  const half = crossfadeSec / 2;
  return durations.map((_, i) => ({
    startSec: i === 0 ? 0 : starts[i] + half,
    endSec: i === durations.length - 1 ? total : starts[i + 1] + half,
  }));
}

/** Builds cues from per-clip texts (undefined or blank → no cue for that clip). */
export function buildCues(
  texts: readonly (string | undefined)[],
  durations: readonly number[],
  crossfadeSec = 0,
): SubtitleCue[] {
  const times = clipCueTimes(durations, crossfadeSec);
  const cues: SubtitleCue[] = [];
  times.forEach((time, i) => {
    const text = texts[i] === undefined ? '' : sanitize(texts[i]);
    if (text) cues.push({ ...time, text });
  });
  return cues;
}

/** Serialises cues as SRT (1-based numbering, `HH:MM:SS,mmm`). */
export function toSrt(cues: readonly SubtitleCue[]): string {
  return cues
    .map((cue, i) => `${i + 1}\n${srtTime(cue.startSec)} --> ${srtTime(cue.endSec)}\n${cue.text}\n`)
    .join('\n');
}

/**
 * SRT text is read by ffmpeg as markup: `<i>`-style tags and `{\…}` override codes would be
 * obeyed, and a blank line would end the cue early. User text is plain, so neutralise those.
 */
function sanitize(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/\\/g, '/')
    .replace(/\{/g, '(')
    .replace(/\}/g, ')')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .trim();
}

function srtTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)},${pad(ms % 1000, 3)}`;
}
