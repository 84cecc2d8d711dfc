import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wavDurationSec } from '../narration';
import { espeakVoice, speakLocal, wordsPerMinute, type SpeakLocalArgs } from './local';

/** The loudest sample ffmpeg's volumedetect finds, in dB (-91 is digital silence). */
async function maxVolume(file: string): Promise<number> {
  const { stderr } = await promisify(execFile)(process.env.FFMPEG_PATH || 'ffmpeg', [
    '-hide_banner',
    '-i',
    file,
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const match = /max_volume:\s*(-?[\d.]+) dB/.exec(stderr);
  return match ? Number(match[1]) : -Infinity;
}

describe('espeak-ng arguments', () => {
  it('maps speed to words per minute within what espeak-ng allows', () => {
    expect(wordsPerMinute(1)).toBe(175);
    expect(wordsPerMinute(2)).toBe(350);
    expect(wordsPerMinute(0.25)).toBe(80);
    expect(wordsPerMinute(4)).toBe(700);
  });

  it('adds a variant to the language, ignoring empty and OpenAI voice names', () => {
    expect(espeakVoice('en-us', 'f3')).toBe('en-us+f3');
    expect(espeakVoice('de', '')).toBe('de');
    expect(espeakVoice('en', 'alloy')).toBe('en');
  });
});

describe('speakLocal with espeak-ng', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlab-voice-local-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const args = (overrides: Partial<SpeakLocalArgs> = {}): SpeakLocalArgs => ({
    text: 'Mira reaches the top of the ridge at dawn.',
    voice: 'alloy',
    speed: 1,
    language: 'en',
    output: join(dir, 'line.wav'),
    signal: new AbortController().signal,
    ...overrides,
  });

  it('makes a WAV with sound, faster at a higher speed', async () => {
    await speakLocal(args());
    const normal = await readFile(join(dir, 'line.wav'));
    expect(normal.toString('latin1', 8, 12)).toBe('WAVE');
    expect(await maxVolume(join(dir, 'line.wav'))).toBeGreaterThan(-30);
    await speakLocal(args({ speed: 2, voice: 'f3', output: join(dir, 'fast.wav') }));
    const fast = await readFile(join(dir, 'fast.wav'));
    expect(wavDurationSec(fast)!).toBeLessThan(wavDurationSec(normal)! * 0.7);
  });

  it('speaks a line that starts with a dash instead of reading it as an option', async () => {
    await speakLocal(args({ text: '-v is not a voice', output: join(dir, 'dash.wav') }));
    expect(wavDurationSec(await readFile(join(dir, 'dash.wav')))).toBeGreaterThan(0.5);
  });

  it('fails for good, naming the package, when espeak-ng is missing', async () => {
    await expect(speakLocal(args({ binary: join(dir, 'no-espeak-ng') }))).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'espeak_missing',
      message: expect.stringContaining('sudo apt-get install espeak-ng'),
    });
  });

  it('fails for good on a language espeak-ng does not have', async () => {
    await expect(speakLocal(args({ language: 'xx' }))).rejects.toMatchObject({
      code: 'espeak_voice_unknown',
    });
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(speakLocal(args({ signal: controller.signal }))).rejects.toThrow('cancelled');
  });
});
