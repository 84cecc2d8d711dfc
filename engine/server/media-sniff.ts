/**
 * Upload type checks by magic bytes: the client's Content-Type and file name are never
 * trusted (an "image.png" may be HTML). Image dimensions are read from the header, so the
 * pixel limit is enforced before anything decodes the image.
 */

/** The media types an upload may have; anything else is refused. */
export const ACCEPTED_MEDIA = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'audio/mpeg',
  'audio/mp4',
  'audio/wav',
  'audio/ogg',
] as const;
export type AcceptedMime = (typeof ACCEPTED_MEDIA)[number];

/** How many leading bytes `sniffMedia` wants (JPEG headers may sit behind EXIF blocks). */
export const SNIFF_HEAD_BYTES = 1024 * 1024;

export interface SniffedMedia {
  mime: AcceptedMime;
  /** Images only, when the header holds them. */
  width?: number;
  height?: number;
}

/** The media type of `head` (the first bytes of a file), or null when it is not accepted. */
export function sniffMedia(head: Buffer): SniffedMedia | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { mime: 'image/png', ...pngSize(head) };
  }
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { mime: 'image/jpeg', ...jpegSize(head) };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') {
    return { mime: 'image/webp', ...webpSize(head) };
  }
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return { mime: 'audio/wav' };
  if (ascii(head, 0, 4) === 'OggS') return { mime: 'audio/ogg' };
  if (ascii(head, 4, 8) === 'ftyp') return isoMedia(ascii(head, 8, 12));
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: WebM declares its DocType near the start; Matroska files are not accepted.
    return head.subarray(0, 64).includes('webm') ? { mime: 'video/webm' } : null;
  }
  if (ascii(head, 0, 3) === 'ID3' || isMpegAudioFrame(head)) return { mime: 'audio/mpeg' };
  return null;
}

function isoMedia(brand: string): SniffedMedia {
  if (brand === 'qt  ') return { mime: 'video/quicktime' };
  if (brand === 'M4A ' || brand === 'M4B ') return { mime: 'audio/mp4' };
  return { mime: 'video/mp4' };
}

function isMpegAudioFrame(head: Buffer): boolean {
  if (head.length < 4 || head[0] !== 0xff) return false;
  const b1 = head[1];
  const b2 = head[2];
  // 11 sync bits, a defined version and layer, a bitrate index that is not "bad" (1111).
  return (b1 & 0xe0) === 0xe0 && (b1 & 0x18) !== 0x08 && (b1 & 0x06) !== 0 && (b2 & 0xf0) !== 0xf0;
}

function pngSize(head: Buffer): { width?: number; height?: number } {
  if (head.length < 24 || ascii(head, 12, 16) !== 'IHDR') return {};
  return positive(head.readUInt32BE(16), head.readUInt32BE(20));
}

const JPEG_SOF = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

function jpegSize(head: Buffer): { width?: number; height?: number } {
  let offset = 2;
  while (offset + 4 <= head.length) {
    if (head[offset] !== 0xff) return {};
    const marker = head[offset + 1];
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    const length = head.readUInt16BE(offset + 2);
    if (JPEG_SOF.has(marker)) {
      if (offset + 9 > head.length) return {};
      return positive(head.readUInt16BE(offset + 7), head.readUInt16BE(offset + 5));
    }
    if (marker === 0xda || length < 2) return {};
    offset += 2 + length;
  }
  return {};
}

function webpSize(head: Buffer): { width?: number; height?: number } {
  const chunk = ascii(head, 12, 16);
  if (chunk === 'VP8X' && head.length >= 30) {
    return positive(head.readUIntLE(24, 3) + 1, head.readUIntLE(27, 3) + 1);
  }
  if (chunk === 'VP8 ' && head.length >= 30) {
    return positive(head.readUInt16LE(26) & 0x3fff, head.readUInt16LE(28) & 0x3fff);
  }
  if (chunk === 'VP8L' && head.length >= 25 && head[20] === 0x2f) {
    const bits = head.readUInt32LE(21);
    return positive((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
  }
  return {};
}

function positive(width: number, height: number): { width?: number; height?: number } {
  return width > 0 && height > 0 ? { width, height } : {};
}

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((byte, i) => head[i] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.length >= end ? head.toString('latin1', start, end) : '';
}
