/**
 * Calibration on the real face-api models and the sample photos shipped in @vladmandic/face-api:
 * a character's own face under flip, crop, brightness and scale changes passes its calibrated
 * threshold; other people fail it; images without exactly one face get their own answers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makePng } from '../testing/fakes/media';
import { faceDistance, meanDescriptor } from './face-embedder';
import {
  calibrateThreshold,
  hasIdentityFace,
  identityDistance,
  identityIsCurrent,
  THRESHOLD_CAP,
  THRESHOLD_FLOOR,
  THRESHOLD_OWN_MARGIN,
  THRESHOLD_SINGLE,
  type CharacterIdentity,
} from './identity';
import { faceApiDetector } from './identity-service';
import { detectFaces } from './face-embedder';
import {
  FACE_VARIANTS,
  faceVariant,
  faceWithBystander,
  groupPhoto,
  samplePeople,
  type FaceVariantKind,
} from './testing/sample-faces';

const detector = faceApiDetector();

async function descriptorOf(image: Buffer): Promise<Float32Array> {
  const found = await detector.detect(image);
  if (!found.descriptor) throw new Error(`expected one face, got ${found.status}`);
  return found.descriptor;
}

describe('calibrateThreshold (the formula)', () => {
  const unit = (i: number, length = 0.2) => {
    const v = new Float32Array(8);
    v[i] = length;
    return v;
  };

  it('gives the single-reference threshold for one reference and refuses none', () => {
    expect(calibrateThreshold([unit(0)])).toBe(THRESHOLD_SINGLE);
    expect(() => calibrateThreshold([])).toThrow(/at least one/);
  });

  it('never goes under the floor for near-identical references', () => {
    expect(calibrateThreshold([unit(0), unit(0, 0.21), unit(0, 0.19)])).toBe(THRESHOLD_FLOOR);
  });

  it('is mean + 2·sd of the pairwise distances between floor and cap', () => {
    // Pairwise distances of three orthogonal vectors of length 0.35: all 0.35·√2 ≈ 0.495, sd 0.
    const refs = [unit(0, 0.35), unit(1, 0.35), unit(2, 0.35)];
    const pairwise = faceDistance(refs[0], refs[1]);
    expect(pairwise).toBeGreaterThan(THRESHOLD_FLOOR);
    expect(pairwise).toBeLessThan(THRESHOLD_CAP);
    expect(calibrateThreshold(refs)).toBeCloseTo(pairwise, 2);
  });

  it('stops at the cap, unless the references themselves are farther from their mean', () => {
    // Spread references (e.g. stylised drawings): pairwise 0.85, each 0.49 from the mean.
    const wide = [unit(0, 0.6), unit(1, 0.6), unit(2, 0.6)];
    const mean = meanDescriptor(wide);
    const own = Math.max(...wide.map((d) => faceDistance(d, mean)));
    expect(own).toBeLessThan(THRESHOLD_CAP);
    expect(calibrateThreshold(wide)).toBe(THRESHOLD_CAP);
    // Farther still: the cap would reject the character's own references, so it gives way.
    const wider = [unit(0, 1), unit(1, 1)];
    const widerMean = meanDescriptor(wider);
    const threshold = calibrateThreshold(wider);
    expect(threshold).toBeGreaterThan(THRESHOLD_CAP);
    for (const ref of wider) {
      expect(faceDistance(ref, widerMean)).toBeLessThanOrEqual(threshold - THRESHOLD_OWN_MARGIN);
    }
  });
});

describe('identity helpers', () => {
  const identity: CharacterIdentity = {
    version: 2,
    model: 'm',
    mean: [3, 4],
    threshold: 0.5,
    references: [
      { artifactId: 'a', status: 'face', faces: 1, role: 'identity' },
      { artifactId: 'b', status: 'no-face', faces: 0, role: 'style' },
    ],
  };

  it('is current only for the same images in the same order and the same model', () => {
    expect(identityIsCurrent(identity, [{ id: 'a' }, { id: 'b' }], 'm')).toBe(true);
    expect(identityIsCurrent(identity, [{ id: 'b' }, { id: 'a' }], 'm')).toBe(false);
    expect(identityIsCurrent(identity, [{ id: 'a' }], 'm')).toBe(false);
    expect(identityIsCurrent(identity, [{ id: 'a' }, { id: 'b' }], 'other')).toBe(false);
    expect(identityIsCurrent(undefined, [], 'm')).toBe(false);
  });

  it('measures a face against the mean, and only when there is one', () => {
    expect(identityDistance(identity, Float32Array.from([0, 0]))).toBe(5);
    expect(hasIdentityFace(identity)).toBe(true);
    const faceless = { ...identity, mean: [], threshold: 0 };
    expect(hasIdentityFace(faceless)).toBe(false);
    expect(() => identityDistance(faceless, Float32Array.from([0, 0]))).toThrow(/no face/);
  });
});

describe('calibrated identities on the face-api sample photos', () => {
  /** Two characters, each from one face and a re-lit copy; two more people never referenced. */
  let people: { person: string; face: Buffer }[];
  const identities = new Map<
    string,
    { mean: Float32Array; threshold: number; refs: Float32Array[] }
  >();
  const strangers: Float32Array[] = [];

  beforeAll(async () => {
    people = await samplePeople(4);
    for (const { person, face } of people.slice(0, 2)) {
      const refs = [
        await descriptorOf(face),
        await descriptorOf(await faceVariant(person, 'brightness')),
      ];
      identities.set(person, {
        mean: meanDescriptor(refs),
        threshold: calibrateThreshold(refs),
        refs,
      });
    }
    for (const { face } of people.slice(2)) strangers.push(await descriptorOf(face));
  }, 300_000);

  it("calibrates within floor and cap, and passes the character's own references", () => {
    for (const { mean, threshold, refs } of identities.values()) {
      expect(threshold).toBeGreaterThanOrEqual(THRESHOLD_FLOOR);
      expect(threshold).toBeLessThanOrEqual(THRESHOLD_CAP);
      for (const ref of refs) expect(faceDistance(ref, mean)).toBeLessThanOrEqual(threshold);
    }
  });

  it.each(FACE_VARIANTS.filter((kind) => kind !== 'brightness'))(
    'passes the same face after a %s change, and fails the other character',
    async (kind: FaceVariantKind) => {
      const [a, b] = people.slice(0, 2).map((p) => p.person);
      for (const [own, other] of [
        [a, b],
        [b, a],
      ]) {
        const variant = await descriptorOf(await faceVariant(own, kind));
        const mine = identities.get(own)!;
        const theirs = identities.get(other)!;
        expect(faceDistance(variant, mine.mean)).toBeLessThanOrEqual(mine.threshold);
        expect(faceDistance(variant, theirs.mean)).toBeGreaterThan(theirs.threshold);
      }
    },
    120_000,
  );

  it('fails people who are not the character', () => {
    for (const { mean, threshold } of identities.values()) {
      for (const stranger of strangers) {
        expect(faceDistance(stranger, mean)).toBeGreaterThan(threshold);
      }
    }
  });

  it('answers no-face, several-faces and unreadable images with their own status', async () => {
    expect(await detector.detect(await makePng(320, 180))).toEqual({ status: 'no-face', faces: 0 });
    const group = await detector.detect(await groupPhoto());
    expect(group).toEqual({ status: 'several-faces', faces: 3 });
    expect(group.descriptor).toBeUndefined();
    expect(await detector.detect(Buffer.from('not an image at all'))).toEqual({
      status: 'unreadable',
      faces: 0,
    });
    // A small face in the background does not make a portrait a group photo.
    const portrait = await faceWithBystander(people[0], people[2]);
    expect((await detectFaces(portrait)).faces).toHaveLength(2);
    const main = await detector.detect(portrait);
    expect(main).toMatchObject({ status: 'face', faces: 1 });
    const a = identities.get(people[0].person)!;
    expect(faceDistance(main.descriptor!, a.mean)).toBeLessThanOrEqual(a.threshold);

    const single = await detector.detect(people[0].face);
    expect(single).toMatchObject({ status: 'face', faces: 1 });
    expect(single.descriptor).toHaveLength(128);
  }, 120_000);
});
