import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactRef, Character } from '../../engine/graph/values';
import { FACE_MATCH_THRESHOLD, type FaceEmbedder } from '../../engine/faces/face-embedder';
import { sampleFaceCrop } from '../../engine/testing/fakes/face-samples';
import { makePng } from '../../engine/testing/fakes/media';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { NonRetryableNodeError } from '../../engine/worker/node-api';
import { consistencyCheck } from './definition';
import type { ScoringIdentity } from './score';
import {
  NO_FACE_SCORE,
  activity as consistencyCheckActivity,
  createConsistencyCheckActivity,
} from './activity';

let t: TestNodeContext | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const params = (overrides: Partial<{ threshold: number; failOnMismatch: boolean }> = {}) =>
  consistencyCheck.params.parse(overrides);

function character(referenceImages: ArtifactRef[]): Character {
  return { id: 'char_a', name: 'Ada', description: 'the woman on the right', referenceImages };
}

async function store(
  ctx: TestNodeContext,
  bytes: Buffer,
  mime = 'image/png',
): Promise<ArtifactRef> {
  return ctx.artifacts.putBytes(bytes, mime);
}

describe('consistency-check activity with face-api on real photos', () => {
  it('scores the same person low, another person high, and a faceless frame -1', async () => {
    t = await createTestNodeContext({ index: 0, total: 3 });
    const [reference, samePerson, otherPerson, noFace] = await Promise.all([
      sampleFaceCrop(0),
      sampleFaceCrop(0, { variant: true }),
      sampleFaceCrop(1),
      makePng(320, 180),
    ]);
    const frames = [
      await store(t, samePerson, 'image/jpeg'),
      await store(t, otherPerson),
      await store(t, noFace),
    ];
    const inputs = { frames, character: character([await store(t, reference)]) };

    const scores: number[] = [];
    for (const index of [0, 1, 2]) {
      const ctx = await t.child({ index, total: 3 });
      const outputs = await consistencyCheckActivity({ params: params(), inputs, ctx });
      expect(outputs.frames).toEqual(frames[index]);
      scores.push(outputs.scores as number);
    }

    expect(scores[0]).toBeGreaterThanOrEqual(0);
    expect(scores[0]).toBeLessThan(0.45);
    expect(scores[1]).toBeGreaterThan(FACE_MATCH_THRESHOLD);
    expect(scores[2]).toBe(NO_FACE_SCORE);
    expect(t.logs.some((line) => line.includes('no face'))).toBe(true);
    expect(t.progress.at(-1)?.fraction).toBe(1);
  });

  it('fails the node on a mismatch only when asked to', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const inputs = {
      frames: [await store(t, await sampleFaceCrop(2))],
      character: character([await store(t, await sampleFaceCrop(0))]),
    };

    const lenient = await consistencyCheckActivity({ params: params(), inputs, ctx: t.ctx });
    expect(lenient.scores as number).toBeGreaterThan(FACE_MATCH_THRESHOLD);

    const error = await consistencyCheckActivity({
      params: params({ failOnMismatch: true }),
      inputs,
      ctx: t.ctx,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonRetryableNodeError);
    expect(error).toMatchObject({ code: 'consistency_mismatch' });
    expect((error as Error).message).toContain('does not look like Ada');
  });

  it('fails for good when no reference image shows a face', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const inputs = {
      frames: [await store(t, await sampleFaceCrop(0))],
      character: character([await store(t, await makePng(64, 64))]),
    };
    await expect(
      consistencyCheckActivity({ params: params(), inputs, ctx: t.ctx }),
    ).rejects.toMatchObject({
      name: 'NonRetryableNodeError',
      code: 'consistency_no_reference_face',
    });
  });
});

describe('consistency-check activity logic (deterministic embedder)', () => {
  /** "Embeds" an image as the two numbers written in its bytes, e.g. "1,0"; "none" has no face. */
  const numbers: FaceEmbedder = {
    model: 'test-numbers',
    embed: async (image) => {
      const text = image.toString('utf8');
      return text === 'none' ? null : Float32Array.from(text.split(',').map(Number));
    },
    distance: (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]),
  };
  const identity: ScoringIdentity = {
    version: 3,
    model: 'test-numbers',
    mean: [1, 0],
    threshold: 2.5,
  };
  const identitiesAsked: string[] = [];
  const activity = createConsistencyCheckActivity({
    embedderFor: () => numbers,
    identityFor: async (_ctx, character) => {
      identitiesAsked.push(character.id);
      return character.name === 'Faceless' ? null : identity;
    },
  });

  it("judges against the character's identity and its calibrated threshold by default", async () => {
    t = await createTestNodeContext({ index: 1, total: 2 });
    const refs = [await store(t, Buffer.from('0,0'))];
    const frames = [await store(t, Buffer.from('9,9')), await store(t, Buffer.from('1,2'))];
    const inputs = { frames, character: character(refs) };

    // Distance from (1,2) to the identity's mean (1,0) is 2: under the calibrated 2.5.
    const outputs = await activity({
      params: params({ failOnMismatch: true }),
      inputs,
      ctx: t.ctx,
    });
    expect(outputs).toEqual({ frames: frames[1], scores: 2 });
    expect(identitiesAsked).toContain('char_a');

    // The node's own threshold, when set, overrides the calibrated one.
    await expect(
      activity({ params: params({ threshold: 1.5, failOnMismatch: true }), inputs, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'consistency_mismatch' });
  });

  it('refuses an identity computed with another descriptor model', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const other = createConsistencyCheckActivity({
      embedderFor: () => numbers,
      identityFor: async () => ({ ...identity, model: 'face-api-128' }),
    });
    await expect(
      other({
        params: params(),
        inputs: {
          frames: [await store(t, Buffer.from('1,1'))],
          character: character([await store(t, Buffer.from('0,0'))]),
        },
        ctx: t.ctx,
      }),
    ).rejects.toMatchObject({ code: 'consistency_model_mismatch' });
  });

  it('rejects a missing character, one without references and one without a face', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const frames = [await store(t, Buffer.from('1,1'))];
    await expect(
      activity({ params: params(), inputs: { frames }, ctx: t.ctx }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(
      activity({ params: params(), inputs: { frames, character: character([]) }, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'consistency_no_references' });
    const faceless = { ...character([await store(t, Buffer.from('none'))]), name: 'Faceless' };
    await expect(
      activity({ params: params(), inputs: { frames, character: faceless }, ctx: t.ctx }),
    ).rejects.toMatchObject({ code: 'consistency_no_reference_face' });
  });
});

describe('consistency-check version 2 migration', () => {
  it("turns version 1's fixed default into the calibrated threshold and keeps a chosen one", () => {
    const [migration] = consistencyCheck.migrations;
    expect(migration.up({ threshold: 0.6, failOnMismatch: true })).toEqual({
      threshold: 0,
      failOnMismatch: true,
    });
    expect(migration.up({ threshold: 0.5 })).toEqual({ threshold: 0.5 });
  });
});
