/**
 * The service VectorStore on Qdrant, through `@qdrant/js-client-rest` (REST API). Chosen by
 * QDRANT_URL; behaves like the SQLite adapter for everything the conformance suite checks.
 *
 * - A port collection `faces` is the Qdrant collection `<prefix>faces` (prefix `charlab_` by
 *   default), created on first upsert with the first vector's size and Cosine distance, plus a
 *   keyword payload index per `indexedFields` (default `ownerId`).
 * - Qdrant point ids must be unsigned integers or UUIDs; ours are strings like `char_abc`. A point's
 *   id is the UUIDv5 of our id (see `qdrantPointId`), and its payload is `{ id, data }`: our id
 *   and our payload, nested so that no payload key can collide with the id.
 * - Scores need no conversion. Qdrant's Cosine normalises stored and query vectors and scores by
 *   their dot product: cosine similarity in [-1, 1], higher first, exactly what sqlite.ts returns.
 *   Below Qdrant's `full_scan_threshold` (character collections, hundreds of vectors) the search
 *   is an exact scan, so the ordering is the same too; ties are broken by id, as in sqlite.ts.
 * - One known difference: a filter on a field holding an array matches when any element equals
 *   the value (Qdrant's `match`); sqlite.ts needs the field itself to equal it.
 */
import { createHash } from 'node:crypto';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { LabError } from '../../errors';
import type { VectorHit, VectorStore } from '../ports';
import { checkLimit } from '../checks';
import { checkName, checkVector, dimensionMismatch } from './checks';

/** The UUID namespace of Character Lab's point ids (UUIDv5, RFC 9562 §5.5). Never change it. */
export const POINT_ID_NAMESPACE = '7c25ada6-d7b9-407a-a657-e2a1a1f8e2fc';

/** Qdrant payload keys: our id and our payload, nested under `data`. */
const ID_KEY = 'id';
const DATA_KEY = 'data';

const SAFE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface QdrantVectorStoreOptions {
  /** Sent as the `api-key` header (Qdrant Cloud, or a server with `service.api_key`). */
  apiKey?: string;
  /** Put before every collection name, so one Qdrant can serve several labs or test runs. */
  collectionPrefix?: string;
  /** Payload fields that get a keyword index in every collection (default `ownerId`). */
  indexedFields?: readonly string[];
  /** Per-request timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** VectorStore on a Qdrant server, cosine similarity (score 1 = same direction). */
export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant' as const;
  readonly url: string;
  readonly collectionPrefix: string;
  private readonly client: QdrantClient;
  private readonly indexedFields: readonly string[];
  /** The vector size of each collection seen to exist. Sizes never change while it exists. */
  private readonly dimensions = new Map<string, number>();
  /** Collections made ready for writes (created, checked, indexed) by this instance. */
  private readonly writable = new Map<string, Promise<number>>();

  private constructor(url: string, options: QdrantVectorStoreOptions) {
    const prefix = options.collectionPrefix ?? 'charlab_';
    if (!/^[A-Za-z0-9_-]{0,64}$/.test(prefix)) {
      throw new LabError(
        'invalid_config',
        `the Qdrant collection prefix "${prefix}" may hold only letters, digits, "_" and "-" (at most 64)`,
        500,
      );
    }
    this.url = url;
    this.collectionPrefix = prefix;
    this.indexedFields = options.indexedFields ?? ['ownerId'];
    for (const field of this.indexedFields) payloadPath(field);
    try {
      this.client = new QdrantClient({
        url,
        apiKey: options.apiKey,
        timeout: options.timeoutMs ?? 30_000,
        // The check runs as an unawaited request that only warns; open() checks for real.
        checkCompatibility: false,
      });
    } catch (error) {
      throw new LabError(
        'invalid_config',
        `QDRANT_URL "${url}" is not usable: ${(error as Error).message}`,
        500,
      );
    }
  }

  /**
   * Connects to Qdrant at `url` (e.g. `http://127.0.0.1:6333`; a URL without a port gets the
   * client's default 6333) and checks that it answers, so a wrong QDRANT_URL stops the start.
   */
  static async open(
    url: string,
    options: QdrantVectorStoreOptions = {},
  ): Promise<QdrantVectorStore> {
    const store = new QdrantVectorStore(url, options);
    await store.call('list collections', undefined, () => store.client.getCollections());
    return store;
  }

  /** The Qdrant collection that holds a port collection. */
  qdrantCollection(collection: string): string {
    if (SAFE_NAME.test(collection)) return this.collectionPrefix + collection;
    // Names Qdrant would refuse (or that are long) go by hash; the "." keeps them apart from
    // plain names, which never contain one.
    const digest = createHash('sha256').update(collection).digest('hex').slice(0, 40);
    return `${this.collectionPrefix}h.${digest}`;
  }

  async upsert(
    collection: string,
    id: string,
    vector: number[],
    payload: Record<string, unknown>,
  ): Promise<void> {
    checkName('collection', collection);
    checkName('id', id);
    checkVector(vector, 'stored');
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new LabError('invalid_vector_payload', `the payload for "${id}" must be a JSON object`);
    }
    const point = {
      id: qdrantPointId(id),
      vector,
      payload: { [ID_KEY]: id, [DATA_KEY]: JSON.parse(JSON.stringify(payload)) as unknown },
    };
    for (let attempt = 1; ; attempt += 1) {
      let dimension = await this.prepareForWrites(collection, vector.length);
      if (dimension !== vector.length) {
        // Maybe recreated with another size since we looked: ask again before refusing.
        this.forget(collection);
        dimension = await this.prepareForWrites(collection, vector.length);
      }
      if (dimension !== vector.length) {
        throw dimensionMismatch(collection, dimension, vector.length);
      }
      try {
        await this.call('store a vector', collection, () =>
          this.client.upsert(this.qdrantCollection(collection), { wait: true, points: [point] }),
        );
        return;
      } catch (error) {
        // Deleted behind our back (an operator, a test cleanup): create it again, once.
        if (!isMissingCollection(error) || attempt > 1) throw error;
        this.forget(collection);
      }
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
    checkVector(vector, 'query');
    const must = Object.entries(filter ?? {}).map(([key, value]) => matchCondition(key, value));
    let dimension = await this.knownDimension(collection);
    if (dimension !== undefined && dimension !== vector.length) {
      this.forget(collection);
      dimension = await this.knownDimension(collection);
    }
    if (dimension === undefined || limit === 0) return [];
    if (dimension !== vector.length) {
      throw dimensionMismatch(collection, dimension, vector.length);
    }
    let points: Schemas['ScoredPoint'][];
    try {
      ({ points } = await this.call('search', collection, () =>
        this.client.query(this.qdrantCollection(collection), {
          query: vector,
          ...(must.length > 0 ? { filter: { must } } : {}),
          limit,
          with_payload: true,
          with_vector: false,
        }),
      ));
    } catch (error) {
      if (!isMissingCollection(error)) throw error;
      this.forget(collection);
      return [];
    }
    const hits = points.map((point) => toHit(point));
    hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return hits;
  }

  async delete(collection: string, id: string): Promise<void> {
    checkName('collection', collection);
    checkName('id', id);
    try {
      // Deleting an id that was never stored is no error in Qdrant either.
      await this.call('delete a vector', collection, () =>
        this.client.delete(this.qdrantCollection(collection), {
          wait: true,
          points: [qdrantPointId(id)],
        }),
      );
    } catch (error) {
      if (!isMissingCollection(error)) throw error;
      this.forget(collection);
    }
  }

  async health(): Promise<boolean> {
    try {
      // Listing collections needs the API key, so a wrong key reports unhealthy too.
      await this.client.getCollections();
      return true;
    } catch {
      return false;
    }
  }

  /** Forgets what this instance learnt about collections; Qdrant's HTTP client holds nothing. */
  async close(): Promise<void> {
    this.dimensions.clear();
    this.writable.clear();
  }

  /** The collection's vector size, or undefined when it does not exist. */
  private async knownDimension(collection: string): Promise<number | undefined> {
    const known = this.dimensions.get(collection);
    if (known !== undefined) return known;
    const info = await this.collectionInfo(collection);
    if (!info) return undefined;
    const dimension = compatibleDimension(collection, this.qdrantCollection(collection), info);
    this.dimensions.set(collection, dimension);
    return dimension;
  }

  /** Creates the collection (size from the first vector) and its payload indexes if missing. */
  private prepareForWrites(collection: string, size: number): Promise<number> {
    let ready = this.writable.get(collection);
    if (!ready) {
      ready = this.createAndIndex(collection, size);
      this.writable.set(collection, ready);
      const attempt = ready;
      // A failed attempt is not remembered, so the next write tries again.
      attempt.catch(() => {
        if (this.writable.get(collection) === attempt) this.writable.delete(collection);
      });
    }
    return ready;
  }

  private async createAndIndex(collection: string, size: number): Promise<number> {
    const name = this.qdrantCollection(collection);
    let info = await this.collectionInfo(collection);
    if (!info) {
      try {
        await this.call('create the collection', collection, () =>
          this.client.createCollection(name, { vectors: { size, distance: 'Cosine' } }),
        );
      } catch (error) {
        // 409: another process created it first, which is as good.
        if (!(error instanceof LabError && (error.details as QdrantErrorDetails)?.status === 409)) {
          throw error;
        }
      }
      info = await this.collectionInfo(collection);
      if (!info) {
        throw new LabError(
          'vector_store_failed',
          `Qdrant collection "${name}" vanished right after it was created; retry the request`,
          502,
        );
      }
    }
    const dimension = compatibleDimension(collection, name, info);
    for (const field of this.indexedFields) {
      const path = payloadPath(field);
      if (info.payload_schema[path]) continue;
      await this.call('index a payload field', collection, () =>
        this.client.createPayloadIndex(name, {
          field_name: path,
          field_schema: 'keyword',
          wait: true,
        }),
      );
    }
    this.dimensions.set(collection, dimension);
    return dimension;
  }

  private async collectionInfo(collection: string): Promise<Schemas['CollectionInfo'] | null> {
    try {
      return await this.call('read the collection', collection, () =>
        this.client.getCollection(this.qdrantCollection(collection)),
      );
    } catch (error) {
      if (isMissingCollection(error)) return null;
      throw error;
    }
  }

  private forget(collection: string): void {
    this.dimensions.delete(collection);
    this.writable.delete(collection);
  }

  /** Runs one client call and turns its failures into LabErrors that say what to do. */
  private async call<T>(
    action: string,
    collection: string | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(error, action, collection);
    }
  }

  private translate(error: unknown, action: string, collection: string | undefined): LabError {
    if (error instanceof LabError) return error;
    const where = collection === undefined ? '' : ` in collection "${collection}"`;
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number') {
      const data = (error as { data?: unknown }).data as
        { status?: { error?: unknown } } | string | undefined;
      const message =
        typeof data === 'object' && typeof data?.status?.error === 'string'
          ? data.status.error
          : typeof data === 'string' && data !== ''
            ? data
            : String((error as { statusText?: unknown }).statusText ?? 'no message');
      const details: QdrantErrorDetails = { status, message, collection };
      const dimensions = /expected dim: (\d+), got (\d+)/.exec(message);
      if (status === 400 && dimensions && collection !== undefined) {
        // The collection was recreated with another size since we looked.
        this.forget(collection);
        return dimensionMismatch(collection, Number(dimensions[1]), Number(dimensions[2]));
      }
      if (status === 401 || status === 403) {
        return new LabError(
          'vector_store_unauthorized',
          `Qdrant at ${this.url} refused to ${action}${where} (HTTP ${status}: ${message}); check the Qdrant API key`,
          502,
          details,
        );
      }
      return new LabError(
        'vector_store_failed',
        `Qdrant at ${this.url} could not ${action}${where} (HTTP ${status}: ${message}); check the Qdrant server's log`,
        502,
        details,
      );
    }
    const reason = describeNetworkError(error);
    return new LabError(
      'vector_store_unavailable',
      `cannot reach Qdrant at ${this.url} to ${action}${where} (${reason}); check QDRANT_URL and that Qdrant is running`,
      503,
      { collection, reason },
    );
  }
}

/** What a LabError from a Qdrant answer carries in `details`. */
export interface QdrantErrorDetails {
  status: number;
  message: string;
  collection?: string;
}

/**
 * The Qdrant point id of one of our ids: its UUIDv5 under POINT_ID_NAMESPACE, the same in every
 * process and for every collection, so a point can be replaced and deleted by id alone.
 */
export function qdrantPointId(id: string, namespace = POINT_ID_NAMESPACE): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(id, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The Qdrant payload path of one of our payload keys (under `data`). Qdrant's JSON paths split
 * on "." and "[", so other keys are quoted; a quote or backslash cannot be quoted at all.
 */
export function payloadPath(key: string): string {
  if (/^[\p{Alphabetic}\p{N}_-]+$/u.test(key)) return `${DATA_KEY}.${key}`;
  if (/["\\]/.test(key)) {
    throw new LabError(
      'invalid_query',
      `the payload key ${JSON.stringify(key)} cannot be filtered on in Qdrant (no '"' or '\\' in keys); rename the field`,
    );
  }
  return `${DATA_KEY}."${key}"`;
}

function matchCondition(key: string, value: unknown): Schemas['FieldCondition'] {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new LabError(
      'invalid_query',
      `the filter on "${key}" must compare with a string, got ${JSON.stringify(value) ?? 'undefined'}`,
    );
  }
  return { key: payloadPath(key), match: { value } };
}

function toHit(point: Schemas['ScoredPoint']): VectorHit {
  const payload = (point.payload ?? {}) as Record<string, unknown>;
  const id = typeof payload[ID_KEY] === 'string' ? payload[ID_KEY] : String(point.id);
  const data = payload[DATA_KEY];
  return {
    id,
    score: point.score,
    payload:
      data !== null && typeof data === 'object' && !Array.isArray(data)
        ? (data as Record<string, unknown>)
        : {},
  };
}

/** The vector size of a Qdrant collection this adapter can use (one unnamed Cosine vector). */
function compatibleDimension(
  collection: string,
  name: string,
  info: Schemas['CollectionInfo'],
): number {
  const vectors = info.config.params.vectors as Partial<Schemas['VectorParams']> | undefined;
  if (typeof vectors?.size !== 'number' || vectors.distance !== 'Cosine') {
    throw new LabError(
      'vector_collection_incompatible',
      `Qdrant collection "${name}" (for "${collection}") is not a single unnamed Cosine vector ` +
        `(found ${JSON.stringify(vectors)}); delete it or choose another collection prefix`,
      409,
      { collection, name },
    );
  }
  return vectors.size;
}

function isMissingCollection(error: unknown): boolean {
  return error instanceof LabError && (error.details as QdrantErrorDetails)?.status === 404;
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  if (error.name === 'QdrantClientTimeoutError') return `timed out: ${error.message}`;
  return error.message;
}
