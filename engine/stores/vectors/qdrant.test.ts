import { QdrantClient } from '@qdrant/js-client-rest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeVectorStoreConformance } from './conformance';
import { POINT_ID_NAMESPACE, QdrantVectorStore, payloadPath, qdrantPointId } from './qdrant';
import { FakeQdrant } from './testing/fake-qdrant';

describeVectorStoreConformance('qdrant (fake)', async () => {
  const fake = await FakeQdrant.start();
  return {
    open: () => QdrantVectorStore.open(fake.url),
    close: (store) => (store as QdrantVectorStore).close(),
    cleanup: () => fake.close(),
  };
});

const liveUrl = process.env.QDRANT_URL;
/** Unique per run, so parallel runs and leftovers of a crashed run never meet. */
const livePrefix = `charlab_test_${process.pid}_${Date.now().toString(36)}_`;
let liveHarnesses = 0;

describe.runIf(liveUrl)('against the Qdrant at QDRANT_URL', () => {
  describeVectorStoreConformance('qdrant (live)', async () => {
    const url = liveUrl as string;
    const prefix = `${livePrefix}${++liveHarnesses}_`;
    return {
      open: () => QdrantVectorStore.open(url, { collectionPrefix: prefix }),
      close: (store) => (store as QdrantVectorStore).close(),
      cleanup: async () => {
        const client = new QdrantClient({ url, checkCompatibility: false });
        const { collections } = await client.getCollections();
        for (const { name } of collections) {
          if (name.startsWith(prefix)) await client.deleteCollection(name);
        }
      },
    };
  });
});

describe('QdrantVectorStore', () => {
  let fake: FakeQdrant;
  let store: QdrantVectorStore;
  /** The official client, to look at the fake the way an operator would. */
  let qdrant: QdrantClient;

  beforeEach(async () => {
    fake = await FakeQdrant.start();
    store = await QdrantVectorStore.open(fake.url);
    qdrant = new QdrantClient({ url: fake.url, checkCompatibility: false });
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await store.close();
    await fake.close();
  });

  function queries(): unknown[] {
    return fake.requestsTo('POST', /\/points\/query$/).map((r) => r.json);
  }

  it('maps string ids to UUIDv5 point ids and returns the original ids', async () => {
    await store.upsert('faces', 'char_abc', [1, 0, 0], { ownerId: 'alice', name: 'Abc' });
    const [point] = fake.points('charlab_faces') ?? [];
    expect(point).toMatchObject({
      id: '19187946-a3b2-5d95-9b81-0bc6e00966fa',
      payload: { id: 'char_abc', data: { ownerId: 'alice', name: 'Abc' } },
    });
    expect(await store.search('faces', [1, 0, 0], 5)).toEqual([
      {
        id: 'char_abc',
        score: expect.closeTo(1, 5) as unknown,
        payload: { ownerId: 'alice', name: 'Abc' },
      },
    ]);
  });

  it('computes point ids as RFC 9562 UUIDv5', () => {
    // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
    expect(qdrantPointId('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    expect(POINT_ID_NAMESPACE).toBe('7c25ada6-d7b9-407a-a657-e2a1a1f8e2fc');
    expect(qdrantPointId('char_abc')).toBe(qdrantPointId('char_abc'));
    expect(qdrantPointId('char_abc')).not.toBe(qdrantPointId('char_abd'));
  });

  it('creates each collection with the first vector size, Cosine and an owner index', async () => {
    await store.upsert('faces', 'a', [1, 2, 3, 4], { ownerId: 'alice' });
    const info = await qdrant.getCollection('charlab_faces');
    expect(info.config.params.vectors).toEqual({ size: 4, distance: 'Cosine' });
    expect(info.payload_schema).toEqual({ 'data.ownerId': { data_type: 'keyword', points: 1 } });
    await store.upsert('faces', 'b', [4, 3, 2, 1], { ownerId: 'bob' });
    // Created and indexed once, not on every upsert.
    expect(fake.requestsTo('PUT', '/collections/charlab_faces')).toHaveLength(1);
    expect(fake.requestsTo('PUT', '/collections/charlab_faces/index')).toHaveLength(1);
    expect(fake.requestsTo('PUT', '/collections/charlab_faces/points')[0].query.get('wait')).toBe(
      'true',
    );
  });

  it('filters by owner with exact-match must conditions', async () => {
    await store.upsert('faces', 'a1', [1, 0], { ownerId: 'alice' });
    await store.upsert('faces', 'a2', [0, 1], { ownerId: 'alice' });
    await store.upsert('faces', 'b1', [1, 0.1], { ownerId: 'bob' });
    const hits = await store.search('faces', [1, 0], 10, { ownerId: 'alice' });
    expect(hits.map((h) => h.id)).toEqual(['a1', 'a2']);
    expect(queries().at(-1)).toMatchObject({
      query: [1, 0],
      filter: { must: [{ key: 'data.ownerId', match: { value: 'alice' } }] },
      limit: 10,
      with_payload: true,
    });
  });

  it('quotes payload keys that Qdrant paths would split', async () => {
    expect(payloadPath('ownerId')).toBe('data.ownerId');
    expect(payloadPath('style.tone')).toBe('data."style.tone"');
    await store.upsert('faces', 'a', [1, 0], { 'style.tone': 'warm', style: { tone: 'cold' } });
    await store.upsert('faces', 'b', [0, 1], { style: { tone: 'warm' } });
    const hits = await store.search('faces', [1, 0], 10, { 'style.tone': 'warm' });
    expect(hits.map((h) => h.id)).toEqual(['a']);
    await expect(store.search('faces', [1, 0], 10, { 'say "hi"': 'x' })).rejects.toMatchObject({
      code: 'invalid_query',
    });
  });

  it('refuses a vector of another size with a clear error, without sending it', async () => {
    await store.upsert('faces', 'a', [1, 0, 0], {});
    const upserts = fake.requestsTo('PUT', '/collections/charlab_faces/points').length;
    await expect(store.upsert('faces', 'b', [1, 0], {})).rejects.toMatchObject({
      code: 'vector_dimension_mismatch',
      status: 400,
      message: expect.stringMatching(/collection "faces" holds 3-dimensional vectors but got 2/),
    });
    expect(fake.requestsTo('PUT', '/collections/charlab_faces/points')).toHaveLength(upserts);
  });

  it("maps Qdrant's own dimension error when the collection changed behind its back", async () => {
    await store.upsert('faces', 'a', [1, 0, 0], {});
    expect(await store.search('faces', [1, 0, 0], 1)).toHaveLength(1);
    await qdrant.deleteCollection('charlab_faces');
    await qdrant.createCollection('charlab_faces', { vectors: { size: 2, distance: 'Cosine' } });
    await expect(store.search('faces', [1, 0, 0], 5)).rejects.toMatchObject({
      code: 'vector_dimension_mismatch',
      details: { expected: 2, got: 3 },
    });
    // It has forgotten the old size: a 2-dimensional write now goes through.
    await store.upsert('faces', 'b', [0, 1], {});
    expect((await store.search('faces', [0, 1], 5)).map((h) => h.id)).toEqual(['b']);
  });

  it('creates a collection again when it was deleted behind its back', async () => {
    await store.upsert('faces', 'a', [1, 0], {});
    await qdrant.deleteCollection('charlab_faces');
    expect(await store.search('faces', [1, 0], 5)).toEqual([]);
    await store.upsert('faces', 'b', [1, 0], {});
    expect((await store.search('faces', [1, 0], 5)).map((h) => h.id)).toEqual(['b']);
  });

  it('keeps data for a new store instance against the same server', async () => {
    await store.upsert('faces', 'char_1', [0.2, 0.9], { ownerId: 'alice', name: 'Ada' });
    await store.close();
    store = await QdrantVectorStore.open(fake.url);
    expect(await store.search('faces', [0.2, 0.9], 1, { ownerId: 'alice' })).toEqual([
      {
        id: 'char_1',
        score: expect.closeTo(1, 5) as unknown,
        payload: { ownerId: 'alice', name: 'Ada' },
      },
    ]);
  });

  it('searches an unknown collection without creating it', async () => {
    expect(await store.search('nothing-here', [1, 0], 5)).toEqual([]);
    await store.delete('nothing-here', 'a');
    expect(fake.collectionNames()).toEqual([]);
  });

  it('lets two instances create the same collection at once', async () => {
    const other = await QdrantVectorStore.open(fake.url);
    await Promise.all([
      store.upsert('faces', 'a', [1, 0], {}),
      other.upsert('faces', 'b', [0, 1], {}),
    ]);
    expect((await store.search('faces', [1, 1], 5)).map((h) => h.id).sort()).toEqual(['a', 'b']);
  });

  it('gives names Qdrant refuses a hashed collection of their own', async () => {
    expect(store.qdrantCollection('faces')).toBe('charlab_faces');
    const odd = 'faces/v2: ü?';
    expect(store.qdrantCollection(odd)).toMatch(/^charlab_h\.[0-9a-f]{40}$/);
    await store.upsert(odd, 'a', [1, 0], { kind: 'odd' });
    await store.upsert('faces', 'a', [0, 1, 0], { kind: 'plain' });
    expect(await store.search(odd, [1, 0], 5)).toMatchObject([
      { id: 'a', payload: { kind: 'odd' } },
    ]);
    const prefixed = await QdrantVectorStore.open(fake.url, { collectionPrefix: 'lab2_' });
    expect(await prefixed.search('faces', [0, 1, 0], 5)).toEqual([]);
  });

  it('refuses a collection that is not one Cosine vector', async () => {
    await qdrant.createCollection('charlab_dots', { vectors: { size: 2, distance: 'Dot' } });
    await expect(store.upsert('dots', 'a', [1, 0], {})).rejects.toMatchObject({
      code: 'vector_collection_incompatible',
    });
    await expect(store.search('dots', [1, 0], 5)).rejects.toMatchObject({
      code: 'vector_collection_incompatible',
    });
  });

  it("reports Qdrant's errors with their message, and an unreachable server", async () => {
    fake.failNext({
      status: 500,
      error: 'Service internal error: No space left on device',
      path: /\/points$/,
    });
    await expect(store.upsert('faces', 'a', [1, 0], {})).rejects.toMatchObject({
      code: 'vector_store_failed',
      status: 502,
      message: expect.stringContaining('No space left on device') as unknown,
    });
    const closed = await FakeQdrant.start();
    const url = closed.url;
    await closed.close();
    await expect(QdrantVectorStore.open(url)).rejects.toMatchObject({
      code: 'vector_store_unavailable',
      status: 503,
      message: expect.stringContaining('check QDRANT_URL') as unknown,
    });
  });

  it('sends the API key, and reports a refused one', async () => {
    // The client warns that the key travels over plain http, which is the fake's only way.
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const secured = await FakeQdrant.start({ apiKey: 'test-key' });
    try {
      await expect(QdrantVectorStore.open(secured.url)).rejects.toMatchObject({
        code: 'vector_store_unauthorized',
      });
      const keyed = await QdrantVectorStore.open(secured.url, { apiKey: 'test-key' });
      await keyed.upsert('faces', 'a', [1, 0], {});
      expect(await keyed.health()).toBe(true);
      expect(secured.requests.at(-1)?.headers['api-key']).toBe('test-key');
    } finally {
      await secured.close();
    }
  });

  it('reports unhealthy once the server is gone', async () => {
    expect(await store.health()).toBe(true);
    await fake.close();
    expect(await store.health()).toBe(false);
    fake = await FakeQdrant.start();
  });
});

describe('FakeQdrant', () => {
  let fake: FakeQdrant;
  let qdrant: QdrantClient;

  beforeEach(async () => {
    fake = await FakeQdrant.start();
    qdrant = new QdrantClient({ url: fake.url, checkCompatibility: false });
    await qdrant.createCollection('faces', { vectors: { size: 2, distance: 'Cosine' } });
  });

  afterEach(() => fake.close());

  /** The status and Qdrant error text of a request the client saw refused. */
  async function refusal(request: Promise<unknown>): Promise<{ status: number; error: string }> {
    const error = (await request.then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: unknown) => e,
    )) as { status: number; data: { status: { error: string } } };
    return { status: error.status, error: error.data.status.error };
  }

  it('refuses what the published schema refuses', async () => {
    expect(
      await refusal(qdrant.upsert('faces', { points: [{ id: 1, payload: {} }] as never })),
    ).toEqual({
      status: 400,
      error: 'Format error in JSON body: points[0]: missing field `vector`',
    });
    expect(await refusal(qdrant.search('faces', { limit: 3 } as never))).toEqual({
      status: 400,
      error: 'Format error in JSON body: missing field `vector`',
    });
    expect(
      await refusal(qdrant.upsert('faces', { points: [{ id: 'char_abc', vector: [1, 0] }] })),
    ).toMatchObject({ status: 400, error: expect.stringContaining('is not a valid point ID') });
    expect(await refusal(qdrant.search('faces', { vector: [1, 0], limit: 0 }))).toEqual({
      status: 422,
      error: 'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]',
    });
    expect(
      await refusal(
        qdrant.createCollection('bad', { vectors: { size: 2, distance: 'Cosinus' as never } }),
      ),
    ).toMatchObject({ status: 400, error: expect.stringContaining('unknown variant `Cosinus`') });
  });

  it("answers Qdrant's not-found, conflict and dimension errors", async () => {
    expect(await refusal(qdrant.getCollection('nope'))).toEqual({
      status: 404,
      error: "Not found: Collection `nope` doesn't exist!",
    });
    expect(
      await refusal(qdrant.createCollection('faces', { vectors: { size: 2, distance: 'Cosine' } })),
    ).toEqual({ status: 409, error: 'Wrong input: Collection `faces` already exists!' });
    expect(
      await refusal(qdrant.upsert('faces', { points: [{ id: 1, vector: [1, 0, 0] }] })),
    ).toEqual({
      status: 400,
      error: 'Wrong input: Vector dimension error: expected dim: 2, got 3',
    });
    expect(await qdrant.collectionExists('nope')).toEqual({ exists: false });
    expect(await qdrant.deleteCollection('nope')).toBe(false);
  });

  it('searches by real cosine similarity, with filters, both by query and search', async () => {
    await qdrant.upsert('faces', {
      wait: true,
      points: [
        { id: 1, vector: [3, 0], payload: { tags: ['hero', 'red'] } },
        { id: 2, vector: [1, 1], payload: { tags: ['villain'] } },
        { id: 3, vector: [0, -2], payload: { tags: 'hero' } },
      ],
    });
    const { points } = await qdrant.query('faces', { query: [1, 0], with_payload: true });
    expect(points.map((p) => [p.id, Number(p.score.toFixed(5))])).toEqual([
      [1, 1],
      [2, 0.70711],
      [3, 0],
    ]);
    const heroes = await qdrant.search('faces', {
      vector: [0, 1],
      limit: 5,
      filter: { must: [{ key: 'tags', match: { value: 'hero' } }] },
      with_payload: false,
    });
    expect(heroes.map((p) => p.id)).toEqual([1, 3]);
    expect(heroes[0].payload).toBeNull();
    const notVillains = await qdrant.query('faces', {
      query: { nearest: [1, 0] },
      filter: { must_not: [{ key: 'tags', match: { any: ['villain'] } }], should: [] },
    });
    expect(notVillains.points.map((p) => p.id)).toEqual([1, 3]);
    await qdrant.delete('faces', { wait: true, filter: { must: [{ has_id: [1, 2] }] } });
    expect((await qdrant.query('faces', { query: [1, 0] })).points.map((p) => p.id)).toEqual([3]);
  });

  it('says plainly what it does not implement', async () => {
    expect(
      await refusal(qdrant.query('faces', { query: { recommend: { positive: [1] } } })),
    ).toMatchObject({ status: 400, error: expect.stringMatching(/^fake Qdrant: /) });
  });
});
