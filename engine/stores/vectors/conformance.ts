/**
 * The VectorStore conformance suite: what every adapter (SQLite, Qdrant) must do the same way.
 * Scores are cosine similarity: 1 for the same direction, 0 orthogonal, -1 opposite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VectorStore } from '../ports';

/** One empty storage location (a temp dir, a fresh Qdrant prefix) for one test. */
export interface VectorStoreHarness {
  /** Opens a store instance; every instance of one harness sees the same vectors. */
  open(): Promise<VectorStore>;
  /** Releases an instance (closes its connection), as a process exit would. */
  close(store: VectorStore): Promise<void>;
  /** Removes everything the harness created; open instances are closed first. */
  cleanup(): Promise<void>;
}

/** Registers the VectorStore conformance tests for one adapter. */
export function describeVectorStoreConformance(
  name: string,
  factory: () => Promise<VectorStoreHarness>,
): void {
  describe(`VectorStore conformance: ${name}`, () => {
    let harness: VectorStoreHarness;
    let opened: VectorStore[] = [];
    let store: VectorStore;

    async function open(): Promise<VectorStore> {
      const instance = await harness.open();
      opened.push(instance);
      return instance;
    }

    beforeEach(async () => {
      harness = await factory();
      store = await open();
    });

    afterEach(async () => {
      for (const instance of opened) await harness.close(instance);
      opened = [];
      await harness.cleanup();
    });

    async function seed(target = store): Promise<void> {
      await target.upsert('faces', 'east', [1, 0, 0], { name: 'East', owner: 'alice' });
      await target.upsert('faces', 'north-east', [1, 1, 0], { name: 'NE', owner: 'bob' });
      await target.upsert('faces', 'north', [0, 1, 0], { name: 'North', owner: 'alice' });
      await target.upsert('faces', 'west', [-1, 0, 0], { name: 'West', owner: 'alice' });
    }

    it('reports healthy', async () => {
      expect(await store.health()).toBe(true);
    });

    it('orders hits by cosine similarity, ignoring length', async () => {
      await seed();
      const hits = await store.search('faces', [10, 0, 0], 10);
      expect(hits.map((h) => h.id)).toEqual(['east', 'north-east', 'north', 'west']);
      expect(hits[0].score).toBeCloseTo(1, 5);
      expect(hits[1].score).toBeCloseTo(Math.SQRT1_2, 5);
      expect(hits[2].score).toBeCloseTo(0, 5);
      expect(hits[3].score).toBeCloseTo(-1, 5);
      expect(hits[0].payload).toEqual({ name: 'East', owner: 'alice' });
    });

    it('returns at most limit hits', async () => {
      await seed();
      expect((await store.search('faces', [0, 1, 0], 2)).map((h) => h.id)).toEqual([
        'north',
        'north-east',
      ]);
      expect(await store.search('faces', [0, 1, 0], 0)).toEqual([]);
    });

    it('filters on payload equality', async () => {
      await seed();
      const alice = await store.search('faces', [1, 1, 0], 10, { owner: 'alice' });
      expect(alice.map((h) => h.id).sort()).toEqual(['east', 'north', 'west']);
      expect(
        (await store.search('faces', [1, 1, 0], 10, { owner: 'alice', name: 'North' })).map(
          (h) => h.id,
        ),
      ).toEqual(['north']);
      expect(await store.search('faces', [1, 1, 0], 10, { owner: 'carol' })).toEqual([]);
      expect(await store.search('faces', [1, 1, 0], 10, { missing: 'x' })).toEqual([]);
    });

    it('replaces a vector and its payload on upsert', async () => {
      await seed();
      await store.upsert('faces', 'west', [0, 0, 1], { name: 'Up', owner: 'carol' });
      const hits = await store.search('faces', [0, 0, 1], 1);
      expect(hits).toEqual([
        {
          id: 'west',
          score: expect.closeTo(1, 5) as unknown,
          payload: { name: 'Up', owner: 'carol' },
        },
      ]);
      expect(await store.search('faces', [0, 0, 1], 10, { owner: 'alice' })).toHaveLength(2);
    });

    it('deletes by id and ignores unknown ids', async () => {
      await seed();
      await store.delete('faces', 'east');
      await store.delete('faces', 'never-stored');
      await store.delete('no-such-collection', 'east');
      expect((await store.search('faces', [1, 0, 0], 10)).map((h) => h.id)).not.toContain('east');
      expect(await store.search('faces', [1, 0, 0], 10)).toHaveLength(3);
    });

    it('keeps collections apart, each with its own dimension', async () => {
      await seed();
      await store.upsert('voices', 'east', [0.5, 0.5], { kind: 'voice' });
      expect((await store.search('voices', [1, 1], 10)).map((h) => h.payload)).toEqual([
        { kind: 'voice' },
      ]);
      expect(await store.search('faces', [1, 0, 0], 10)).toHaveLength(4);
      expect(await store.search('unknown', [1, 0, 0], 10)).toEqual([]);
    });

    it('rejects a vector of the wrong dimension with a clear error', async () => {
      await seed();
      await expect(store.upsert('faces', 'flat', [1, 0], {})).rejects.toMatchObject({
        code: 'vector_dimension_mismatch',
        message: expect.stringMatching(/3-dimensional.*got 2/) as unknown,
      });
      await expect(store.search('faces', [1, 0, 0, 0], 5)).rejects.toMatchObject({
        code: 'vector_dimension_mismatch',
      });
      expect(await store.search('faces', [1, 0, 0], 10)).toHaveLength(4);
    });

    it('rejects vectors that are empty, zero or not finite', async () => {
      for (const vector of [[], [0, 0, 0], [1, Number.NaN, 0], [1, Infinity, 0]]) {
        await expect(store.upsert('faces', 'bad', vector, {})).rejects.toMatchObject({
          code: 'invalid_vector',
        });
      }
      await expect(store.search('faces', [0, 0, 0], 5)).rejects.toMatchObject({
        code: 'invalid_vector',
      });
    });

    it('shows one instance the writes of another', async () => {
      const other = await open();
      // Load the collection into the first instance before the second one changes it.
      await seed();
      expect(await store.search('faces', [1, 0, 0], 10)).toHaveLength(4);
      await other.upsert('faces', 'south', [0, -1, 0], { name: 'South', owner: 'bob' });
      await other.delete('faces', 'east');
      const ids = (await store.search('faces', [0, -1, 0], 10)).map((h) => h.id);
      expect(ids[0]).toBe('south');
      expect(ids).not.toContain('east');
    });

    it('keeps vectors across close and reopen', async () => {
      await seed();
      await harness.close(store);
      opened = opened.filter((s) => s !== store);
      store = await open();
      const hits = await store.search('faces', [1, 1, 0], 10, { owner: 'bob' });
      expect(hits).toEqual([
        {
          id: 'north-east',
          score: expect.closeTo(1, 5) as unknown,
          payload: { name: 'NE', owner: 'bob' },
        },
      ]);
      await expect(store.upsert('faces', 'flat', [1, 0], {})).rejects.toMatchObject({
        code: 'vector_dimension_mismatch',
      });
    });
  });
}
