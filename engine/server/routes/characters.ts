/**
 * Characters: a name, a description, reference images and the optional trigger word and
 * LoRA that keep a person recognisable from frame to frame. Created from a multipart form
 * (the images are uploaded with it) or JSON (images uploaded before, referenced by id).
 * Every change bumps `revision`, so caches keyed on a character notice edits.
 *
 * Every change of the reference images computes the character's face identity
 * (engine/faces/identity.ts) before anything is stored, and the answer carries it:
 * `identity.references[i]` says what was found in image i. The rules a user meets:
 * - one face: an `identity` reference, part of the character's face;
 * - no face: kept as a `style` reference (a costume sheet, a look, a setting) and never compared;
 * - several faces, or bytes no decoder reads: refused (422 `reference_several_faces` /
 *   `reference_unreadable`, nothing stored) unless the image is sent as a style reference
 *   (multipart field `styleImages`, or `{ id, role: 'style' }` in JSON), since nobody can tell
 *   which of several faces is the character.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LabError, notFound } from '../../errors';
import { IdentityService, type ReferenceRequest } from '../../faces/identity-service';
import type { CharacterIdentity } from '../../faces/identity';
import { hasIdentityFace } from '../../faces/identity';
import { artifactIdSchema, type ArtifactRef } from '../../graph/values';
import type { CharacterRecord } from '../../stores/ports';
import {
  newId,
  ownerOf,
  requireId,
  viewerOf,
  visibleTo,
  writableBy,
  type ServerContext,
} from '../context';
import { listedOwners, type Viewer } from '../../auth/viewer';
import { checkImage, imagePartBytes, storeImages, type ImageUpload } from '../uploads';

const DEFAULT_LORA_WEIGHT = 0.8;

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .transform((value) => (value === '' ? undefined : value))
    .optional();

/** A reference image by artifact id, optionally with its role (`style`: never compared). */
const referenceSchema = z.union([
  artifactIdSchema,
  // Not strict: the studio sends whole ArtifactRefs back ({ id, mime, bytes, … }).
  z.object({ id: artifactIdSchema, role: z.enum(['identity', 'style']).optional() }),
]);
type ReferenceInput = z.infer<typeof referenceSchema>;

const DEFAULT_SIMILAR_LIMIT = 5;
const similarBodySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(50).default(DEFAULT_SIMILAR_LIMIT),
});

/** The form fields of a new character (multipart sends every value as text). */
const createFieldsSchema = z.strictObject({
  name: z.string().trim().min(1, 'a character needs a name').max(200),
  description: z.string().trim().max(5_000).default(''),
  triggerWord: optionalText(100),
  loraName: optionalText(200),
  loraWeight: z.coerce.number().min(-5).max(5).optional(),
  /** JSON creation only: images uploaded before through POST /api/artifacts. */
  referenceImages: z.array(referenceSchema).max(50).optional(),
});

const loraSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  weight: z.number().min(-5).max(5),
});

/** PUT: every field optional; `null` clears an optional one. */
const updateSchema = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  description: z.string().trim().max(5_000).optional(),
  triggerWord: z.string().trim().max(100).nullable().optional(),
  lora: loraSchema.nullable().optional(),
  referenceImages: z.array(referenceSchema).max(50).optional(),
});

export function characterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { documents } = ctx.engine;
  const identities = new IdentityService({
    documents,
    vectors: ctx.engine.vectors,
    blobs: ctx.engine.blobs,
    ffmpegPath: ctx.engine.providers.ffmpegPath,
  });

  const requireCharacter = async (
    id: string,
    viewer: Viewer,
    access: 'read' | 'write' = 'read',
  ): Promise<CharacterRecord> => {
    const stored = await documents.characters.get(id);
    const record =
      access === 'read' ? visibleTo(stored, viewer) : writableBy(stored, viewer, 'character');
    if (!record) throw notFound('character', id);
    return record;
  };

  /** Resolves image references to stored image artifacts, so a character never points at nothing. */
  const resolveImages = async (
    refs: readonly ReferenceInput[],
    viewer: Viewer,
  ): Promise<ArtifactRef[]> => {
    const resolved: ArtifactRef[] = [];
    for (const ref of refs) {
      const id = typeof ref === 'string' ? ref : ref.id;
      const record = await ctx.engine.artifacts.readableBy(id, viewer);
      if (!record)
        throw new LabError(
          'artifact_not_found',
          `reference image ${id} does not exist: upload it first with POST /api/artifacts`,
          400,
        );
      if (!record.mime.startsWith('image/')) {
        throw new LabError(
          'unsupported_media_type',
          `artifact ${id} is ${record.mime}, not an image: reference images are PNG, JPEG or WebP`,
          415,
        );
      }
      const { ownerId: _owner, createdAt: _created, filename: _name, ...artifact } = record;
      resolved.push(artifact);
    }
    return resolved;
  };

  // The viewer's own characters, then the shipped ones (the demo character) every user may use.
  app.get('/api/characters', async (request) => {
    const lists = await Promise.all(
      listedOwners(viewerOf(request)).map((ownerId) =>
        documents.characters.list({ where: { ownerId }, orderByDesc: 'updatedAt', limit: 500 }),
      ),
    );
    return lists.flat().slice(0, 500);
  });

  app.post('/api/characters', async (request, reply) => {
    const ownerId = ownerOf(request);
    const viewer = viewerOf(request);
    const { fields, images } = request.isMultipart()
      ? await readCharacterForm(request, ctx)
      : { fields: request.body ?? {}, images: [] };
    const parsed = createFieldsSchema.parse(fields);
    if (parsed.loraWeight !== undefined && !parsed.loraName) {
      throw new LabError(
        'invalid_request',
        'loraWeight was given without loraName: name the LoRA or leave out its weight',
      );
    }
    // Check references and faces before storing uploads: a refused request leaves nothing behind.
    const referenceInputs = parsed.referenceImages ?? [];
    const referenced = await resolveImages(referenceInputs, viewer);
    const requests: ReferenceRequest[] = [
      ...images.map((image) => ({
        id: createHash('sha256').update(image.bytes).digest('hex'),
        role: image.role,
        bytes: image.bytes,
      })),
      ...referenced.map((ref, i) => ({ id: ref.id, role: roleOf(referenceInputs[i]) })),
    ];
    const identity = await identities.compute(requests);
    refuseUnusable(identity, requests, [
      ...images.map((image) => image.filename),
      ...referenced.map(() => undefined),
    ]);
    const uploaded = await storeImages(ctx, images, ownerId);
    const now = new Date().toISOString();
    const record: CharacterRecord = {
      id: newId('char'),
      name: parsed.name,
      description: parsed.description,
      ...(parsed.triggerWord ? { triggerWord: parsed.triggerWord } : {}),
      ...(parsed.loraName
        ? { lora: { name: parsed.loraName, weight: parsed.loraWeight ?? DEFAULT_LORA_WEIGHT } }
        : {}),
      referenceImages: [...uploaded, ...referenced],
      ...(hasIdentityFace(identity) ? { embeddingModel: identity.model } : {}),
      revision: 1,
      identity,
      ownerId,
      createdAt: now,
      updatedAt: now,
    };
    // Vectors first: a character document never names descriptors that were not stored.
    await identities.index(record, identity);
    await documents.characters.put(record);
    return reply.code(201).send(record);
  });

  app.get('/api/characters/:id', async (request) =>
    requireCharacter(requireId(request.params), viewerOf(request)),
  );

  app.put('/api/characters/:id', async (request) => {
    const viewer = viewerOf(request);
    const existing = await requireCharacter(requireId(request.params), viewer, 'write');
    const changes = updateSchema.parse(request.body ?? {});
    const next: CharacterRecord = { ...existing };
    if (changes.name !== undefined) next.name = changes.name;
    if (changes.description !== undefined) next.description = changes.description;
    if (changes.triggerWord !== undefined) {
      if (changes.triggerWord) next.triggerWord = changes.triggerWord;
      else delete next.triggerWord;
    }
    if (changes.lora !== undefined) {
      if (changes.lora) next.lora = changes.lora;
      else delete next.lora;
    }
    let identity: CharacterIdentity | undefined;
    if (changes.referenceImages !== undefined) {
      const inputs = changes.referenceImages;
      next.referenceImages = await resolveImages(inputs, viewer);
      const requests = next.referenceImages.map((ref, i) => ({
        id: ref.id,
        role: roleOf(inputs[i]),
      }));
      identity = await identities.compute(requests, existing.identity);
      refuseUnusable(identity, requests, []);
      next.identity = identity;
      if (hasIdentityFace(identity)) next.embeddingModel = identity.model;
      else delete next.embeddingModel;
    }
    next.revision = existing.revision + 1;
    next.updatedAt = new Date().toISOString();
    if (identity) await identities.index(next, identity, existing.identity);
    await documents.characters.put(next);
    return next;
  });

  app.delete('/api/characters/:id', async (request, reply) => {
    const existing = await requireCharacter(requireId(request.params), viewerOf(request), 'write');
    await documents.characters.delete(existing.id);
    await identities.unindex(existing);
    return reply.code(204).send();
  });

  app.post('/api/characters/:id/similar', async (request) => {
    const ownerId = ownerOf(request);
    const record = await requireCharacter(requireId(request.params), viewerOf(request));
    const { limit } = similarBodySchema.parse(request.body ?? {});
    const identity = await identities.ensure(record);
    if (!hasIdentityFace(identity)) {
      throw new LabError(
        'character_no_face',
        `${record.name} has no reference image showing exactly one face, so there is no face to compare: ` +
          'add a clear photo of the face to the character',
        422,
      );
    }
    const similar = await identities.similar(Float32Array.from(identity.mean), ownerId, {
      limit,
      excludeId: record.id,
    });
    return { characterId: record.id, model: identity.model, similar };
  });

  /** Search by image: which of my characters does the face in this photo look like? */
  app.post('/api/characters/similar', async (request) => {
    const ownerId = ownerOf(request);
    const { image, fields } = await readSearchForm(request, ctx);
    const { limit } = similarBodySchema.parse(fields);
    const found = await identities.detectBytes(image.bytes);
    if (!found.descriptor) {
      if (found.status === 'several-faces') {
        throw new LabError(
          'several_faces',
          `${describe(image.filename)} shows ${found.faces} faces: crop it to the one face to search for`,
          422,
          { faces: found.faces },
        );
      }
      if (found.status === 'unreadable') {
        throw new LabError(
          'image_unreadable',
          `${describe(image.filename)} cannot be decoded: it is probably damaged; export it again`,
          422,
        );
      }
      throw new LabError(
        'no_face',
        `no face found in ${describe(image.filename)}: use a photo where the face is clearly visible`,
        422,
      );
    }
    const similar = await identities.similar(found.descriptor, ownerId, { limit });
    return { model: identities.model, similar };
  });
}

function roleOf(input: ReferenceInput | undefined): 'identity' | 'style' | undefined {
  return typeof input === 'object' ? input.role : undefined;
}

function describe(filename: string | undefined): string {
  return filename ? `"${filename}"` : 'the image';
}

/**
 * Refuses reference images asked to be identity references that cannot be: several faces (which
 * one is the character?) or undecodable bytes. No-face images are kept as style references.
 */
function refuseUnusable(
  identity: CharacterIdentity,
  requests: readonly ReferenceRequest[],
  filenames: readonly (string | undefined)[],
): void {
  const refused = identity.references
    .map((ref, index) => ({ ...ref, index, filename: filenames[index] }))
    .filter(
      (ref) =>
        requests[ref.index].role !== 'style' &&
        (ref.status === 'several-faces' || ref.status === 'unreadable'),
    );
  if (refused.length === 0) return;
  const several = refused.filter((ref) => ref.status === 'several-faces');
  const list = refused
    .map(
      (ref) =>
        `image ${ref.index + 1}${ref.filename ? ` ("${ref.filename}")` : ''} ` +
        (ref.status === 'several-faces' ? `shows ${ref.faces} faces` : 'cannot be decoded'),
    )
    .join('; ');
  const details = {
    images: refused.map(({ index, artifactId, status, faces, filename }) => ({
      index,
      artifactId,
      status,
      faces,
      ...(filename ? { filename } : {}),
    })),
  };
  if (several.length > 0) {
    throw new LabError(
      'reference_several_faces',
      `${list}: with several faces it is unclear which one is the character; crop the image to ` +
        'the one face, or send it as a style reference (multipart "styleImages", or { id, role: "style" } in JSON)',
      422,
      details,
    );
  }
  throw new LabError(
    'reference_unreadable',
    `${list}: it is probably damaged; export it again, or leave it out`,
    422,
    details,
  );
}

/** An uploaded reference image; `style` when it came as a style reference. */
type ReferenceUpload = ImageUpload & { role?: 'style' };

/**
 * Reads the multipart form: text fields, `images` / `images[]` (references) and `styleImages` /
 * `styleImages[]` (style references) files, checked one by one.
 */
async function readCharacterForm(
  request: FastifyRequest,
  ctx: ServerContext,
): Promise<{ fields: Record<string, string>; images: ReferenceUpload[] }> {
  const { imageLimitBytes, maxImagesPerCharacter, maxImagePixels } = ctx.options;
  const fields: Record<string, string> = {};
  const images: ReferenceUpload[] = [];
  const parts = request.parts({
    limits: {
      fileSize: imageLimitBytes,
      files: maxImagesPerCharacter,
      fields: 20,
      fieldSize: 20_000,
    },
  });
  for await (const part of parts) {
    if (part.type === 'file') {
      const style = part.fieldname === 'styleImages' || part.fieldname === 'styleImages[]';
      if (!style && part.fieldname !== 'images' && part.fieldname !== 'images[]') {
        // Drain it, then refuse; a part cut short answers 400 invalid_multipart, not 500.
        await imagePartBytes(part, imageLimitBytes);
        throw new LabError(
          'invalid_request',
          `unexpected file field "${part.fieldname}": send reference images as "images" and style references as "styleImages"`,
        );
      }
      const image = checkImage(
        await imagePartBytes(part, imageLimitBytes),
        part.filename,
        maxImagePixels,
      );
      images.push(style ? { ...image, role: 'style' } : image);
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    }
  }
  return { fields, images };
}

/** Reads a search-by-image form: exactly one `image` file and an optional `limit` field. */
async function readSearchForm(
  request: FastifyRequest,
  ctx: ServerContext,
): Promise<{ image: ImageUpload; fields: Record<string, string> }> {
  if (!request.isMultipart()) {
    throw new LabError(
      'image_required',
      'send the photo to search with as multipart/form-data, file field "image"',
      400,
    );
  }
  const { imageLimitBytes, maxImagePixels } = ctx.options;
  const fields: Record<string, string> = {};
  let image: ImageUpload | undefined;
  const parts = request.parts({
    limits: { fileSize: imageLimitBytes, files: 2, fields: 5, fieldSize: 100 },
  });
  for await (const part of parts) {
    if (part.type === 'file') {
      const bytes = await imagePartBytes(part, imageLimitBytes);
      if (part.fieldname !== 'image') {
        throw new LabError(
          'invalid_request',
          `unexpected file field "${part.fieldname}": send the photo as "image"`,
        );
      }
      if (image) {
        throw new LabError(
          'too_many_images',
          'a search by image takes exactly one photo: send one "image" file',
          400,
        );
      }
      image = checkImage(bytes, part.filename, maxImagePixels);
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    }
  }
  if (!image) {
    throw new LabError(
      'image_required',
      'no "image" file in the form: attach the photo to search with',
      400,
    );
  }
  return { image, fields };
}
