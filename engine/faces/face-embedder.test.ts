/**
 * The real face-api models on the sample photos that ship inside @vladmandic/face-api
 * (demo/sample*.jpg: group photos, a different person per face). "Same person" is one face
 * cropped, mirrored, rescaled, re-lit and re-encoded; "different people" are the other faces.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../testing/fakes/media';
import {
  FACE_DESCRIPTOR_LENGTH,
  FACE_MATCH_THRESHOLD,
  detectFaces,
  embedFace,
  faceDistance,
  meanDescriptor,
  type FaceDetections,
} from './face-embedder';
import { faceVariant, SAMPLE_DEMO_DIR, samplePeople } from './testing/sample-faces';

const SAMPLE = join(SAMPLE_DEMO_DIR, 'sample1.jpg');

describe('face embedder (face-api, wasm, weights from the npm package)', () => {
  let detections: FaceDetections;

  beforeAll(async () => {
    detections = await detectFaces(await readFile(SAMPLE));
  });

  it('finds every face in a group photo with a 128-d descriptor, largest first', () => {
    expect(detections.width).toBe(1024);
    expect(detections.faces.length).toBe(3);
    for (const face of detections.faces) {
      expect(face.descriptor).toHaveLength(FACE_DESCRIPTOR_LENGTH);
      expect(face.score).toBeGreaterThan(0.9);
    }
    const areas = detections.faces.map((f) => f.box.width * f.box.height);
    expect([...areas].sort((a, b) => b - a)).toEqual(areas);
  });

  it('puts the same person closer than different people', async () => {
    // sample1.jpg's three people come first, largest face first, as in `detections`.
    const [first, second, third] = await samplePeople(3);
    const a = await embedFace(first.face);
    const aVariant = await embedFace(await faceVariant(first.person, 'flip'));
    const b = await embedFace(second.face);
    const c = await embedFace(third.face);
    if (!a || !aVariant || !b || !c) throw new Error('a cropped face was not detected');

    const same = faceDistance(a, aVariant);
    expect(same).toBeLessThan(0.45);
    expect(faceDistance(a, b)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
    expect(faceDistance(a, c)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
    expect(faceDistance(b, c)).toBeGreaterThan(same);
    // The crop and the face found in the whole photo are one person too.
    expect(faceDistance(a, detections.faces[0].descriptor)).toBeLessThan(0.3);
    expect(faceDistance(a, detections.faces[1].descriptor)).toBeGreaterThan(FACE_MATCH_THRESHOLD);
  });

  it('returns null for an image without a face', async () => {
    expect(await embedFace(await makePng(320, 180))).toBeNull();
  });

  it('is deterministic for the same bytes', async () => {
    const [, second] = await samplePeople(2);
    const first = await embedFace(second.face);
    const again = await embedFace(second.face);
    expect(first).not.toBeNull();
    expect(faceDistance(first!, again!)).toBe(0);
  });

  it('rejects bytes that are not an image with a clear error', async () => {
    await expect(embedFace(Buffer.from('not an image'))).rejects.toMatchObject({
      code: 'image_undecodable',
    });
  });
});

describe('faceDistance and meanDescriptor', () => {
  it('is the Euclidean distance and averages element-wise', () => {
    const a = Float32Array.from([0, 0, 0]);
    const b = Float32Array.from([3, 4, 0]);
    expect(faceDistance(a, b)).toBe(5);
    expect(faceDistance(b, a)).toBe(5);
    expect(Array.from(meanDescriptor([a, b]))).toEqual([1.5, 2, 0]);
    expect(() => faceDistance(a, Float32Array.from([1]))).toThrow(/face_descriptor_mismatch/);
  });
});
