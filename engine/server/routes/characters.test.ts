/**
 * The characters API with face identities, on a real engine (embedded SQLite documents and
 * vectors, files for blobs) and the real face-api models on the sample photos shipped in
 * @vladmandic/face-api: per-image answers on create, refusals that store nothing, versions,
 * descriptors in the vector port, similar characters by id and by uploaded image.
 */
import { createHash } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CHARACTER_ID } from '../../characters/demo-character';
import { FACE_EMBEDDING_MODEL } from '../../faces/face-embedder';
import { THRESHOLD_FLOOR, THRESHOLD_SINGLE } from '../../faces/identity';
import { faceVariant, groupPhoto, samplePeople } from '../../faces/testing/sample-faces';
import type { CharacterRecord } from '../../stores/ports';
import { makePng } from '../../testing/fakes/media';
import {
  startTestEngine,
  temporalUnavailable,
  type TestEngine,
} from '../../testing/engine-harness';
import { buildServer, type LabServer } from '../app';

const MEANS = `character-means-${FACE_EMBEDDING_MODEL}`;
const REFS = `character-refs-${FACE_EMBEDDING_MODEL}`;

function form(
  fields: Record<string, string>,
  files: { field: string; name: string; bytes: Buffer; type?: string }[] = [],
): FormData {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.append(key, value);
  for (const file of files) {
    data.append(
      file.field,
      new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'image/png' }),
      file.name,
    );
  }
  return data;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(temporalUnavailable())('characters API: identities and similar search', () => {
  let lab: TestEngine;
  let server: LabServer;
  let faces: Record<'a' | 'b' | 'c', Buffer>;
  let people: string[];
  let plain: Buffer;
  let group: Buffer;
  const inject = (options: InjectOptions) => server.app.inject(options);
  const create = async (
    name: string,
    images: Buffer[],
    styleImages: Buffer[] = [],
  ): Promise<CharacterRecord> => {
    const response = await inject({
      method: 'POST',
      url: '/api/characters',
      payload: form({ name }, [
        ...images.map((bytes, i) => ({ field: 'images', name: `${name}-${i}.png`, bytes })),
        ...styleImages.map((bytes, i) => ({
          field: 'styleImages',
          name: `${name}-s${i}.png`,
          bytes,
        })),
      ]),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<CharacterRecord>();
  };
  const upload = async (bytes: Buffer): Promise<string> => {
    const response = await inject({
      method: 'POST',
      url: '/api/artifacts',
      payload: form({}, [{ field: 'file', name: 'ref.png', bytes }]),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<{ id: string }>().id;
  };
  const searchByImage = (bytes: Buffer, name = 'query.png') =>
    inject({
      method: 'POST',
      url: '/api/characters/similar',
      payload: form({}, [{ field: 'image', name, bytes }]),
    });
  const count = async () =>
    (await inject({ method: 'GET', url: '/api/characters' })).json<unknown[]>().length;

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: false });
    server = buildServer(lab.engine, { editorDir: '/nonexistent' });
    // The demo character has a real face too; the searches here compare only these tests' own.
    const demo = await inject({ method: 'DELETE', url: `/api/characters/${DEMO_CHARACTER_ID}` });
    expect(demo.statusCode, demo.body).toBe(204);
    const sampled = await samplePeople(3);
    people = sampled.map((p) => p.person);
    faces = { a: sampled[0].face, b: sampled[1].face, c: sampled[2].face };
    plain = await makePng(320, 180);
    group = await groupPhoto();
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await lab?.close();
  });

  let ana: CharacterRecord;
  let ben: CharacterRecord;
  let cy: CharacterRecord;

  it('answers per image on create and stores the descriptors in the vector port', async () => {
    ana = await create('Ana', [faces.a, plain]);
    expect(ana.identity).toMatchObject({
      version: 1,
      model: FACE_EMBEDDING_MODEL,
      threshold: THRESHOLD_SINGLE,
      references: [
        { artifactId: sha(faces.a), status: 'face', faces: 1, role: 'identity' },
        // No face: kept, as a style reference.
        { artifactId: sha(plain), status: 'no-face', faces: 0, role: 'style' },
      ],
    });
    expect(ana.identity!.mean).toHaveLength(128);
    expect(ana.embeddingModel).toBe(FACE_EMBEDDING_MODEL);
    expect(ana.referenceImages.map((ref) => ref.id)).toEqual([sha(faces.a), sha(plain)]);

    const stored = await lab.engine.documents.characters.get(ana.id);
    expect(stored?.identity).toEqual(ana.identity);
    const means = await lab.engine.vectors.search(MEANS, ana.identity!.mean, 10, {
      ownerId: 'local',
    });
    expect(means.map((hit) => hit.id)).toEqual([ana.id]);
    expect(means[0].payload).toEqual({ characterId: ana.id, ownerId: 'local', version: 1 });
    const refs = await lab.engine.vectors.search(REFS, ana.identity!.mean, 10);
    expect(refs.map((hit) => hit.id)).toEqual([`${ana.id}/${sha(faces.a)}`]);
  });

  it('refuses a group photo as an identity reference, storing nothing; keeps it as a style reference', async () => {
    const before = await count();
    const refused = await inject({
      method: 'POST',
      url: '/api/characters',
      payload: form({ name: 'Crowd' }, [
        { field: 'images', name: 'me.png', bytes: faces.b },
        { field: 'images', name: 'party.jpg', bytes: group, type: 'image/jpeg' },
      ]),
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error).toMatchObject({
      code: 'reference_several_faces',
      message: expect.stringContaining('image 2 ("party.jpg") shows 3 faces'),
      details: { images: [{ index: 1, status: 'several-faces', faces: 3, filename: 'party.jpg' }] },
    });
    expect(await count()).toBe(before);
    expect(
      (await inject({ method: 'GET', url: `/api/artifacts/${sha(faces.b)}` })).statusCode,
    ).toBe(404);

    ben = await create('Ben', [faces.b], [group]);
    expect(ben.identity!.references).toEqual([
      { artifactId: sha(faces.b), status: 'face', faces: 1, role: 'identity' },
      { artifactId: sha(group), status: 'several-faces', faces: 3, role: 'style' },
    ]);
  });

  it('recomputes the identity on a change of references, bumping its version and the vectors', async () => {
    const cropped = await upload(await faceVariant(people[0], 'crop'));
    const put = (body: unknown) =>
      inject({ method: 'PUT', url: `/api/characters/${ana.id}`, payload: body as object });

    const two = await put({ referenceImages: [sha(faces.a), cropped, sha(plain)] });
    expect(two.statusCode, two.body).toBe(200);
    const identity = two.json<CharacterRecord>().identity!;
    expect(identity.version).toBe(2);
    expect(identity.references.map((ref) => ref.role)).toEqual(['identity', 'identity', 'style']);
    // Two references: calibrated from their spread, never under the floor.
    expect(identity.threshold).toBeGreaterThanOrEqual(THRESHOLD_FLOOR);
    const refIds = async () =>
      (await lab.engine.vectors.search(REFS, identity.mean, 50, { characterId: ana.id }))
        .map((hit) => hit.id)
        .sort();
    expect(await refIds()).toEqual([`${ana.id}/${sha(faces.a)}`, `${ana.id}/${cropped}`].sort());

    // Other edits leave the identity alone.
    const renamed = await put({ name: 'Ana B.' });
    expect(renamed.json<CharacterRecord>().identity).toEqual(identity);

    const one = await put({ referenceImages: [cropped, { id: sha(faces.a), role: 'style' }] });
    expect(one.statusCode, one.body).toBe(200);
    ana = one.json<CharacterRecord>();
    expect(ana.identity).toMatchObject({
      version: 3,
      threshold: THRESHOLD_SINGLE,
      references: [
        { artifactId: cropped, role: 'identity' },
        { artifactId: sha(faces.a), status: 'face', role: 'style' },
      ],
    });
    expect(await refIds()).toEqual([`${ana.id}/${cropped}`]);

    const group2 = await upload(group);
    const refusedPut = await put({ referenceImages: [group2] });
    expect(refusedPut.statusCode).toBe(422);
    expect(refusedPut.json().error.code).toBe('reference_several_faces');
    expect(await lab.engine.documents.characters.get(ana.id)).toEqual(ana);
  });

  it('finds the nearest character by id and by uploaded image', async () => {
    cy = await create('Cy', [faces.c]);
    const twin = await create('Ana twin', [await faceVariant(people[0], 'flip')]);

    const byId = await inject({
      method: 'POST',
      url: `/api/characters/${ana.id}/similar`,
      payload: {},
    });
    expect(byId.statusCode, byId.body).toBe(200);
    const answer = byId.json<{
      similar: { id: string; distance: number; looksAlike: boolean }[];
    }>();
    expect(answer.similar.map((s) => s.id)).toEqual([
      twin.id,
      expect.any(String),
      expect.any(String),
    ]);
    expect(answer.similar.map((s) => s.id).sort()).toEqual([twin.id, ben.id, cy.id].sort());
    expect(answer.similar[0].looksAlike).toBe(true);
    expect(answer.similar.slice(1).every((s) => !s.looksAlike)).toBe(true);
    expect(answer.similar.map((s) => s.distance)).toEqual(
      [...answer.similar.map((s) => s.distance)].sort((x, y) => x - y),
    );

    const limited = await inject({
      method: 'POST',
      url: `/api/characters/${ana.id}/similar`,
      payload: { limit: 1 },
    });
    expect(limited.json().similar.map((s: { id: string }) => s.id)).toEqual([twin.id]);

    const bySearch = await searchByImage(await faceVariant(people[1], 'brightness'));
    expect(bySearch.statusCode, bySearch.body).toBe(200);
    const found = bySearch.json<{ similar: { id: string; name: string; looksAlike: boolean }[] }>();
    expect(found.similar[0]).toMatchObject({ id: ben.id, name: 'Ben', looksAlike: true });
    expect(found.similar.filter((s) => s.looksAlike).map((s) => s.id)).toEqual([ben.id]);
  });

  it('embeds a character stored before identities on first search, and forgets deleted ones', async () => {
    const now = new Date().toISOString();
    const legacyImage = await faceVariant(people[2], 'scale');
    const ref = await lab.engine.artifacts.putBytes(legacyImage, 'image/png', {}, 'local');
    const legacy: CharacterRecord = {
      id: 'char_legacy',
      name: 'Old Cy',
      description: '',
      referenceImages: [ref],
      revision: 1,
      ownerId: 'local',
      createdAt: now,
      updatedAt: now,
    };
    await lab.engine.documents.characters.put(legacy);

    const search = await searchByImage(faces.c);
    expect(search.statusCode, search.body).toBe(200);
    const ids = search.json<{ similar: { id: string; looksAlike: boolean }[] }>().similar;
    expect(
      ids
        .filter((s) => s.looksAlike)
        .map((s) => s.id)
        .sort(),
    ).toEqual(['char_legacy', cy.id].sort());
    const embedded = await lab.engine.documents.characters.get('char_legacy');
    expect(embedded?.identity).toMatchObject({ version: 1, references: [{ status: 'face' }] });
    expect(embedded?.revision).toBe(1);

    expect(
      (await inject({ method: 'DELETE', url: '/api/characters/char_legacy' })).statusCode,
    ).toBe(204);
    const means = await lab.engine.vectors.search(MEANS, embedded!.identity!.mean, 50);
    expect(means.map((hit) => hit.id)).not.toContain('char_legacy');
    const after = await searchByImage(faces.c);
    expect(after.json().similar.map((s: { id: string }) => s.id)).not.toContain('char_legacy');
  });

  it('answers bad searches with 4xx codes', async () => {
    const noFace = await searchByImage(plain);
    expect([noFace.statusCode, noFace.json().error.code]).toEqual([422, 'no_face']);
    const several = await searchByImage(group, 'party.jpg');
    expect([several.statusCode, several.json().error.code]).toEqual([422, 'several_faces']);
    expect(several.json().error.details).toEqual({ faces: 3 });

    const json = await inject({ method: 'POST', url: '/api/characters/similar', payload: {} });
    expect([json.statusCode, json.json().error.code]).toEqual([400, 'image_required']);
    const empty = await inject({
      method: 'POST',
      url: '/api/characters/similar',
      payload: form({ limit: '3' }),
    });
    expect([empty.statusCode, empty.json().error.code]).toEqual([400, 'image_required']);
    const two = await inject({
      method: 'POST',
      url: '/api/characters/similar',
      payload: form({}, [
        { field: 'image', name: 'a.png', bytes: faces.a },
        { field: 'image', name: 'b.png', bytes: faces.b },
      ]),
    });
    expect([two.statusCode, two.json().error.code]).toEqual([400, 'too_many_images']);
    const text = await searchByImage(Buffer.from('just some text, not a photo'), 'face.png');
    expect([text.statusCode, text.json().error.code]).toEqual([415, 'unsupported_media_type']);

    const badLimit = await inject({
      method: 'POST',
      url: `/api/characters/${ben.id}/similar`,
      payload: { limit: 0 },
    });
    expect([badLimit.statusCode, badLimit.json().error.code]).toEqual([400, 'invalid_request']);
    const missing = await inject({ method: 'POST', url: '/api/characters/char_nope/similar' });
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'character_not_found']);

    const faceless = await create('Mask', [plain]);
    expect(faceless.identity).toMatchObject({ mean: [], threshold: 0 });
    expect(faceless).not.toHaveProperty('embeddingModel');
    const noIdentity = await inject({
      method: 'POST',
      url: `/api/characters/${faceless.id}/similar`,
    });
    expect([noIdentity.statusCode, noIdentity.json().error.code]).toEqual([
      422,
      'character_no_face',
    ]);
  });
});
