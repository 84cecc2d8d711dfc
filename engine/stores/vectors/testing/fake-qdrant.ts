/**
 * A fake Qdrant REST server for the Qdrant VectorStore's tests, on 127.0.0.1 and a free port.
 *
 * Follows the wire format of `@qdrant/js-client-rest` 1.18.0 (the version in package-lock.json):
 * the paths and methods of its `dist/esm/openapi/generated_api_client.js`, and the request and
 * response bodies of `dist/types/openapi/generated_schema.d.ts`, generated from Qdrant's published
 * OpenAPI schema (qdrant/qdrant `docs/redoc/master/openapi.json`, the package's
 * `openapi_schema_remote`); the REST reference at https://api.qdrant.tech/api-reference. Responses
 * are typed with the package's `Schemas`, so they keep the schema's required fields.
 *
 * Served: `GET /`, `GET /healthz`, `GET /collections`, `GET|PUT|DELETE /collections/{name}`,
 * `GET /collections/{name}/exists`, `PUT /collections/{name}/index`, `PUT …/points` (upsert,
 * list or batch form), `POST …/points/delete` (ids or filter), `POST …/points/query` (nearest
 * to a dense vector) and `POST …/points/search`. Bodies are checked against the schema's required
 * fields and types; a body the schema refuses gets a 400 "Format error in JSON body: …" as from
 * Qdrant's JSON extractor (naming the field's place instead of serde's line and column), and what
 * its validator refuses (`limit: 0` on search, a vector size of 0) a 422 "Validation error in JSON
 * body: […]", as in src/actix/mod.rs `validation_error_handler`. Answers use
 * Qdrant's envelope `{ result, status: "ok", time }`, errors `{ status: { error }, time }` with
 * the codes of Qdrant's `StorageError` → HTTP mapping (src/actix/helpers.rs): 404 "Not found:
 * Collection `x` doesn't exist!", 409 "Wrong input: Collection `x` already exists!", 400 "Wrong
 * input: Vector dimension error: expected dim: 3, got 2".
 *
 * Search is real and exact: Cosine normalises stored and query vectors (as Qdrant does on
 * upsert) and scores by dot product in Float32, Dot by dot product, Euclid and Manhattan by
 * distance (smaller first). Filters: `must` / `should` / `must_not` over field conditions with
 * `match: { value }` or `match: { any }`, `has_id`, `is_empty`, `is_null` and nested filters, on
 * Qdrant JSON paths (`a.b`, `a."b.c"`, `a[]`, `a[0]`); an array value matches when any element
 * does. Valid requests the fake does not implement (named or sparse vectors, prefetch, recommend,
 * range or geo conditions, shard keys…) get a 400 that starts with "fake Qdrant:" rather than a
 * wrong answer. State lives in memory for the fake's lifetime. Test-only code.
 */
import type { ServerResponse } from 'node:http';
import type { Schemas } from '@qdrant/js-client-rest';
import {
  FakeHttpServer,
  sendBytes,
  sendJson,
  type RecordedRequest,
} from '../../../testing/fakes/http-fake';

/** The server version `GET /` reports: the newest minor the 1.18 client is checked against. */
export const FAKE_QDRANT_VERSION = '1.18.0';

export interface FakeQdrantOptions {
  /** When set, every request but the health probes needs it in `api-key` (or as a bearer). */
  apiKey?: string;
}

/** A stored point, as the fake keeps it (Cosine vectors already normalised). */
export interface FakeQdrantPoint {
  id: string | number;
  vector: number[];
  payload: Record<string, unknown> | null;
  version: number;
}

/** An answer forced onto the next matching request, for failure tests. */
export interface FakeQdrantFailure {
  status: number;
  error: string;
  method?: string;
  path?: RegExp;
}

type Distance = Schemas['Distance'];

interface FakeCollection {
  /** One unnamed vector, or named vectors (described but not searchable here). */
  vectors: Schemas['VectorParams'] | Record<string, Schemas['VectorParams']>;
  points: Map<string, FakeQdrantPoint>;
  payloadSchema: Map<string, Schemas['PayloadSchemaType']>;
  operationId: number;
}

const DISTANCES: readonly Distance[] = ['Cosine', 'Euclid', 'Dot', 'Manhattan'];
const PAYLOAD_TYPES: readonly Schemas['PayloadSchemaType'][] = [
  'keyword',
  'integer',
  'float',
  'geo',
  'text',
  'bool',
  'datetime',
  'uuid',
];
const FORBIDDEN_NAME_CHARS = ['<', '>', ':', '"', '/', '\\', '|', '?', '*', '\0', '\u001f'];

/** A refusal: the HTTP status and Qdrant's `status.error` text. */
class QdrantError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function formatError(where: string, problem: string): QdrantError {
  return new QdrantError(400, `Format error in JSON body: ${where ? `${where}: ` : ''}${problem}`);
}

function unimplemented(what: string): QdrantError {
  return new QdrantError(400, `fake Qdrant: ${what} is valid but not implemented by the fake`);
}

function missingCollection(name: string): QdrantError {
  return new QdrantError(404, `Not found: Collection \`${name}\` doesn't exist!`);
}

export class FakeQdrant {
  private readonly collections = new Map<string, FakeCollection>();
  private readonly failures: FakeQdrantFailure[] = [];

  private constructor(
    private readonly http: FakeHttpServer,
    private readonly options: FakeQdrantOptions,
  ) {}

  static async start(options: FakeQdrantOptions = {}): Promise<FakeQdrant> {
    const http = await FakeHttpServer.start();
    const fake = new FakeQdrant(http, options);
    http.handler = (req, res) => fake.handle(req, res);
    return fake;
  }

  /** The URL to give the client, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    return this.http.url;
  }

  /** Every request received, in order (refused ones included). */
  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** The recorded requests for one method and path. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.http.requestsTo(method, path);
  }

  /** The names of the collections that exist. */
  collectionNames(): string[] {
    return [...this.collections.keys()].sort();
  }

  /** The stored points of a collection (copies), or undefined when it does not exist. */
  points(name: string): FakeQdrantPoint[] | undefined {
    const collection = this.collections.get(name);
    return collection && [...collection.points.values()].map((point) => structuredClone(point));
  }

  /** Answers the next request matching `method` and `path` with an error, once. */
  failNext(failure: FakeQdrantFailure): this {
    this.failures.push(failure);
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const time = () => Number(process.hrtime.bigint() - started) / 1e9;
    const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);

    if (req.method === 'GET' && ['healthz', 'livez', 'readyz'].includes(segments[0] ?? '')) {
      if (segments.length === 1) {
        sendBytes(res, 200, Buffer.from(`${segments[0]} check passed`), 'text/plain');
        return;
      }
    }
    if (this.options.apiKey !== undefined) {
      const key = req.headers['api-key'];
      const bearer = req.headers.authorization;
      if (key !== this.options.apiKey && bearer !== `Bearer ${this.options.apiKey}`) {
        sendBytes(
          res,
          401,
          Buffer.from(
            key === undefined && bearer === undefined
              ? 'Must provide an API key or an Authorization bearer token'
              : 'Invalid API key or JWT',
          ),
          'text/plain',
        );
        return;
      }
    }
    const failure = this.failures.findIndex(
      (f) => (f.method ?? req.method) === req.method && (f.path ?? /./).test(req.path),
    );
    if (failure >= 0) {
      const [forced] = this.failures.splice(failure, 1);
      sendJson(res, forced.status, { status: { error: forced.error }, time: time() });
      return;
    }

    try {
      const result = this.route(req, segments);
      if (result === NOT_ROUTED) {
        // actix-web's default service: an empty 404.
        sendBytes(res, 404, Buffer.alloc(0), 'text/plain');
        return;
      }
      if (segments.length === 0) {
        sendJson(res, 200, result); // `/` answers VersionInfo itself, with no envelope.
        return;
      }
      sendJson(res, 200, { result, status: 'ok', time: time() });
    } catch (error) {
      if (!(error instanceof QdrantError)) throw error;
      sendJson(res, error.status, { status: { error: error.message }, time: time() });
    }
  }

  private route(req: RecordedRequest, segments: string[]): unknown {
    const { method } = req;
    if (segments.length === 0 && method === 'GET') {
      return {
        title: 'qdrant - vector search engine',
        version: FAKE_QDRANT_VERSION,
        commit: null,
      } satisfies Schemas['VersionInfo'];
    }
    if (segments[0] !== 'collections') return NOT_ROUTED;
    if (segments.length === 1 && method === 'GET') {
      return {
        collections: this.collectionNames().map((name) => ({ name })),
      } satisfies Schemas['CollectionsResponse'];
    }
    const name = segments[1];
    const rest = segments.slice(2).join('/');
    if (name === undefined) return NOT_ROUTED;
    switch (`${method} ${rest}`) {
      case 'GET ':
        return this.describe(name);
      case 'PUT ':
        return this.create(name, body(req, true));
      case 'DELETE ':
        return this.collections.delete(name);
      case 'GET exists':
        return { exists: this.collections.has(name) } satisfies Schemas['CollectionExistence'];
      case 'PUT index':
        return this.createIndex(name, body(req), waitParam(req));
      case 'PUT points':
        return this.upsert(name, body(req), waitParam(req));
      case 'POST points/delete':
        return this.deletePoints(name, body(req), waitParam(req));
      case 'POST points/query':
        return this.query(name, body(req));
      case 'POST points/search':
        return this.search(name, body(req));
      default:
        return NOT_ROUTED;
    }
  }

  private collection(name: string): FakeCollection {
    const collection = this.collections.get(name);
    if (!collection) throw missingCollection(name);
    return collection;
  }

  private describe(name: string): Schemas['CollectionInfo'] {
    const collection = this.collection(name);
    const payloadSchema: Schemas['CollectionInfo']['payload_schema'] = {};
    for (const [path, type] of collection.payloadSchema) {
      const parsed = parseJsonPath(path);
      let points = 0;
      for (const point of collection.points.values()) {
        if (parsed && valuesAt(point.payload, parsed).length > 0) points += 1;
      }
      payloadSchema[path] = { data_type: type, points };
    }
    return {
      status: 'green',
      optimizer_status: 'ok',
      indexed_vectors_count: 0,
      points_count: collection.points.size,
      segments_count: 1,
      config: {
        params: {
          vectors: collection.vectors,
          shard_number: 1,
          replication_factor: 1,
          write_consistency_factor: 1,
          on_disk_payload: true,
        },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000 },
        optimizer_config: { default_segment_number: 0, flush_interval_sec: 5 },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
      },
      payload_schema: payloadSchema,
    };
  }

  private create(name: string, request: Record<string, unknown>): boolean {
    if (name.length > 255) {
      throw new QdrantError(
        422,
        'Validation error in path parameters: [name: length must be between 1 and 255]',
      );
    }
    const bad = FORBIDDEN_NAME_CHARS.find((c) => name.includes(c));
    if (bad !== undefined) {
      throw new QdrantError(
        422,
        `Validation error in path parameters: [name: collection name cannot contain "${bad}" char]`,
      );
    }
    const vectors = request.vectors ?? {};
    let config: FakeCollection['vectors'];
    if (isObject(vectors) && 'size' in vectors) {
      config = vectorParams(vectors, 'vectors');
    } else if (isObject(vectors)) {
      config = Object.fromEntries(
        Object.entries(vectors).map(([key, params]) => [
          key,
          vectorParams(params, `vectors.${key}`),
        ]),
      );
    } else {
      throw formatError('vectors', 'data did not match any variant of untagged enum VectorsConfig');
    }
    for (const field of ['sparse_vectors', 'sharding_method', 'init_from', 'quantization_config']) {
      if (request[field] !== undefined && request[field] !== null) {
        throw unimplemented(`"${field}" on collection creation`);
      }
    }
    if (this.collections.has(name)) {
      throw new QdrantError(409, `Wrong input: Collection \`${name}\` already exists!`);
    }
    this.collections.set(name, {
      vectors: config,
      points: new Map(),
      payloadSchema: new Map(),
      operationId: 0,
    });
    return true;
  }

  private createIndex(
    name: string,
    request: Record<string, unknown>,
    wait: boolean,
  ): Schemas['UpdateResult'] {
    const collection = this.collection(name);
    const field = request.field_name;
    if (field === undefined) throw formatError('', 'missing field `field_name`');
    if (typeof field !== 'string')
      throw formatError('field_name', 'invalid type, expected a string');
    if (!parseJsonPath(field)) throw formatError('field_name', `Invalid JSON path: ${field}`);
    let schema = request.field_schema;
    if (isObject(schema)) schema = schema.type;
    if (schema === undefined || schema === null) {
      throw new QdrantError(400, 'Bad request: Can not infer field schema, provide field_schema');
    }
    if (!PAYLOAD_TYPES.includes(schema as Schemas['PayloadSchemaType'])) {
      throw formatError(
        'field_schema',
        'data did not match any variant of untagged enum PayloadFieldSchema',
      );
    }
    collection.payloadSchema.set(field, schema as Schemas['PayloadSchemaType']);
    return updateResult(collection, wait);
  }

  private upsert(
    name: string,
    request: Record<string, unknown>,
    wait: boolean,
  ): Schemas['UpdateResult'] {
    for (const field of ['shard_key', 'update_filter']) {
      if (request[field] !== undefined && request[field] !== null)
        throw unimplemented(`"${field}"`);
    }
    if (request.update_mode !== undefined && request.update_mode !== 'upsert') {
      throw unimplemented(`update_mode ${JSON.stringify(request.update_mode)}`);
    }
    let incoming: { id: string | number; vector: number[]; payload: unknown }[];
    if (Array.isArray(request.points)) {
      incoming = request.points.map((point: unknown, i) => {
        const where = `points[${i}]`;
        if (!isObject(point)) throw formatError(where, 'invalid type, expected struct PointStruct');
        if (point.id === undefined) throw formatError(where, 'missing field `id`');
        if (point.vector === undefined) throw formatError(where, 'missing field `vector`');
        return {
          id: pointId(point.id, `${where}.id`),
          vector: denseVector(point.vector, `${where}.vector`),
          payload: payloadValue(point.payload, `${where}.payload`),
        };
      });
    } else if (isObject(request.batch)) {
      const batch = request.batch;
      if (!Array.isArray(batch.ids)) throw formatError('batch', 'missing field `ids`');
      if (!Array.isArray(batch.vectors)) {
        throw batch.vectors === undefined
          ? formatError('batch', 'missing field `vectors`')
          : unimplemented('named vectors in a batch');
      }
      const ids = batch.ids as unknown[];
      const vectors = batch.vectors as unknown[];
      const payloads = Array.isArray(batch.payloads) ? (batch.payloads as unknown[]) : [];
      if (
        vectors.length !== ids.length ||
        (payloads.length > 0 && payloads.length !== ids.length)
      ) {
        throw new QdrantError(
          422,
          'Validation error in JSON body: [batch: number of ids and vectors must be equal]',
        );
      }
      incoming = ids.map((id, i) => ({
        id: pointId(id, `batch.ids[${i}]`),
        vector: denseVector(vectors[i], `batch.vectors[${i}]`),
        payload: payloadValue(payloads[i], `batch.payloads[${i}]`),
      }));
    } else {
      throw formatError(
        '',
        'data did not match any variant of untagged enum PointInsertOperations',
      );
    }
    const collection = this.collection(name);
    const params = singleVector(collection);
    for (const point of incoming) {
      if (point.vector.length !== params.size) {
        throw new QdrantError(
          400,
          `Wrong input: Vector dimension error: expected dim: ${params.size}, got ${point.vector.length}`,
        );
      }
    }
    const result = updateResult(collection, wait);
    for (const point of incoming) {
      const stored = point.vector.map((x) => Math.fround(x));
      collection.points.set(String(point.id), {
        id: point.id,
        vector: params.distance === 'Cosine' ? normalise(stored) : stored,
        payload: (point.payload ?? null) as Record<string, unknown> | null,
        version: collection.operationId,
      });
    }
    return result;
  }

  private deletePoints(
    name: string,
    request: Record<string, unknown>,
    wait: boolean,
  ): Schemas['UpdateResult'] {
    if (request.shard_key !== undefined && request.shard_key !== null) {
      throw unimplemented('"shard_key"');
    }
    let remove: (point: FakeQdrantPoint) => boolean;
    if (Array.isArray(request.points)) {
      const ids = new Set(request.points.map((id, i) => String(pointId(id, `points[${i}]`))));
      remove = (point) => ids.has(String(point.id));
    } else if (isObject(request.filter)) {
      const matches = compileFilter(request.filter, 'filter');
      remove = matches;
    } else {
      throw formatError('', 'data did not match any variant of untagged enum PointsSelector');
    }
    const collection = this.collection(name);
    const result = updateResult(collection, wait);
    for (const [key, point] of collection.points) {
      if (remove(point)) collection.points.delete(key);
    }
    return result;
  }

  private query(name: string, request: Record<string, unknown>): Schemas['QueryResponse'] {
    for (const field of ['prefetch', 'lookup_from', 'shard_key']) {
      if (request[field] !== undefined && request[field] !== null)
        throw unimplemented(`"${field}"`);
    }
    let query = request.query;
    if (query === undefined || query === null) {
      throw unimplemented('a query without "query" (points ordered by id)');
    }
    if (isObject(query) && 'nearest' in query) {
      if (query.mmr !== undefined && query.mmr !== null) throw unimplemented('"mmr"');
      query = query.nearest;
    } else if (isObject(query)) {
      throw unimplemented(`query ${JSON.stringify(Object.keys(query))}`);
    }
    if (!Array.isArray(query) || query.some((x) => typeof x !== 'number')) {
      throw unimplemented('a query that is not a dense vector (ids, sparse or multi vectors)');
    }
    const hits = this.nearest(name, {
      vector: denseVector(query, 'query'),
      using: request.using,
      filter: request.filter,
      params: request.params,
      limit: request.limit ?? 10,
      offset: request.offset ?? 0,
      scoreThreshold: request.score_threshold,
      withPayload: request.with_payload ?? false,
      withVector: request.with_vector ?? false,
    });
    return { points: hits };
  }

  private search(name: string, request: Record<string, unknown>): Schemas['ScoredPoint'][] {
    if (request.shard_key !== undefined && request.shard_key !== null) {
      throw unimplemented('"shard_key"');
    }
    if (request.vector === undefined) throw formatError('', 'missing field `vector`');
    if (request.limit === undefined) throw formatError('', 'missing field `limit`');
    if (!Array.isArray(request.vector)) {
      throw isObject(request.vector)
        ? unimplemented('a named vector')
        : formatError(
            'vector',
            'data did not match any variant of untagged enum NamedVectorStruct',
          );
    }
    const limit = uint(request.limit, 'limit');
    if (limit < 1) {
      throw new QdrantError(
        422,
        'Validation error in JSON body: [limit: value 0 invalid, must be 1 or larger]',
      );
    }
    return this.nearest(name, {
      vector: denseVector(request.vector, 'vector'),
      using: undefined,
      filter: request.filter,
      params: request.params,
      limit,
      offset: request.offset ?? 0,
      scoreThreshold: request.score_threshold,
      withPayload: request.with_payload ?? false,
      withVector: request.with_vector ?? false,
    });
  }

  private nearest(
    name: string,
    request: {
      vector: number[];
      using: unknown;
      filter: unknown;
      params: unknown;
      limit: unknown;
      offset: unknown;
      scoreThreshold: unknown;
      withPayload: unknown;
      withVector: unknown;
    },
  ): Schemas['ScoredPoint'][] {
    const limit = uint(request.limit, 'limit');
    const offset = uint(request.offset, 'offset');
    if (request.params !== undefined && request.params !== null && !isObject(request.params)) {
      throw formatError('params', 'invalid type, expected struct SearchParams');
    }
    const threshold = request.scoreThreshold;
    if (threshold !== undefined && threshold !== null && typeof threshold !== 'number') {
      throw formatError('score_threshold', 'invalid type, expected f32');
    }
    const matches =
      request.filter === undefined || request.filter === null
        ? () => true
        : compileFilter(request.filter, 'filter');
    const pickPayload = payloadSelector(request.withPayload);
    if (typeof request.withVector !== 'boolean' && !Array.isArray(request.withVector)) {
      throw formatError(
        'with_vector',
        'data did not match any variant of untagged enum WithVector',
      );
    }
    const collection = this.collection(name);
    if (request.using !== undefined && request.using !== null && request.using !== '') {
      throw new QdrantError(
        400,
        `Wrong input: Not existing vector name error: ${String(request.using)}`,
      );
    }
    const params = singleVector(collection);
    if (request.vector.length !== params.size) {
      throw new QdrantError(
        400,
        `Wrong input: Vector dimension error: expected dim: ${params.size}, got ${request.vector.length}`,
      );
    }
    const query = request.vector.map((x) => Math.fround(x));
    const probe = params.distance === 'Cosine' ? normalise(query) : query;
    const smallerFirst = params.distance === 'Euclid' || params.distance === 'Manhattan';
    const scored = [...collection.points.values()]
      .filter((point) => matches(point))
      .map((point) => ({ point, score: Math.fround(score(params.distance, probe, point.vector)) }))
      .filter(
        ({ score }) =>
          typeof threshold !== 'number' || (smallerFirst ? score <= threshold : score >= threshold),
      );
    scored.sort(
      (a, b) =>
        (smallerFirst ? a.score - b.score : b.score - a.score) ||
        compareIds(a.point.id, b.point.id),
    );
    return scored.slice(offset, offset + limit).map(({ point, score }) => ({
      id: point.id,
      version: point.version,
      score,
      payload: pickPayload(point.payload),
      vector: request.withVector === true ? [...point.vector] : null,
    }));
  }
}

const NOT_ROUTED = Symbol('not routed');

function body(req: RecordedRequest, optional = false): Record<string, unknown> {
  if (req.body.length === 0 && optional) return {};
  if (req.json === undefined) {
    throw new QdrantError(
      400,
      req.body.length === 0
        ? 'Json deserialize error: EOF while parsing a value at line 1 column 0'
        : 'Json deserialize error: expected value at line 1 column 1',
    );
  }
  if (!isObject(req.json)) throw formatError('', 'invalid type, expected a JSON object');
  return req.json;
}

function waitParam(req: RecordedRequest): boolean {
  const wait = req.query.get('wait');
  if (wait === null) return false;
  if (wait !== 'true' && wait !== 'false') {
    throw new QdrantError(400, `Query deserialize error: invalid value for wait: ${wait}`);
  }
  return wait === 'true';
}

function updateResult(collection: FakeCollection, wait: boolean): Schemas['UpdateResult'] {
  collection.operationId += 1;
  return { operation_id: collection.operationId, status: wait ? 'completed' : 'acknowledged' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function uint(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw formatError(where, `invalid value: ${JSON.stringify(value)}, expected usize`);
  }
  return value;
}

function vectorParams(value: unknown, where: string): Schemas['VectorParams'] {
  if (!isObject(value)) throw formatError(where, 'invalid type, expected struct VectorParams');
  if (value.size === undefined) throw formatError(where, 'missing field `size`');
  if (value.distance === undefined) throw formatError(where, 'missing field `distance`');
  const size = uint(value.size, `${where}.size`);
  if (size < 1 || size > 65536) {
    throw new QdrantError(
      422,
      `Validation error in JSON body: [${where}.size: value ${size} invalid, must be from 1 to 65536]`,
    );
  }
  if (!DISTANCES.includes(value.distance as Distance)) {
    throw formatError(
      `${where}.distance`,
      `unknown variant \`${String(value.distance)}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``,
    );
  }
  for (const field of ['multivector_config', 'datatype', 'quantization_config']) {
    if (value[field] !== undefined && value[field] !== null) {
      throw unimplemented(`"${field}" in vector params`);
    }
  }
  return { size, distance: value.distance as Distance };
}

function singleVector(collection: FakeCollection): Schemas['VectorParams'] {
  const vectors = collection.vectors;
  if (typeof vectors.size === 'number') return vectors as Schemas['VectorParams'];
  throw unimplemented('points in a collection with named vectors');
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** An ExtendedPointId: an unsigned integer or a UUID (normalised to lower-case hyphenated). */
function pointId(value: unknown, where: string): string | number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && UUID.test(value)) {
    const hex = value.replace(/-/g, '').toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw formatError(
    where,
    `value ${JSON.stringify(value)} is not a valid point ID, valid values are either an unsigned integer or a UUID`,
  );
}

function denseVector(value: unknown, where: string): number[] {
  if (isObject(value)) throw unimplemented('named, sparse or inferred vectors');
  if (!Array.isArray(value)) {
    throw formatError(where, 'data did not match any variant of untagged enum VectorStruct');
  }
  if (value.some((x) => Array.isArray(x))) throw unimplemented('multi-vectors');
  const bad = value.findIndex((x) => typeof x !== 'number');
  if (bad >= 0) {
    throw formatError(
      `${where}[${bad}]`,
      `invalid type: ${JSON.stringify(value[bad])}, expected f32`,
    );
  }
  return value as number[];
}

function payloadValue(value: unknown, where: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw formatError(where, 'invalid type, expected a map');
  return structuredClone(value);
}

function normalise(vector: number[]): number[] {
  const length = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  // Qdrant leaves a zero vector as it is rather than divide by zero.
  return length === 0 ? vector : vector.map((x) => Math.fround(x / length));
}

function score(distance: Distance, a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i += 1) {
    const d = a[i] - b[i];
    if (distance === 'Euclid') sum += d * d;
    else if (distance === 'Manhattan') sum += Math.abs(d);
    else sum += a[i] * b[i];
  }
  return distance === 'Euclid' ? Math.sqrt(sum) : sum;
}

function compareIds(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function payloadSelector(
  selector: unknown,
): (payload: Record<string, unknown> | null) => Record<string, unknown> | null {
  if (selector === true) return (payload) => structuredClone(payload ?? {});
  if (selector === false) return () => null;
  const pick = (keys: unknown, where: string): string[] => {
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
      throw formatError(where, 'invalid type, expected a sequence of strings');
    }
    return keys as string[];
  };
  if (Array.isArray(selector) || (isObject(selector) && 'include' in selector)) {
    const keys = pick(Array.isArray(selector) ? selector : selector.include, 'with_payload');
    return (payload) =>
      Object.fromEntries(
        Object.entries(payload ?? {})
          .filter(([key]) => keys.includes(key))
          .map(([key, value]) => [key, structuredClone(value)]),
      );
  }
  if (isObject(selector) && 'exclude' in selector) {
    const keys = pick(selector.exclude, 'with_payload.exclude');
    return (payload) =>
      Object.fromEntries(
        Object.entries(payload ?? {})
          .filter(([key]) => !keys.includes(key))
          .map(([key, value]) => [key, structuredClone(value)]),
      );
  }
  throw formatError(
    'with_payload',
    'data did not match any variant of untagged enum WithPayloadInterface',
  );
}

/** One step of a Qdrant JSON path (lib/segment/src/json_path). */
type PathItem = { key: string } | { index: number } | { wildcard: true };

/** Parses `a.b`, `a."b.c"`, `a[0]`, `a[]` as Qdrant does; null when the path is invalid. */
export function parseJsonPath(path: string): PathItem[] | null {
  const items: PathItem[] = [];
  const raw = /^[\p{Alphabetic}\p{N}_-]+/u;
  const quoted = /^"([^"\\]*)"/;
  let rest = path;
  let first = true;
  while (rest.length > 0) {
    if (!first && rest.startsWith('[]')) {
      items.push({ wildcard: true });
      rest = rest.slice(2);
      continue;
    }
    const index = first ? null : /^\[(\d+)\]/.exec(rest);
    if (index) {
      items.push({ index: Number(index[1]) });
      rest = rest.slice(index[0].length);
      continue;
    }
    if (!first) {
      if (!rest.startsWith('.')) return null;
      rest = rest.slice(1);
    }
    const match = raw.exec(rest) ?? quoted.exec(rest);
    if (!match) return null;
    items.push({ key: match[1] ?? match[0] });
    rest = rest.slice(match[0].length);
    first = false;
  }
  return items.length > 0 ? items : null;
}

/** The values at a path; a final array counts as its elements. */
function valuesAt(payload: Record<string, unknown> | null, path: PathItem[]): unknown[] {
  let current: unknown[] = [payload ?? {}];
  for (const item of path) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('key' in item) {
        if (isObject(value) && item.key in value) next.push(value[item.key]);
      } else if (Array.isArray(value)) {
        if ('index' in item) {
          if (item.index < value.length) next.push(value[item.index]);
        } else {
          next.push(...(value as unknown[]));
        }
      }
    }
    current = next;
  }
  return current.flatMap((value) => (Array.isArray(value) ? (value as unknown[]) : [value]));
}

type Matcher = (point: FakeQdrantPoint) => boolean;

function compileFilter(filter: unknown, where: string): Matcher {
  if (!isObject(filter)) throw formatError(where, 'invalid type, expected struct Filter');
  if (filter.min_should !== undefined && filter.min_should !== null) {
    throw unimplemented('"min_should"');
  }
  const clause = (name: string): Matcher[] | null => {
    const value = filter[name];
    if (value === undefined || value === null) return null;
    const list = Array.isArray(value) ? value : [value];
    return list.map((condition: unknown, i) =>
      compileCondition(condition, `${where}.${name}[${i}]`),
    );
  };
  const must = clause('must');
  const should = clause('should');
  const mustNot = clause('must_not');
  return (point) =>
    (must ?? []).every((m) => m(point)) &&
    (!should || should.length === 0 || should.some((m) => m(point))) &&
    !(mustNot ?? []).some((m) => m(point));
}

function compileCondition(condition: unknown, where: string): Matcher {
  if (!isObject(condition)) {
    throw formatError(where, 'data did not match any variant of untagged enum Condition');
  }
  if ('key' in condition) return compileFieldCondition(condition, where);
  if ('has_id' in condition) {
    if (!Array.isArray(condition.has_id)) {
      throw formatError(`${where}.has_id`, 'invalid type, expected a sequence');
    }
    const ids = new Set(
      condition.has_id.map((id, i) => String(pointId(id, `${where}.has_id[${i}]`))),
    );
    return (point) => ids.has(String(point.id));
  }
  if ('is_empty' in condition || 'is_null' in condition) {
    const empty = 'is_empty' in condition;
    const field = empty ? condition.is_empty : condition.is_null;
    const path = isObject(field) && typeof field.key === 'string' ? parseJsonPath(field.key) : null;
    if (!path) throw formatError(where, 'invalid PayloadField, expected { key }');
    return (point) => {
      const values = valuesAt(point.payload, path);
      return empty
        ? values.every((value) => value === null) || values.length === 0
        : values.some((value) => value === null);
    };
  }
  if ('nested' in condition || 'has_vector' in condition) {
    throw unimplemented(`condition ${JSON.stringify(Object.keys(condition))}`);
  }
  if (['must', 'should', 'must_not', 'min_should'].some((k) => k in condition)) {
    return compileFilter(condition, where);
  }
  throw formatError(where, 'data did not match any variant of untagged enum Condition');
}

function compileFieldCondition(condition: Record<string, unknown>, where: string): Matcher {
  if (typeof condition.key !== 'string') {
    throw formatError(`${where}.key`, 'invalid type, expected a string');
  }
  const path = parseJsonPath(condition.key);
  if (!path) throw formatError(`${where}.key`, `Invalid JSON path: ${condition.key}`);
  for (const field of ['range', 'geo_bounding_box', 'geo_radius', 'geo_polygon', 'values_count']) {
    if (condition[field] !== undefined && condition[field] !== null) {
      throw unimplemented(`"${field}" conditions`);
    }
  }
  if (condition.is_empty !== undefined || condition.is_null !== undefined) {
    throw unimplemented('"is_empty" / "is_null" inside a field condition');
  }
  const match = condition.match;
  if (match === undefined || match === null) {
    throw new QdrantError(
      422,
      `Validation error in JSON body: [${where}: At least one field condition must be specified]`,
    );
  }
  if (!isObject(match)) throw formatError(`${where}.match`, 'invalid type, expected enum Match');
  const variant = (value: unknown, at: string): string | number | boolean => {
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isSafeInteger(value))
    ) {
      return value;
    }
    throw formatError(at, 'data did not match any variant of untagged enum ValueVariants');
  };
  let accepted: (string | number | boolean)[];
  if ('value' in match) {
    accepted = [variant(match.value, `${where}.match.value`)];
  } else if ('any' in match) {
    if (!Array.isArray(match.any)) {
      throw formatError(`${where}.match.any`, 'data did not match any variant of AnyVariants');
    }
    accepted = match.any.map((value, i) => variant(value, `${where}.match.any[${i}]`));
  } else {
    throw unimplemented(`match ${JSON.stringify(Object.keys(match))}`);
  }
  return (point) =>
    valuesAt(point.payload, path).some((value) => accepted.includes(value as never));
}
