/**
 * Request schemas of the Runway endpoints our providers call, written from the official
 * types of @runwayml/sdk 4.20.1 (`resources/image-to-video.d.ts`, `resources/text-to-image.d.ts`)
 * member by member, plus the limits its doc comments and docs.dev.runwayml.com state in prose
 * (`/assets/inputs`: data URIs under 5 MB; promptText 1–1000 UTF-16 code units; gen4.5 duration
 * "an integer from 2 to 10"; reference tags "3-16 characters, start with a letter, … letters,
 * digits, and underscores"). Objects are strict: a field the model's schema lacks (a `seed`
 * where there is none) is refused, as the types refuse it. runway-schemas.test.ts makes tsc
 * prove each schema's type and the SDK's type assignable both ways with the same keys, so an SDK
 * upgrade that changes a model fails `npm run typecheck`. Test-only code.
 */
import { z } from 'zod';

/** A data URI of an image under Runway's 5 MB limit, or an HTTPS / runway:// upload URI. */
const imageUri = z
  .string()
  .refine(
    (uri) =>
      /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+=*$/.test(uri)
        ? uri.length < 5 * 1024 * 1024
        : uri.startsWith('https://') || uri.startsWith('runway://'),
    'Expected an HTTPS URL, a runway:// URI or a base64 image data URI under 5 MB',
  );

const promptText = z.string().min(1).max(1000);
const seed = z.number().int().min(0).max(4_294_967_295);
const contentModeration = z.strictObject({
  publicFigureThreshold: z.enum(['auto', 'low']).optional(),
});
const gen4Ratio = z.enum(['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672']);
const veoRatio = z.enum(['1280:720', '720:1280', '1080:1920', '1920:1080']);
const firstFrame = z.array(z.strictObject({ position: z.literal('first'), uri: imageUri }));
const gen4Duration = z.number().int().min(2).max(10);

/** `ImageToVideoCreateParams.Gen4Turbo`. */
export const gen4TurboSchema = z.strictObject({
  model: z.literal('gen4_turbo'),
  promptImage: z.union([imageUri, firstFrame]),
  ratio: gen4Ratio,
  contentModeration: contentModeration.optional(),
  duration: gen4Duration.optional(),
  promptText: promptText.optional(),
  seed: seed.optional(),
});

/** `ImageToVideoCreateParams.Gen4_5`. */
export const gen4_5Schema = z.strictObject({
  duration: gen4Duration,
  model: z.literal('gen4.5'),
  promptImage: z.union([imageUri, firstFrame]),
  promptText,
  ratio: gen4Ratio,
  contentModeration: contentModeration.optional(),
  outputFormat: z
    .enum([
      'mp4',
      'prores',
      'png_sequence',
      'hdr10',
      'hlg',
      'sdr_rec709_10bit',
      'hdr_pq_12bit_master',
      'hdr_prores',
      'hdr_png_sequence',
      'hdr_exr_sequence',
      'hdr_exr_acescg_sequence_1_3',
      'hdr_exr_acescg_sequence_2_0',
    ])
    .optional(),
  proresProfile: z.enum(['422', '4444', '422 Proxy', '422 LT', '422 HQ', '4444 XQ']).optional(),
  seed: seed.optional(),
});

function veoSchema<M extends 'veo3.1' | 'veo3.1_fast'>(model: M) {
  return z.strictObject({
    model: z.literal(model),
    // "an array with a first frame and optionally a last frame … not … only a last frame"
    promptImage: z.union([
      imageUri,
      z
        .array(z.strictObject({ position: z.enum(['first', 'last']), uri: imageUri }))
        .refine((images) => images.some((image) => image.position === 'first'), {
          message: 'This model does not support generating with only a last frame',
        }),
    ]),
    ratio: veoRatio,
    audio: z.boolean().optional(),
    duration: z.union([z.literal(4), z.literal(6), z.literal(8)]).optional(),
    negativePrompt: z.string().optional(),
    promptText: promptText.optional(),
    seed: seed.optional(),
  });
}

/** `ImageToVideoCreateParams.Veo3_1`. */
export const veo3_1Schema = veoSchema('veo3.1');
/** `ImageToVideoCreateParams.Veo3_1Fast`. */
export const veo3_1FastSchema = veoSchema('veo3.1_fast');

/** The image_to_video models the fake serves, by the SDK's discriminant. */
export const imageToVideoSchema = z.discriminatedUnion('model', [
  gen4TurboSchema,
  gen4_5Schema,
  veo3_1Schema,
  veo3_1FastSchema,
]);

/** `TextToImageCreateParams.Gen4Image`. */
export const gen4ImageSchema = z.strictObject({
  model: z.literal('gen4_image'),
  promptText,
  ratio: z.enum([
    '1024:1024',
    '1080:1080',
    '1168:880',
    '1360:768',
    '1440:1080',
    '1080:1440',
    '1808:768',
    '1920:1080',
    '1080:1920',
    '2112:912',
    '1280:720',
    '720:1280',
    '720:720',
    '960:720',
    '720:960',
    '1680:720',
  ]),
  contentModeration: contentModeration.optional(),
  // "An array of up to three images to be used as references"
  referenceImages: z
    .array(
      z.strictObject({
        uri: imageUri,
        tag: z
          .string()
          .regex(
            /^[A-Za-z][A-Za-z0-9_]{2,15}$/,
            'Must be 3-16 characters, start with a letter, and use only letters, digits, and underscores',
          )
          .optional(),
      }),
    )
    .max(3)
    .optional(),
  seed: seed.optional(),
});

/** The text_to_image models the fake serves. */
export const textToImageSchema = z.discriminatedUnion('model', [gen4ImageSchema]);
