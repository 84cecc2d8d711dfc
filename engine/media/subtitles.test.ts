import { describe, expect, it } from 'vitest';
import { buildCues, clipCueTimes, toSrt } from './subtitles';

describe('clipCueTimes', () => {
  it('places cuts at the running sum of durations', () => {
    expect(clipCueTimes([2, 1.5, 1])).toEqual([
      { startSec: 0, endSec: 2 },
      { startSec: 2, endSec: 3.5 },
      { startSec: 3.5, endSec: 4.5 },
    ]);
  });

  it('switches in the middle of each crossfade and ends with the shortened video', () => {
    // Clips start at 0, 1.5, 2.5 (each 0.5 s earlier per crossfade); the video lasts 3.5 s.
    expect(clipCueTimes([2, 1.5, 1], 0.5)).toEqual([
      { startSec: 0, endSec: 1.75 },
      { startSec: 1.75, endSec: 2.75 },
      { startSec: 2.75, endSec: 3.5 },
    ]);
  });
});

describe('buildCues and toSrt', () => {
  it('skips clips without text and writes numbered SRT with millisecond times', () => {
    const cues = buildCues(['Hello there.', undefined, '  ', 'Bye'], [1.25, 1, 1, 61.5]);
    expect(toSrt(cues)).toBe(
      '1\n00:00:00,000 --> 00:00:01,250\nHello there.\n\n2\n00:00:03,250 --> 00:01:04,750\nBye\n',
    );
  });

  it('keeps user text from acting as markup or ending a cue early', () => {
    const [cue] = buildCues(['<i>Run</i> {\\an8}now\n\nfast'], [1]);
    expect(cue.text).toBe('‹i›Run‹/i› (/an8)now fast');
  });
});
