/**
 * The fake's request schemas against the official types of @runwayml/sdk 4.20.1. The type
 * assertions are checked by tsc (`npm run typecheck`), not at run time: for each model the
 * schema's type and the SDK's member are assignable both ways and have the same keys, so a
 * field added, dropped or retyped by an SDK upgrade breaks the build instead of letting the
 * fake drift from Runway. The run-time tests show the schemas refuse what the types refuse.
 */
import type RunwayML from '@runwayml/sdk';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { gen4_5Schema, veo3_1FastSchema, veo3_1Schema } from './runway-schemas';
import { gen4ImageSchema, gen4TurboSchema, imageToVideoSchema } from './runway-schemas';

type ImageToVideo = RunwayML.ImageToVideoCreateParams;
type TextToImage = RunwayML.TextToImageCreateParams;

/** `true` only when A and B are assignable to each other and have exactly the same keys. */
type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [keyof A] extends [keyof B]
      ? [keyof B] extends [keyof A]
        ? true
        : false
      : false
    : false
  : false;
function assertSame<T extends true>(): T | undefined {
  return undefined;
}

assertSame<Same<z.infer<typeof gen4TurboSchema>, RunwayML.ImageToVideoCreateParams.Gen4Turbo>>();
assertSame<Same<z.infer<typeof gen4_5Schema>, RunwayML.ImageToVideoCreateParams.Gen4_5>>();
assertSame<Same<z.infer<typeof veo3_1Schema>, RunwayML.ImageToVideoCreateParams.Veo3_1>>();
assertSame<Same<z.infer<typeof veo3_1FastSchema>, RunwayML.ImageToVideoCreateParams.Veo3_1Fast>>();
assertSame<Same<z.infer<typeof gen4ImageSchema>, RunwayML.TextToImageCreateParams.Gen4Image>>();

const png = `data:image/png;base64,${Buffer.from('not really a png').toString('base64')}`;

describe('the fake Runway request schemas', () => {
  it('refuse what the official types refuse', () => {
    // @ts-expect-error Veo 3.1 has no 960:960 (ImageToVideoCreateParams.Veo3_1.ratio).
    const veoSquare: ImageToVideo = { model: 'veo3.1', promptImage: png, ratio: '960:960' };
    expect(imageToVideoSchema.safeParse(veoSquare).success).toBe(false);

    // @ts-expect-error Veo durations are 4, 6 or 8.
    const veoTwo: ImageToVideo = {
      model: 'veo3.1',
      promptImage: png,
      ratio: '1280:720',
      duration: 2,
    };
    expect(imageToVideoSchema.safeParse(veoTwo).success).toBe(false);

    // @ts-expect-error gen3a_turbo left the union (sdk-node 72f96f2).
    const gen3a: ImageToVideo = { model: 'gen3a_turbo', promptImage: png, ratio: '1280:720' };
    expect(imageToVideoSchema.safeParse(gen3a).success).toBe(false);

    // @ts-expect-error gen4.5 requires promptText and duration.
    const gen45: ImageToVideo = { model: 'gen4.5', promptImage: png, ratio: '1280:720' };
    expect(imageToVideoSchema.safeParse(gen45).success).toBe(false);

    const lastFrame: RunwayML.ImageToVideoCreateParams.Gen4Turbo = {
      model: 'gen4_turbo',
      // @ts-expect-error gen4_turbo takes a first frame only.
      promptImage: [{ uri: png, position: 'last' }],
      ratio: '1280:720',
    };
    expect(imageToVideoSchema.safeParse(lastFrame).success).toBe(false);
  });

  it('accept what the official types accept', () => {
    const bodies: ImageToVideo[] = [
      { model: 'gen4_turbo', promptImage: png, ratio: '960:960', duration: 7, seed: 3 },
      { model: 'veo3.1_fast', promptImage: png, ratio: '1080:1920', duration: 8, seed: 3 },
      {
        model: 'gen4.5',
        promptImage: [{ position: 'first', uri: png }],
        promptText: 'walk',
        ratio: '1584:672',
        duration: 10,
      },
    ];
    for (const body of bodies) expect(imageToVideoSchema.safeParse(body).success).toBe(true);
    const image: TextToImage = {
      model: 'gen4_image',
      promptText: '@mara at the lighthouse',
      ratio: '1920:1080',
      referenceImages: [{ uri: png, tag: 'mara' }],
    };
    expect(gen4ImageSchema.safeParse(image).success).toBe(true);
  });

  it('refuse the limits the types state in prose', () => {
    const long = { model: 'gen4_turbo', promptImage: png, ratio: '1280:720' } as const;
    expect(gen4TurboSchema.safeParse({ ...long, promptText: 'x'.repeat(1001) }).success).toBe(
      false,
    );
    expect(gen4TurboSchema.safeParse({ ...long, duration: 11 }).success).toBe(false);
    const four = Array.from({ length: 4 }, (_, i) => ({ uri: png, tag: `ref${i}` }));
    const base = { model: 'gen4_image', promptText: 'x', ratio: '1280:720' } as const;
    expect(gen4ImageSchema.safeParse({ ...base, referenceImages: four }).success).toBe(false);
    expect(
      gen4ImageSchema.safeParse({ ...base, referenceImages: [{ uri: png, tag: 'my-tag' }] })
        .success,
    ).toBe(false);
  });
});
