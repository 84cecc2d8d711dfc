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

/** A RIFF/WEBP file of the given chunks (each `[fourcc, payload]`), sizes filled in. */
function webp(chunks: [string, Buffer][]): Buffer {
  const body = Buffer.concat(
    chunks.map(([fourcc, payload]) => {
      const header = Buffer.alloc(8);
      header.write(fourcc, 0, 'latin1');
      header.writeUInt32LE(payload.length, 4);
      return Buffer.concat([header, payload, Buffer.alloc(payload.length % 2)]);
    }),
  );
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length + 4, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, body]);
}

function vp8x(width: number, height: number): Buffer {
  const payload = Buffer.alloc(10);
  payload.writeUIntLE(width - 1, 4, 3);
  payload.writeUIntLE(height - 1, 7, 3);
  return payload;
}

/** A VP8 key frame header (frame tag, start code, 14-bit sizes) before filler bytes. */
function vp8(width: number, height: number): Buffer {
  const payload = Buffer.alloc(64, 0x11);
  payload.set([0x50, 0x2a, 0x00, 0x9d, 0x01, 0x2a], 0);
  payload.writeUInt16LE(width, 6);
  payload.writeUInt16LE(height, 8);
  return payload;
}

/** A JPEG SOF0 segment for a width × height frame with three components. */
function sof0(width: number, height: number): Buffer {
  const segment = Buffer.from(hex('ffc0 0011 08 0000 0000 03 012200 021101 031101'));
  segment.writeUInt16BE(height, 5);
  segment.writeUInt16BE(width, 7);
  return segment;
}

describe('sniffMedia reads sizes from the bitstream, not from the first header', () => {
  it('finds the 8000×8000 VP8 frame under a VP8X canvas that says 100×100', () => {
    const lying = webp([
      ['VP8X', vp8x(100, 100)],
      ['VP8 ', vp8(8000, 8000)],
    ]);
    expect(sniffMedia(lying)).toEqual({ mime: 'image/webp', width: 8000, height: 8000 });
  });

  it('finds the frames of an animated WebP inside their ANMF chunks', () => {
    const frame = Buffer.alloc(16);
    frame.writeUIntLE(99, 6, 3);
    frame.writeUIntLE(99, 9, 3);
    const anmf = Buffer.concat([
      frame,
      Buffer.from('VP8 ', 'latin1'),
      Buffer.alloc(4),
      vp8(6000, 7000),
    ]);
    anmf.writeUInt32LE(64, 20);
    const lying = webp([
      ['VP8X', vp8x(100, 100)],
      ['ANMF', anmf],
    ]);
    expect(sniffMedia(lying)).toMatchObject({ width: 6000, height: 7000 });
  });

  it('finds the real SOF of a JPEG behind a fake 100×100 first one and its scan data', () => {
    const jpeg = Buffer.concat([
      hex('ffd8'),
      sof0(100, 100),
      hex('ffda 0008 01 0100 003f00'),
      hex('12 34 ff00 56 ffd0 78'), // entropy-coded bytes, a stuffed 0xFF and a restart marker
      sof0(8000, 8000),
      hex('ffd9'),
    ]);
    expect(sniffMedia(jpeg)).toEqual({ mime: 'image/jpeg', width: 8000, height: 8000 });
  });
});
