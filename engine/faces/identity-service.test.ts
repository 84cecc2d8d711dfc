/**
 * IdentityService on the embedded stores (SQLite documents and vectors, files) and the real
 * face-api models: lazy identities for characters stored before identities existed (what
 * `ctx.identity` does in the worker), detection cached per image content, concurrent callers
 * sharing one computation, and the descriptors in the vector port.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestNodeContext, type TestNodeContext } from '../testing/node-context';
import { makePng } from '../testing/fakes/media';
import type { ArtifactRef } from '../graph/values';
import type { CharacterRecord } from '../stores/ports';
import { FACE_EMBEDDING_MODEL } from './face-embedder';
import { THRESHOLD_SINGLE } from './identity';
import { faceApiDetector, IdentityService, type FaceDetector } from './identity-service';
import { faceVariant, samplePeople } from './testing/sample-faces';
import { QdrantVectorStore, qdrantPointId } from '../stores/vectors/qdrant';
import { FakeQdrant } from '../stores/vectors/testing/fake-qdrant';

describe('IdentityService and ctx.identity', () => {
  let people: { person: string; face: Buffer }[];
  let plain: Buffer;
  let test: TestNodeContext;
  let detections: number;
  let service: IdentityService;

  beforeAll(async () => {
    people = await samplePeople(2);
    plain = await makePng(200, 120);
  }, 300_000);

  beforeEach(async () => {
    test = await createTestNodeContext();
    detections = 0;
    const real = faceApiDetector();
    const counting: FaceDetector = {
      model: real.model,
      detect: (image) => {
        detections++;
        return real.detect(image);
      },
    };
    service = new IdentityService({
      documents: test.stores.documents,
      vectors: test.stores.vectors,
      blobs: test.stores.blobs,
      detector: counting,
    });
  });

  afterEach(async () => {
    await test.dispose();
  });

  const store = (bytes: Buffer) => test.artifacts.putBytes(bytes, 'image/png', {}, 'local');
  const legacyCharacter = async (refs: ArtifactRef[]): Promise<CharacterRecord> => {
    const now = '2026-01-01T00:00:00.000Z';
    const record: CharacterRecord = {
      id: 'char_old',
      name: 'Old',
      description: '',
      referenceImages: refs,
      revision: 4,
      ownerId: 'local',
      createdAt: now,
      updatedAt: now,
    };
    await test.stores.documents.characters.put(record);
    return record;
  };

  it('computes a missing identity once, stores it with its vectors, and shares concurrent calls', async () => {
    const record = await legacyCharacter([await store(people[0].face), await store(plain)]);
    const [first, second] = await Promise.all([
      service.identityOf(record),
      service.identityOf(record),
    ]);
    expect(first).toBe(second);
    expect(detections).toBe(2);
    expect(first).toMatchObject({
      version: 1,
      model: FACE_EMBEDDING_MODEL,
      threshold: THRESHOLD_SINGLE,
      references: [
        { status: 'face', role: 'identity' },
        { status: 'no-face', role: 'style' },
      ],
    });
    const stored = await test.stores.documents.characters.get(record.id);
    expect(stored).toMatchObject({ identity: first, embeddingModel: FACE_EMBEDDING_MODEL });
    // The rest of the record is untouched: an identity is not an edit.
    expect({ ...stored, identity: undefined, embeddingModel: undefined }).toEqual({
      ...record,
      identity: undefined,
      embeddingModel: undefined,
    });
    const hits = await test.stores.vectors.search(service.meansCollection, first!.mean, 5);
    expect(hits.map((hit) => hit.id)).toEqual([record.id]);

    // Stored now: no detection on the next use, even from another service instance.
    const again = await new IdentityService({
      documents: test.stores.documents,
      vectors: test.stores.vectors,
      blobs: test.stores.blobs,
      detector: { model: FACE_EMBEDDING_MODEL, detect: () => Promise.reject(new Error('no')) },
    }).identityOf(record);
    expect(again).toEqual(first);
  });

  it('recomputes a stale identity with the next version, detecting only new images', async () => {
    const a = await store(people[0].face);
    const record = await legacyCharacter([a]);
    const v1 = await service.identityOf(record);
    const variant = await store(await faceVariant(people[0].person, 'crop'));
    // Changed by something that did not recompute the identity: it is stale now.
    const stored = await test.stores.documents.characters.get(record.id);
    const edited = { ...stored!, referenceImages: [a, variant] };
    await test.stores.documents.characters.put(edited);
    detections = 0;
    const v2 = await service.identityOf(edited);
    expect(detections).toBe(1);
    expect(v2?.version).toBe(v1!.version + 1);
    expect(v2?.references.map((ref) => ref.artifactId)).toEqual([a.id, variant.id]);
    const refs = await test.stores.vectors.search(service.referencesCollection, v2!.mean, 10);
    expect(refs.map((hit) => hit.id).sort()).toEqual(
      [`${record.id}/${a.id}`, `${record.id}/${variant.id}`].sort(),
    );
  });

  it('ctx.identity: null without a face; a value differing from the stored character is not stored', async () => {
    const { ctx } = test;
    const record = await legacyCharacter([await store(plain)]);
    expect(await ctx.identity(record)).toBeNull();
    expect((await test.stores.documents.characters.get(record.id))?.identity).toMatchObject({
      mean: [],
      references: [{ status: 'no-face', role: 'style' }],
    });

    // The graph carries a character whose references differ from the stored one (edited
    // since the loader ran): its identity is computed for what the graph carries, not stored.
    const other = await store(people[1].face);
    const fromGraph = { ...record, referenceImages: [other] };
    const identity = await ctx.identity(fromGraph);
    expect(identity?.references).toEqual([
      { artifactId: other.id, status: 'face', faces: 1, role: 'identity' },
    ]);
    const stored = await test.stores.documents.characters.get(record.id);
    expect(stored?.identity?.references.map((ref) => ref.artifactId)).toEqual([
      record.referenceImages[0].id,
    ]);
  });

  it('keeps identities in Qdrant too: string ids become UUIDv5 points, owners filter the search', async () => {
    const fake = await FakeQdrant.start();
    const qdrant = await QdrantVectorStore.open(fake.url);
    try {
      const onQdrant = new IdentityService({
        documents: test.stores.documents,
        vectors: qdrant,
        blobs: test.stores.blobs,
      });
      const now = '2026-01-01T00:00:00.000Z';
      const records: CharacterRecord[] = [];
      for (const [i, owner] of ['local', 'local', 'someone-else'].entries()) {
        const record: CharacterRecord = {
          id: `char_q${i}`,
          name: `Q${i}`,
          description: '',
          referenceImages: [await store(people[i % 2].face)],
          revision: 1,
          ownerId: owner,
          createdAt: now,
          updatedAt: now,
        };
        await test.stores.documents.characters.put(record);
        records.push(record);
        await onQdrant.ensure(record);
      }
      const query = (await onQdrant.detect(records[0].referenceImages[0].id)).descriptor!;
      const hits = await onQdrant.similar(query, 'local', { limit: 5 });
      // The other owner's character shows the same face but is not theirs to see.
      expect(hits.map((hit) => [hit.id, hit.looksAlike])).toEqual([
        ['char_q0', true],
        ['char_q1', false],
      ]);
      expect(hits[0].distance).toBe(0);
      const upserts = fake.requestsTo('PUT', /character-means-face-api-resnet34-128\/points/);
      expect(JSON.stringify(upserts.map((r) => r.json))).toContain(qdrantPointId('char_q0'));

      await onQdrant.unindex((await test.stores.documents.characters.get('char_q1'))!);
      expect((await onQdrant.similar(query, 'local', { limit: 5 })).map((hit) => hit.id)).toEqual([
        'char_q0',
      ]);
    } finally {
      await qdrant.close();
      await fake.close();
    }
  });
});
