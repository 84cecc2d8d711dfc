/**
 * Upload type checks by magic bytes: the client's Content-Type and file name are never
 * trusted (an "image.png" may be HTML). Image dimensions are read from the bitstream, not from
 * the first header that claims them: a WebP whose VP8X canvas says 100×100 over an 8000×8000
 * VP8 frame, or a JPEG with a small fake first SOF before the real one, would otherwise pass
 * the pixel limit and have ffmpeg decode 64 MP. Every frame header in the bytes given counts
 * (the largest wins), so pass the whole file when the pixel limit depends on it.
 * `demuxerFor` names the one ffmpeg demuxer a sniffed type may be read with: ffmpeg's own
 * probing would pick an HLS, DASH, ffconcat or SDP demuxer for a file that merely starts
 * with ID3, ftyp or RIFF, and those read other files and URLs.
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

/**
 * The ffmpeg demuxer (`-f`) for each accepted type: user files are read with this one only,
 * never with whatever ffmpeg's probe guesses (a playlist demuxer would open other files).
 */
const DEMUXERS: Record<AcceptedMime, string> = {
  'image/png': 'png_pipe',
  'image/jpeg': 'jpeg_pipe',
  'image/webp': 'webp_pipe',
  'video/mp4': 'mov',
  'video/quicktime': 'mov',
  'audio/mp4': 'mov',
  'video/webm': 'matroska',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/ogg': 'ogg',
};

/** The demuxer a file of this (sniffed) type is read with. */
export function demuxerFor(mime: AcceptedMime): string {
  return DEMUXERS[mime];
}

/** The protocols ffmpeg may open for user data: the one local file, nothing it names. */
export const FILE_ONLY_PROTOCOLS = 'file';

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

function pngSize(head: Buffer): Size {
  if (head.length < 24 || ascii(head, 12, 16) !== 'IHDR') return {};
  return positive(head.readUInt32BE(16), head.readUInt32BE(20));
}

const JPEG_SOF = new Set([
  0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf,
]);

/** Width and height, the largest of each over every frame header found. */
interface Size {
  width?: number;
  height?: number;
}

/** Keeps the larger of each side: the pixel limit must hold for every frame ffmpeg may decode. */
function largest(sizes: Size[]): Size {
  const width = Math.max(0, ...sizes.map((s) => s.width ?? 0));
  const height = Math.max(0, ...sizes.map((s) => s.height ?? 0));
  return positive(width, height);
}

/**
 * Every SOF in the file, including those after entropy-coded data (a second image, or the
 * real frame behind a decoy): markers are walked segment by segment, and scan data is skipped
 * byte by byte up to the next marker that is not a stuffed 0xFF00 or a restart marker.
 */
function jpegSize(head: Buffer): Size {
  const sizes: Size[] = [];
  let offset = 2;
  while (offset + 4 <= head.length) {
    if (head[offset] !== 0xff) {
      offset++; // entropy-coded data
      continue;
    }
    const marker = head[offset + 1];
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (
      marker === 0x00 ||
      marker === 0xd8 ||
      marker === 0xd9 ||
      marker === 0x01 ||
      (marker >= 0xd0 && marker <= 0xd7)
    ) {
      offset += 2; // stuffed byte or markers without a length
      continue;
    }
    const length = head.readUInt16BE(offset + 2);
    if (length < 2) break;
    if (JPEG_SOF.has(marker) && offset + 9 <= head.length) {
      sizes.push(positive(head.readUInt16BE(offset + 7), head.readUInt16BE(offset + 5)));
    }
    offset += 2 + length;
  }
  return largest(sizes);
}

/**
 * The VP8X canvas and every VP8 / VP8L frame, at the top level and inside animation frames
 * (ANMF): libwebp decodes the frames, whose own headers say how big they are.
 */
function webpSize(head: Buffer): Size {
  const sizes: Size[] = [];
  const walk = (start: number, end: number, depth: number) => {
    let offset = start;
    while (offset + 8 <= end) {
      const fourcc = head.toString('latin1', offset, offset + 4);
      const size = head.readUInt32LE(offset + 4);
      const data = offset + 8;
      const dataEnd = Math.min(end, data + size);
      if (fourcc === 'VP8X' && data + 10 <= dataEnd) {
        sizes.push(positive(head.readUIntLE(data + 4, 3) + 1, head.readUIntLE(data + 7, 3) + 1));
      } else if (fourcc === 'VP8 ' && data + 10 <= dataEnd) {
        // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
        sizes.push(
          positive(head.readUInt16LE(data + 6) & 0x3fff, head.readUInt16LE(data + 8) & 0x3fff),
        );
      } else if (fourcc === 'VP8L' && data + 5 <= dataEnd && head[data] === 0x2f) {
        const bits = head.readUInt32LE(data + 1);
        sizes.push(positive((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1));
      } else if (fourcc === 'ANMF' && depth === 0 && data + 16 <= dataEnd) {
        sizes.push(positive(head.readUIntLE(data + 6, 3) + 1, head.readUIntLE(data + 9, 3) + 1));
        walk(data + 16, dataEnd, depth + 1);
      }
      offset = data + size + (size % 2);
    }
  };
  walk(12, head.length, 0);
  return largest(sizes);
}

function positive(width: number, height: number): Size {
  return width > 0 && height > 0 ? { width, height } : {};
}

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((byte, i) => head[i] === byte);
}

function ascii(head: Buffer, start: number, end: number): string {
  return head.length >= end ? head.toString('latin1', start, end) : '';
}
