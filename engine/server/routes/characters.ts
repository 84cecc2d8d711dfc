/**
 * Characters: a name, a description, reference images and the optional trigger word and
 * LoRA that keep a person recognisable from frame to frame. Created from a multipart form
 * (the images are uploaded with it) or JSON (images uploaded before, referenced by id).
 * Every change bumps `revision`, so caches keyed on a character notice edits.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LabError, notFound } from '../../errors';
import { artifactIdSchema, type ArtifactRef } from '../../graph/values';
import type { CharacterRecord } from '../../stores/ports';
import { newId, ownerOf, requireId, visibleTo, type ServerContext } from '../context';
import { checkImage, storeImages, type ImageUpload } from '../uploads';

const DEFAULT_LORA_WEIGHT = 0.8;

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .transform((value) => (value === '' ? undefined : value))
    .optional();

/** The form fields of a new character (multipart sends every value as text). */
const createFieldsSchema = z.strictObject({
  name: z.string().trim().min(1, 'a character needs a name').max(200),
  description: z.string().trim().max(5_000).default(''),
  triggerWord: optionalText(100),
  loraName: optionalText(200),
  loraWeight: z.coerce.number().min(-5).max(5).optional(),
  /** JSON creation only: images uploaded before through POST /api/artifacts. */
  referenceImages: z
    .array(z.union([artifactIdSchema, z.object({ id: artifactIdSchema })]))
    .max(50)
    .optional(),
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
  referenceImages: z
    .array(z.union([artifactIdSchema, z.object({ id: artifactIdSchema })]))
    .max(50)
    .optional(),
});

export function characterRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { documents } = ctx.engine;

  const requireCharacter = async (id: string, ownerId: string): Promise<CharacterRecord> => {
    const record = visibleTo(await documents.characters.get(id), ownerId);
    if (!record) throw notFound('character', id);
    return record;
  };

  /** Resolves image references to stored image artifacts, so a character never points at nothing. */
  const resolveImages = async (
    refs: readonly (string | { id: string })[],
    ownerId: string,
  ): Promise<ArtifactRef[]> => {
    const resolved: ArtifactRef[] = [];
    for (const ref of refs) {
      const id = typeof ref === 'string' ? ref : ref.id;
      const record = visibleTo(await ctx.engine.artifacts.get(id), ownerId);
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

  app.get('/api/characters', async (request) =>
    documents.characters.list({
      where: { ownerId: ownerOf(request) },
      orderByDesc: 'updatedAt',
      limit: 500,
    }),
  );

  app.post('/api/characters', async (request, reply) => {
    const ownerId = ownerOf(request);
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
    // Check references before storing uploads: a rejected request leaves nothing behind.
    const referenced = await resolveImages(parsed.referenceImages ?? [], ownerId);
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
      revision: 1,
      ownerId,
      createdAt: now,
      updatedAt: now,
    };
    await documents.characters.put(record);
    return reply.code(201).send(record);
  });

  app.get('/api/characters/:id', async (request) =>
    requireCharacter(requireId(request.params), ownerOf(request)),
  );

  app.put('/api/characters/:id', async (request) => {
    const ownerId = ownerOf(request);
    const existing = await requireCharacter(requireId(request.params), ownerId);
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
    if (changes.referenceImages !== undefined)
      next.referenceImages = await resolveImages(changes.referenceImages, ownerId);
    next.revision = existing.revision + 1;
    next.updatedAt = new Date().toISOString();
    await documents.characters.put(next);
    return next;
  });

  app.delete('/api/characters/:id', async (request, reply) => {
    const existing = await requireCharacter(requireId(request.params), ownerOf(request));
    await documents.characters.delete(existing.id);
    return reply.code(204).send();
  });

  app.post('/api/characters/:id/similar', async (request, reply) => {
    await requireCharacter(requireId(request.params), ownerOf(request));
    return reply.code(501).send({
      error: {
        code: 'not_implemented_yet',
        message:
          'similar-character search needs face embeddings of the reference images, which are not computed yet: ' +
          'this endpoint will answer once character embeddings land; nothing to retry until then',
      },
    });
  });
}

/** Reads the multipart form: text fields, and `images` / `images[]` files checked one by one. */
async function readCharacterForm(
  request: FastifyRequest,
  ctx: ServerContext,
): Promise<{ fields: Record<string, string>; images: ImageUpload[] }> {
  const { imageLimitBytes, maxImagesPerCharacter, maxImagePixels } = ctx.options;
  const fields: Record<string, string> = {};
  const images: ImageUpload[] = [];
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
      if (part.fieldname !== 'images' && part.fieldname !== 'images[]') {
        await part.toBuffer(); // drain it, then refuse
        throw new LabError(
          'invalid_request',
          `unexpected file field "${part.fieldname}": send reference images as "images"`,
        );
      }
      images.push(checkImage(await part.toBuffer(), part.filename, maxImagePixels));
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    }
  }
  return { fields, images };
}
