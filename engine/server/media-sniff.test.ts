import { describe, expect, it } from 'vitest';
import { sniffMedia } from './media-sniff';
import { jpegHeader, pngBytes } from '../testing/server-fixtures';

const ascii = (text: string) => Buffer.from(text, 'latin1');
const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('sniffMedia', () => {
  it('reads PNG type and size from the IHDR chunk', () => {
    expect(sniffMedia(pngBytes(64, 48))).toEqual({ mime: 'image/png', width: 64, height: 48 });
  });

  it('finds the JPEG size behind APP segments', () => {
    expect(sniffMedia(jpegHeader(1920, 1080))).toEqual({
      mime: 'image/jpeg',
      width: 1920,
      height: 1080,
    });
  });

  it('reads WebP sizes of lossy and lossless files (headers written by ffmpeg)', () => {
    const lossy = hex('52494646 88030000 57454250 56503820 7c030000 9015009d 012a 4000 3000 3e91');
    const lossless = hex(
      '52494646 84040000 57454250 5650384c 78040000 2f3fc00b 0012 39b6 b6ad 8df3',
    );
    expect(sniffMedia(lossy)).toEqual({ mime: 'image/webp', width: 64, height: 48 });
    expect(sniffMedia(lossless)).toEqual({ mime: 'image/webp', width: 64, height: 48 });
  });

  it('tells MP4 from QuickTime and audio-only MP4 by the ftyp brand', () => {
    expect(sniffMedia(Buffer.concat([hex('00000020'), ascii('ftypisom\0\0\x02\0')]))?.mime).toBe(
      'video/mp4',
    );
    expect(sniffMedia(Buffer.concat([hex('00000014'), ascii('ftypqt  \0\0\0\0')]))?.mime).toBe(
      'video/quicktime',
    );
    expect(sniffMedia(Buffer.concat([hex('00000020'), ascii('ftypM4A \0\0\0\0')]))?.mime).toBe(
      'audio/mp4',
    );
  });

  it('accepts WebM but not other Matroska files', () => {
    const ebml = (docType: string) =>
      Buffer.concat([hex('1a45dfa3 9f4286 8101 42f7 8101 4282 84'), ascii(docType)]);
    expect(sniffMedia(ebml('webm'))?.mime).toBe('video/webm');
    expect(sniffMedia(ebml('matroska'))).toBeNull();
  });

  it('recognises MP3 (ID3 tag or bare frame), WAV and Ogg', () => {
    expect(sniffMedia(ascii('ID3\x04\0\0\0\0\0\0'))?.mime).toBe('audio/mpeg');
    expect(sniffMedia(hex('fffb9064 0000'))?.mime).toBe('audio/mpeg');
    expect(sniffMedia(ascii('RIFF\x24\0\0\0WAVEfmt '))?.mime).toBe('audio/wav');
    expect(sniffMedia(ascii('OggS\0\x02\0\0'))?.mime).toBe('audio/ogg');
  });

  it('refuses what the client could disguise: HTML, SVG, GIF, text, empty files', () => {
    for (const body of [
      '<!doctype html><script>alert(1)</script>',
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'GIF89a....',
      'hello',
      '',
    ]) {
      expect(sniffMedia(ascii(body))).toBeNull();
    }
    // A bare 0xFF followed by a bad MPEG header is not audio.
    expect(sniffMedia(hex('ffff ffff'))).toBeNull();
  });

  it('gives no size for a truncated image header instead of guessing', () => {
    expect(sniffMedia(pngBytes(64, 48).subarray(0, 20))).toEqual({ mime: 'image/png' });
  });
});
