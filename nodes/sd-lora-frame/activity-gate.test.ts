import { afterEach, describe, expect, it } from 'vitest';
import { faceDistance, type FaceEmbedder } from '../../engine/faces/face-embedder';
import type { Character, Storyboard } from '../../engine/graph/values';
import { makePng } from '../../engine/testing/fakes/media';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import type { ScoringIdentity } from '../consistency-check/score';
import { createFrameActivity } from './activity';
import { sdLoraFrame } from './definition';

let t: TestNodeContext | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const identity: ScoringIdentity = { version: 1, model: 'test', mean: [0, 0], threshold: 0.5 };

/** Answers descriptors from a script, one per embed call: x on the first axis, or no face. */
function scriptedEmbedder(script: (number | null)[]): FaceEmbedder & { calls: number } {
  const embedder = {
    model: 'test',
    calls: 0,
    embed() {
      const x = script[embedder.calls++] ?? null;
      return Promise.resolve(x === null ? null : Float32Array.from([x, 0]));
    },
    distance: faceDistance,
  };
  return embedder;
}

const storyboard = (characterPresent?: boolean): Storyboard => ({
  title: 't',
  shots: [
    {
      index: 0,
      description: 'Ada looks at the sea.',
      prompt: 'ada at the sea',
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
      ...(characterPresent === undefined ? {} : { characterPresent }),
    },
  ],
});

async function character(ctx: TestNodeContext): Promise<Character> {
  const reference = await ctx.artifacts.putBytes(await makePng(64, 64), 'image/png');
  return { id: 'ada', name: 'Ada', description: '', referenceImages: [reference] };
}

const params = (overrides: Record<string, unknown> = {}) =>
  sdLoraFrame.params.parse({ provider: 'local', width: 128, height: 72, ...overrides });

describe('sd-lora-frame with the consistency gate (local provider)', () => {
  it('re-renders a failing local frame with a new seed (a different card) and keeps the passing one', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const embedder = scriptedEmbedder([0.9, 0.2]);
    const activity = createFrameActivity({
      embedderFor: () => embedder,
      identityFor: () => Promise.resolve(identity),
    });
    const out = await activity({
      params: params(),
      inputs: { storyboard: storyboard(), character: await character(t) },
      ctx: t.ctx,
    });
    expect(out.consistency).toMatchObject({ gated: true, pass: true, attempts: 2, distance: 0.2 });
    // Each attempt reached the event log (record: true) and the checkpoint.
    expect(t.progress.filter((p) => p.record && /attempt \d\/3/.test(p.stage ?? ''))).toHaveLength(
      2,
    );
    expect((t.checkpoints.at(-1) as { gateAttempts: unknown[] }).gateAttempts).toHaveLength(2);
  });

  it('does not gate a shot the storyboard marks as without the character', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const embedder = scriptedEmbedder([]);
    let asked = false;
    const activity = createFrameActivity({
      embedderFor: () => embedder,
      identityFor: () => {
        asked = true;
        return Promise.resolve(identity);
      },
    });
    const out = await activity({
      params: params(),
      inputs: { storyboard: storyboard(false), character: await character(t) },
      ctx: t.ctx,
    });
    expect(out.consistency).toMatchObject({
      gated: false,
      reason: 'character-absent',
      attempts: 1,
    });
    expect(asked).toBe(false);
    expect(embedder.calls).toBe(0);
  });

  it('renders once, ungated, when the character has no reference face', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const activity = createFrameActivity({
      embedderFor: () => scriptedEmbedder([]),
      identityFor: () => Promise.resolve(null),
    });
    const out = await activity({
      params: params(),
      inputs: { storyboard: storyboard(true), character: await character(t) },
      ctx: t.ctx,
    });
    expect(out.consistency).toMatchObject({ gated: false, reason: 'no-identity' });
  });

  it('gives a regenerated shot (reroll) a different local frame', async () => {
    t = await createTestNodeContext({ index: 0, total: 1 });
    const activity = createFrameActivity({
      embedderFor: () => scriptedEmbedder([]),
      identityFor: () => Promise.resolve(null),
    });
    const inputs = { storyboard: storyboard(true), character: await character(t) };
    const first = await activity({ params: params(), inputs, ctx: t.ctx });
    const rerolled = await activity({
      params: params(),
      inputs,
      ctx: await t.child({ index: 0, total: 1, reroll: 1 }),
    });
    expect(rerolled.frames).not.toEqual(first.frames);
    expect((rerolled.consistency as { seed: number }).seed).not.toBe(42);
  });
});

describe('the local animatic against a real face (what a newcomer sees)', () => {
  it('scores a frame composited from the reference photo as the character', async () => {
    const { samplePeople } = await import('../../engine/faces/testing/sample-faces');
    const { activity } = await import('./activity');
    const [person] = await samplePeople(1);
    t = await createTestNodeContext({ index: 0, total: 1 });
    const reference = await t.artifacts.putBytes(person.face, 'image/png');
    const now = new Date().toISOString();
    const ada: Character = {
      id: 'ada',
      name: 'Ada',
      description: '',
      referenceImages: [reference],
    };
    await t.stores.documents.characters.put({
      ...ada,
      ownerId: 'local',
      createdAt: now,
      updatedAt: now,
      revision: 1,
    });
    const out = await activity({
      params: sdLoraFrame.params.parse({ provider: 'local', width: 384, height: 216 }),
      inputs: { storyboard: storyboard(), character: ada },
      ctx: t.ctx,
    });
    expect(out.consistency).toMatchObject({ gated: true, pass: true, attempts: 1 });
  });
});
