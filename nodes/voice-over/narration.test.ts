import { describe, expect, it } from 'vitest';
import type { Shot } from '../../engine/graph/values';
import {
  MAX_TEMPO,
  fitSpeech,
  narrationFilter,
  shotStarts,
  spokenText,
  wavDurationSec,
} from './narration';
import { sineTone, wavFile } from './testing/fake-openai-speech';

const shot = (overrides: Partial<Shot> = {}): Shot => ({
  index: 0,
  description: 'Mira reaches the ridge.',
  prompt: 'a woman on a ridge',
  negativePrompt: '',
  camera: 'static',
  durationSec: 2,
  ...overrides,
});

describe('spokenText', () => {
  it('reads the dialogue, the description, or the dialogue with the description as fallback', () => {
    const talking = shot({ dialogue: ' We made it. ' });
    const quiet = shot();
    expect(spokenText(talking, 'dialogue')).toBe('We made it.');
    expect(spokenText(quiet, 'dialogue')).toBe('');
    expect(spokenText(talking, 'description')).toBe('Mira reaches the ridge.');
    expect(spokenText(talking, 'dialogue-or-description')).toBe('We made it.');
    expect(spokenText(quiet, 'dialogue-or-description')).toBe('Mira reaches the ridge.');
  });
});

describe('timing', () => {
  it('starts each shot where the earlier ones end', () => {
    expect(shotStarts([{ durationSec: 2 }, { durationSec: 1.5 }, { durationSec: 3 }])).toEqual([
      0, 2, 3.5,
    ]);
  });

  it('leaves lines that fit alone, speeds up long ones up to 2x, and cuts beyond that', () => {
    expect(fitSpeech(1.2, 2)).toEqual({ tempo: 1, cut: false });
    expect(fitSpeech(2.005, 2)).toEqual({ tempo: 1, cut: false });
    expect(fitSpeech(3, 2)).toEqual({ tempo: 1.5, cut: false });
    expect(fitSpeech(5, 2)).toEqual({ tempo: MAX_TEMPO, cut: true });
  });

  it('builds one segment per shot, each exactly its shot long, joined in order', () => {
    const filter = narrationFilter([
      { durationSec: 2, speech: { file: 'a.wav', durationSec: 1 } },
      { durationSec: 1.5 },
      { durationSec: 1, speech: { file: 'c.wav', durationSec: 1.8 } },
    ]);
    const parts = filter.split(';');
    expect(parts[0]).toMatch(/^\[0:a\].*apad,atrim=duration=2,asetpts=PTS-STARTPTS\[s0\]$/);
    expect(parts[0]).not.toContain('atempo');
    expect(parts[1]).toBe('anullsrc=r=48000:cl=mono,atrim=duration=1.5[s1]');
    expect(parts[2]).toMatch(/^\[1:a\].*atempo=1\.8000,apad,atrim=duration=1,/);
    expect(parts[3]).toBe('[s0][s1][s2]concat=n=3:v=0:a=1[narration]');
  });
});

describe('wavDurationSec', () => {
  it('measures a PCM WAV from its header and its real size', () => {
    const wav = wavFile(sineTone(1.5));
    expect(wavDurationSec(wav)).toBeCloseTo(1.5, 3);
    // A streamed WAV declares a huge data size; the bytes present decide.
    const streamed = Buffer.from(wav);
    streamed.writeUInt32LE(0xffffffff, 40);
    expect(wavDurationSec(streamed)).toBeCloseTo(1.5, 3);
    expect(wavDurationSec(Buffer.from('not a wav at all'))).toBeUndefined();
  });
});
