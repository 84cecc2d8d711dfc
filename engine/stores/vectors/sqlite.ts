/**
 * The embedded VectorStore: vectors persisted in SQLite (`<dataDir>/vectors.db`, Float32
 * BLOBs), searched by brute-force cosine similarity over an in-memory copy of a collection.
 * Character collections hold hundreds of vectors, where a scan beats any index. The copy is
 * dropped whenever another process (a worker storing an embedding) commits to the file.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { LabError } from '../../errors';
import type { VectorHit, VectorStore } from '../ports';
import { checkLimit } from '../checks';
import { checkName, checkVector, dimensionMismatch } from './checks';
import { openSqliteDatabase, sqliteHealthProbe, type SqliteMigration } from '../sqlite-database';

const MIGRATIONS: readonly SqliteMigration[] = [
  {
    name: '0001-initial',
    sql: `
      CREATE TABLE vector_collections (name TEXT PRIMARY KEY, dimension INTEGER NOT NULL) STRICT;
      CREATE TABLE vectors (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        vector BLOB NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (collection, id)
      ) STRICT;`,
  },
];

interface IndexedVector {
  id: string;
  /** Scaled to length 1 once, so a search is one dot product per vector. */
  unit: Float32Array;
  payload: Record<string, unknown>;
}

interface LoadedCollection {
  dimension: number;
  vectors: Map<string, IndexedVector>;
}

/** VectorStore on better-sqlite3 with cosine similarity (score 1 = same direction). */
export class SqliteVectorStore implements VectorStore {
  readonly kind = 'sqlite' as const;
  /** The database file. */
  readonly file: string;
  private readonly probeHealth: () => Promise<boolean>;
  private readonly db: Database.Database;
  private readonly loaded = new Map<string, LoadedCollection | null>();
  /** PRAGMA data_version when `loaded` was last known fresh; it moves on others' commits only. */
  private seenDataVersion: number;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'vectors.db');
    this.db = openSqliteDatabase(this.file, MIGRATIONS);
    this.probeHealth = sqliteHealthProbe(this.db, this.file);
    this.seenDataVersion = this.db.pragma('data_version', { simple: true }) as number;
  }

  async upsert(
    collection: string,
    id: string,
    vector: number[],
    payload: Record<string, unknown>,
  ): Promise<void> {
    checkName('collection', collection);
    checkName('id', id);
    const unit = toUnit(vector, 'stored');
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new LabError('invalid_vector_payload', `the payload for "${id}" must be a JSON object`);
    }
    const payloadJson = JSON.stringify(payload);
    this.db
      .transaction(() => {
        const known = this.storedDimension(collection);
        if (known === undefined) {
          this.db
            .prepare('INSERT INTO vector_collections (name, dimension) VALUES (?, ?)')
            .run(collection, vector.length);
        } else if (known !== vector.length) {
          throw dimensionMismatch(collection, known, vector.length);
        }
        this.db
          .prepare(
            `INSERT INTO vectors (collection, id, vector, payload) VALUES (?, ?, ?, ?)
             ON CONFLICT (collection, id) DO UPDATE SET vector = excluded.vector, payload = excluded.payload`,
          )
          .run(collection, id, toBlob(vector), payloadJson);
      })
      .immediate();
    // Our own commits do not move data_version, so keep the in-memory copy in step by hand.
    this.dropIfStale();
    const cached = this.loaded.get(collection);
    if (cached) {
      cached.vectors.set(id, {
        id,
        unit,
        payload: JSON.parse(payloadJson) as Record<string, unknown>,
      });
    } else {
      this.loaded.delete(collection);
    }
  }

  async search(
    collection: string,
    vector: number[],
    limit: number,
    filter?: Record<string, string>,
  ): Promise<VectorHit[]> {
    checkName('collection', collection);
    checkLimit(limit);
    const query = toUnit(vector, 'query');
    const loaded = this.load(collection);
    if (!loaded || limit === 0) return [];
    if (loaded.dimension !== vector.length) {
      throw dimensionMismatch(collection, loaded.dimension, vector.length);
    }
    const filters = Object.entries(filter ?? {});
    const hits: VectorHit[] = [];
    for (const entry of loaded.vectors.values()) {
      if (!filters.every(([key, value]) => entry.payload[key] === value)) continue;
      hits.push({ id: entry.id, score: dot(query, entry.unit), payload: entry.payload });
    }
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits.slice(0, limit).map((hit) => ({ ...hit, payload: structuredClone(hit.payload) }));
  }

  async delete(collection: string, id: string): Promise<void> {
    checkName('collection', collection);
    checkName('id', id);
    this.db.prepare('DELETE FROM vectors WHERE collection = ? AND id = ?').run(collection, id);
    this.dropIfStale();
    this.loaded.get(collection)?.vectors.delete(id);
  }

  /** Throws what is wrong, so health can say it (see sqliteHealthProbe). */
  async health(): Promise<boolean> {
    return this.probeHealth();
  }

  /** Closes the database file; the store is unusable afterwards. */
  async close(): Promise<void> {
    this.db.close();
    this.loaded.clear();
  }

  /** The collection's vectors, from memory unless another process committed since. */
  private load(collection: string): LoadedCollection | null {
    this.dropIfStale();
    const cached = this.loaded.get(collection);
    if (cached !== undefined) return cached;
    const dimension = this.storedDimension(collection);
    const result: LoadedCollection | null =
      dimension === undefined ? null : { dimension, vectors: new Map() };
    if (result) {
      const rows = this.db
        .prepare<[string], { id: string; vector: Buffer; payload: string }>(
          'SELECT id, vector, payload FROM vectors WHERE collection = ?',
        )
        .all(collection);
      for (const row of rows) {
        result.vectors.set(row.id, {
          id: row.id,
          unit: normalise(fromBlob(row.vector)),
          payload: JSON.parse(row.payload) as Record<string, unknown>,
        });
      }
    }
    this.loaded.set(collection, result);
    return result;
  }

  /** Forgets every loaded collection when another connection committed since we looked. */
  private dropIfStale(): void {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.seenDataVersion) {
      this.loaded.clear();
      this.seenDataVersion = version;
    }
  }

  private storedDimension(collection: string): number | undefined {
    return this.db
      .prepare<[string], { dimension: number }>(
        'SELECT dimension FROM vector_collections WHERE name = ?',
      )
      .get(collection)?.dimension;
  }
}

/** Validates a vector and returns it scaled to length 1 (as stored: Float32). */
function toUnit(vector: number[], role: 'stored' | 'query'): Float32Array {
  return normalise(checkVector(vector, role));
}

function normalise(vector: Float32Array): Float32Array {
  const length = Math.sqrt(dot(vector, vector));
  return length === 0 ? vector : vector.map((x) => x / length);
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) sum += a[i] * b[i];
  return sum;
}

function toBlob(vector: number[]): Buffer {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
}

function fromBlob(blob: Buffer): Float32Array {
  // Copy: the Buffer may sit at an offset that is not a multiple of 4.
  return new Float32Array(Uint8Array.from(blob).buffer);
}
