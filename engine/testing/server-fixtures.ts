/**
 * Small, real media files for server tests, built in memory (no binary fixtures in the repo).
 * Test-only helpers.
 */
import { crc32, deflateSync } from 'node:zlib';

/** A valid grey PNG of the given size (decodable by any reader, not just our sniffer). */
export function pngBytes(width: number, height: number, grey = 128): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width, grey)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The header of a PNG claiming a size, without pixels (enough for the sniffer's pixel check). */
export function pngHeaderClaiming(width: number, height: number): Buffer {
  const bytes = pngBytes(1, 1);
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return bytes;
}

/** A JPEG header (SOI, APP0, SOF0) of the given size; enough to sniff, not to decode. */
export function jpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.from([
    0xff,
    0xe0,
    0x00,
    0x10,
    ...Buffer.from('JFIF\0'),
    1,
    2,
    0,
    0,
    1,
    0,
    1,
    0,
    0,
  ]);
  const sof0 = Buffer.from([
    0xff,
    0xc0,
    0x00,
    0x11,
    0x08,
    height >> 8,
    height & 0xff,
    width >> 8,
    width & 0xff,
    3,
  ]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof0, Buffer.alloc(9)]);
}

type Node = { id: string; type: string; params?: Record<string, unknown> };
type Edge = [source: string, sourcePort: string, target: string, targetPort: string];

/** A current-version graph document from a compact node and edge list. */
export function graphDoc(
  name: string,
  nodes: Node[],
  edges: Edge[],
  extra: Record<string, unknown> = {},
) {
  return {
    schema: 'character-lab/graph',
    version: 1,
    id: 'wf_test',
    name,
    description: '',
    nodes: nodes.map((node, i) => ({
      id: node.id,
      type: node.type,
      typeVersion: 1,
      position: { x: i * 300, y: 0 },
      params: node.params ?? {},
    })),
    edges: edges.map(([source, sourcePort, target, targetPort], i) => ({
      id: `e${i + 1}`,
      source,
      sourcePort,
      target,
      targetPort,
    })),
    exposed: [],
    meta: {},
    ...extra,
  };
}

/**
 * Script → storyboard → frames → clips → merged video on the local providers at a small size,
 * exposing the script and the shot count: a whole film that runs in seconds.
 */
export function tinyFilm(
  text = 'Mira climbs. She smiles.',
  exposed: Record<string, unknown>[] = [
    { nodeId: 'script', param: 'text', label: 'Script' },
    { nodeId: 'story', param: 'shots', label: 'Shots' },
  ],
) {
  return graphDoc(
    'Tiny film',
    [
      { id: 'script', type: 'script-input', params: { text } },
      {
        id: 'story',
        type: 'gpt-storyboard',
        params: { provider: 'local', shots: 2, shotDurationSec: 1 },
      },
      {
        id: 'frames',
        type: 'sd-lora-frame',
        params: { provider: 'local', width: 384, height: 216 },
      },
      { id: 'clips', type: 'runway-clip', params: { provider: 'local' } },
      { id: 'merge', type: 'ffmpeg-merge', params: { width: 384, height: 216, subtitles: false } },
    ],
    [
      ['script', 'text', 'story', 'script'],
      ['story', 'storyboard', 'frames', 'storyboard'],
      ['frames', 'frames', 'clips', 'frames'],
      ['story', 'storyboard', 'clips', 'storyboard'],
      ['clips', 'clips', 'merge', 'clips'],
    ],
    { exposed },
  );
}

/** Script → local storyboard: valid, and quick to run on local providers. */
export function storyGraph(text = 'Mira climbs the ridge. She sees the valley. She smiles.') {
  return graphDoc(
    'Story only',
    [
      { id: 'script', type: 'script-input', params: { text } },
      { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 2 } },
    ],
    [['script', 'text', 'story', 'script']],
    { exposed: [{ nodeId: 'script', param: 'text', label: 'Script' }] },
  );
}

/**
 * A graph with one of each classic mistake: an unknown node type, a cycle, a type mismatch
 * and a missing required input.
 */
export function brokenGraph() {
  return graphDoc(
    'Broken',
    [
      { id: 'script', type: 'script-input', params: { text: 'Hello there.' } },
      { id: 'mystery', type: 'no-such-node' },
      { id: 'check-a', type: 'consistency-check' },
      { id: 'check-b', type: 'consistency-check' },
      { id: 'story', type: 'gpt-storyboard' },
    ],
    [
      ['check-a', 'frames', 'check-b', 'frames'],
      ['check-b', 'frames', 'check-a', 'frames'],
      ['script', 'text', 'story', 'character'],
    ],
  );
}
