/**
 * The service DocumentStore: MongoDB (or anything speaking its wire protocol, such as FerretDB)
 * through the `mongodb` driver, chosen by MONGODB_URL whose path names the database. It behaves
 * exactly like the SQLite adapter (same JSON out, same errors, same conformance suite) and needs
 * no multi-document transactions, which FerretDB v1 lacks; how run events stay gapless without
 * them is explained on MongoEventLog.
 *
 * Records are stored as real documents (so operators can query them) keyed by `_id` = record id,
 * after a JSON round trip so values come back exactly as SQLite's JSON text would give them.
 * Field names MongoDB refuses (a leading `$`, a `.`, a NUL; a top-level `_id`) are escaped on
 * the way in and restored on the way out; see encodeKey.
 */
import {
  MongoClient,
  type Collection as MongoCollection,
  type Db,
  type Document,
  type Filter,
  type IndexDescription,
  type Sort,
} from 'mongodb';
import { LabError } from '../../errors';
import type { RunEvent, RunEventInput } from '../../runs/events';
import type {
  ApiTokenRecord,
  ArtifactGrantRecord,
  ArtifactRecord,
  CacheEntry,
  CacheStore,
  CharacterRecord,
  Collection,
  CreateOnlyCollection,
  DocumentStore,
  EventLog,
  ExternalTaskRecord,
  InviteRecord,
  ListOptions,
  RunRecord,
  SessionRecord,
  ShareRecord,
  TemplateRecord,
  TemplateVersionCollection,
  UserRecord,
  WorkflowCollection,
  WorkflowRecord,
} from '../ports';
import { checkFieldName, checkLimit, checkRecordId, unmatchableValue } from '../checks';
import { requireNextRevision, withRevision } from './workflow-revision';

/** A stored document: the escaped record plus `_id`. */
type Stored = Document & { _id: string };

/** How a run event is stored: `event` is the escaped event without its key. */
interface StoredEvent {
  runId: string;
  seq: number;
  key: string;
  event: Document;
}

/** A workflow save's claim on the revision it writes (see MongoWorkflowCollection). */
interface RevisionClaim {
  _id: string;
  workflowId: string;
  revision: number;
  /** Date.now() at the claim, so a claim whose writer died can be released. */
  claimedAt: number;
}

/**
 * Collection names match the SQLite adapter's tables, and each list index matches a query the
 * server makes ("my workflows, last edited first", "my runs, newest first", a workflow's runs),
 * with `_id` last because list() breaks ties by id.
 */
const COLLECTION_INDEXES: Record<string, IndexDescription[]> = {
  workflows: [{ name: 'owner_updated', key: { ownerId: 1, updatedAt: -1, _id: 1 } }],
  characters: [{ name: 'owner_updated', key: { ownerId: 1, updatedAt: -1, _id: 1 } }],
  runs: [
    { name: 'owner_created', key: { ownerId: 1, createdAt: -1, _id: 1 } },
    { name: 'workflow_created', key: { workflowId: 1, createdAt: -1, _id: 1 } },
    { name: 'created', key: { createdAt: -1, _id: 1 } },
  ],
  artifacts: [{ name: 'owner', key: { ownerId: 1 } }],
  templates: [{ name: 'owner_updated', key: { ownerId: 1, updatedAt: -1, _id: 1 } }],
  template_versions: [{ name: 'template_version', key: { templateId: 1, version: -1, _id: 1 } }],
  external_tasks: [],
  users: [],
  sessions: [{ name: 'user', key: { userId: 1 } }],
  api_tokens: [{ name: 'user', key: { userId: 1 } }],
  invites: [],
  shares: [
    { name: 'owner', key: { ownerId: 1 } },
    { name: 'workflow', key: { workflowId: 1 } },
  ],
  artifact_grants: [{ name: 'owner', key: { ownerId: 1 } }],
  workflow_claims: [{ name: 'workflow_revision', key: { workflowId: 1, revision: 1 } }],
};

/**
 * After this long a revision claim whose save never wrote the workflow (its process died between
 * the two steps) is released, so that workflow's saves are not refused forever.
 */
const ABANDONED_CLAIM_MS = 30_000;

/** The unique indexes the event log's correctness rests on (see MongoEventLog). */
const EVENT_INDEXES: IndexDescription[] = [
  { name: 'run_seq', key: { runId: 1, seq: 1 }, unique: true },
  { name: 'run_key', key: { runId: 1, key: 1 }, unique: true },
];

/** How long health() waits for a ping before calling the server unhealthy. */
const HEALTH_TIMEOUT_MS = 5_000;

/**
 * How many times one append retries after losing a seq to another process. Each lost race means
 * another append succeeded, so this bounds fairness, not progress.
 */
const MAX_APPEND_ATTEMPTS = 200;

/** Collisions in a row after which an append re-reads the run's highest seq instead of walking. */
const WALK_STEPS = 4;

/** Runs whose highest seq one instance remembers (the most recently appended ones). */
const KNOWN_RUNS = 10_000;

const DUPLICATE_KEY = 11000;

/** DocumentStore on MongoDB; open it with `MongoDocumentStore.open(MONGODB_URL)`. */
export class MongoDocumentStore implements DocumentStore {
  readonly kind = 'mongodb' as const;
  readonly workflows: WorkflowCollection;
  readonly characters: Collection<CharacterRecord>;
  readonly runs: Collection<RunRecord>;
  readonly artifacts: Collection<ArtifactRecord>;
  readonly templates: Collection<TemplateRecord>;
  readonly templateVersions: TemplateVersionCollection;
  readonly externalTasks: Collection<ExternalTaskRecord>;
  readonly users: CreateOnlyCollection<UserRecord>;
  readonly sessions: Collection<SessionRecord>;
  readonly apiTokens: Collection<ApiTokenRecord>;
  readonly invites: Collection<InviteRecord>;
  readonly shares: Collection<ShareRecord>;
  readonly artifactGrants: Collection<ArtifactGrantRecord>;
  readonly events: EventLog;
  readonly cache: CacheStore;
  /** The database name (the URL's path), for logs and health output. */
  readonly database: string;

  private constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
  ) {
    this.database = db.databaseName;
    this.workflows = new MongoWorkflowCollection(
      db,
      db.collection<RevisionClaim>('workflow_claims'),
    );
    this.characters = new MongoRecordCollection(db, 'characters');
    this.runs = new MongoRecordCollection(db, 'runs');
    this.artifacts = new MongoRecordCollection(db, 'artifacts');
    this.templates = new MongoRecordCollection(db, 'templates');
    this.templateVersions = new MongoCreateOnlyCollection(db, 'template_versions');
    this.externalTasks = new MongoRecordCollection(db, 'external_tasks');
    this.users = new MongoCreateOnlyCollection(db, 'users');
    this.sessions = new MongoRecordCollection(db, 'sessions');
    this.apiTokens = new MongoRecordCollection(db, 'api_tokens');
    this.invites = new MongoRecordCollection(db, 'invites');
    this.shares = new MongoRecordCollection(db, 'shares');
    this.artifactGrants = new MongoRecordCollection(db, 'artifact_grants');
    this.events = new MongoEventLog(db.collection<StoredEvent>('events'));
    this.cache = new MongoCacheStore(db.collection<Stored>('cache'));
  }

  /**
   * Connects to `url` (e.g. `mongodb://127.0.0.1:27017/charlab`: the path is the database) and
   * creates the indexes. Idempotent, so every replica and worker can open the same database.
   */
  static async open(url: string): Promise<MongoDocumentStore> {
    const database = databaseName(url);
    let client: MongoClient;
    try {
      client = new MongoClient(url);
    } catch (error) {
      throw new LabError(
        'invalid_config',
        `MONGODB_URL is not a MongoDB connection string (${(error as Error).message}); ` +
          'use mongodb://host:27017/charlab',
        500,
        { variable: 'MONGODB_URL' },
      );
    }
    try {
      await client.connect();
      const db = client.db(database);
      const indexes: [string, IndexDescription[]][] = [
        ...Object.entries(COLLECTION_INDEXES),
        ['events', EVENT_INDEXES],
      ];
      await Promise.all(
        indexes.map(async ([name, list]) => {
          // One index per command: FerretDB v1.24 drops the connection when a createIndexes
          // with several indexes finds them already there (every open after the first).
          for (const index of list) await db.collection(name).createIndexes([index]);
        }),
      );
      return new MongoDocumentStore(client, db);
    } catch (error) {
      await client.close().catch(() => {});
      throw new LabError(
        'store_unavailable',
        `cannot open the MongoDB document store "${database}" at ${redact(url)} ` +
          `(${(error as Error).message}); check MONGODB_URL, that the server is running and ` +
          'that this user may create indexes there',
        503,
        { variable: 'MONGODB_URL' },
      );
    }
  }

  async health(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
    });
    try {
      const ping = this.db.command({ ping: 1 }).then(
        (reply) => reply.ok === 1,
        () => false,
      );
      return await Promise.race([ping, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

class MongoRecordCollection<T extends { id: string }> implements Collection<T> {
  protected readonly collection: MongoCollection<Stored>;

  constructor(
    db: Db,
    private readonly name: string,
  ) {
    this.collection = db.collection<Stored>(name);
  }

  async get(id: string): Promise<T | null> {
    const found = await this.collection.findOne({ _id: id }, { projection: { _id: 0 } });
    return found ? (decodeValue(found) as T) : null;
  }

  async list(options: ListOptions<T> = {}): Promise<T[]> {
    const conditions: Filter<Stored>[] = [];
    for (const [field, value] of Object.entries(options.where ?? {})) {
      // An undefined entry is "no condition", so `where: { workflowId }` works unset too.
      if (value === undefined) continue;
      const path = this.fieldPath(field);
      if (
        value === null ||
        typeof value === 'boolean' ||
        typeof value === 'string' ||
        typeof value === 'number'
      ) {
        // Equality is type-strict in MongoDB ("5" never matches 5) and null matches a stored
        // null and a missing field, as in the SQLite adapter. MongoDB would also match an array
        // holding the value; SQLite compares the whole field, so arrays are ruled out.
        conditions.push({ [path]: value }, { [path]: { $not: { $type: 'array' } } });
      } else {
        throw unmatchableValue(field, value, this.name);
      }
    }
    const sort: Sort = options.orderByDesc
      ? { [this.fieldPath(options.orderByDesc)]: -1, _id: 1 }
      : { _id: 1 };
    if (options.limit !== undefined) {
      checkLimit(options.limit);
      // MongoDB reads limit(0) as "no limit".
      if (options.limit === 0) return [];
    }
    const filter: Filter<Stored> = conditions.length > 0 ? { $and: conditions } : {};
    let cursor = this.collection.find(filter, { projection: { _id: 0 } }).sort(sort);
    if (options.limit !== undefined) cursor = cursor.limit(options.limit);
    const found = await cursor.toArray();
    return found.map((document) => decodeValue(document) as T);
  }

  async put(record: T): Promise<void> {
    checkRecordId(record, this.name);
    const document: Stored = { ...toStoredDocument(record), _id: record.id };
    // Two first saves of one id may both try to insert; the loser's retry then replaces.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.collection.replaceOne({ _id: record.id }, document, { upsert: true });
        return;
      } catch (error) {
        if (!isDuplicateKey(error) || attempt >= 3) throw error;
      }
    }
  }

  async delete(id: string): Promise<boolean> {
    return (await this.collection.deleteOne({ _id: id })).deletedCount > 0;
  }

  /** The stored name of a top-level field; checked like the SQLite adapter's JSON paths. */
  private fieldPath(field: string): string {
    checkFieldName(field, this.name);
    return encodeKey(field, true);
  }
}

/** Template versions: create() is one insertOne, which the unique `_id` lets only one win. */
class MongoCreateOnlyCollection<T extends { id: string }>
  extends MongoRecordCollection<T>
  implements CreateOnlyCollection<T>
{
  constructor(
    db: Db,
    private readonly collectionName: string,
  ) {
    super(db, collectionName);
  }

  async create(record: T): Promise<boolean> {
    checkRecordId(record, this.collectionName);
    try {
      await this.collection.insertOne({ ...toStoredDocument(record), _id: record.id });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }
}

/**
 * Workflows, with the conditional save of WorkflowCollection and no transactions.
 *
 * A filtered replaceOne({ _id, revision }) alone is atomic on MongoDB but not on FerretDB v1,
 * which runs an update as a query and then a write by _id: several saves from one revision all
 * matched and all wrote in the conformance test. So a save first claims the revision it will
 * write: ONE insert of `{ _id: "<workflowId>#<revision>" }` into workflow_claims, which the
 * unique _id lets exactly one save win on both servers. Only the winner then replaces the
 * workflow, still filtered on the expected revision, so a claim can never move a workflow
 * backwards. After a successful save the older claims of the workflow are removed. A claim whose
 * writer died before writing is released after ABANDONED_CLAIM_MS, once the workflow is seen
 * still at the revision before it.
 */
class MongoWorkflowCollection
  extends MongoRecordCollection<WorkflowRecord>
  implements WorkflowCollection
{
  constructor(
    db: Db,
    private readonly claims: MongoCollection<RevisionClaim>,
  ) {
    super(db, 'workflows');
  }

  override async delete(id: string): Promise<boolean> {
    const deleted = await super.delete(id);
    await this.claims.deleteMany({ workflowId: id });
    return deleted;
  }

  override async get(id: string): Promise<WorkflowRecord | null> {
    const record = await super.get(id);
    return record && withRevision(record);
  }

  override async list(options?: ListOptions<WorkflowRecord>): Promise<WorkflowRecord[]> {
    return (await super.list(options)).map(withRevision);
  }

  async putIfRevision(record: WorkflowRecord, expectedRevision: number): Promise<boolean> {
    requireNextRevision(record, expectedRevision);
    const { id, revision } = record;
    // Refuse a stale save before claiming anything, so claims are only taken by live contenders.
    if ((await this.storedRevision(id)) !== expectedRevision) return false;
    const claim: RevisionClaim = {
      _id: `${id}#${revision}`,
      workflowId: id,
      revision,
      claimedAt: 0,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.claims.insertOne({ ...claim, claimedAt: Date.now() });
        break;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      // Another save holds this revision: it won, unless it died before writing.
      if (attempt > 1 || !(await this.releaseAbandoned(claim._id, expectedRevision))) return false;
    }
    const document: Stored = { ...toStoredDocument(record), _id: id };
    const { matchedCount } = await this.collection.replaceOne(
      { _id: id, ...revisionIs(expectedRevision) },
      document,
    );
    if (matchedCount === 0) {
      // Deleted (or changed by an unconditional put) since the check: nothing was written.
      await this.claims.deleteOne({ _id: claim._id });
      return false;
    }
    await this.claims.deleteMany({ workflowId: id, revision: { $lt: revision } });
    return true;
  }

  /** The stored workflow's revision (0 when stored without one), or null when there is none. */
  private async storedRevision(id: string): Promise<number | null> {
    const found = await this.collection.findOne({ _id: id }, { projection: { revision: 1 } });
    if (!found) return null;
    return typeof found.revision === 'number' ? found.revision : 0;
  }

  /** Removes a claim whose save died before writing; true when it was removed. */
  private async releaseAbandoned(claimId: string, expectedRevision: number): Promise<boolean> {
    const held = await this.claims.findOne({ _id: claimId });
    if (!held || Date.now() - held.claimedAt < ABANDONED_CLAIM_MS) return false;
    if ((await this.storedRevision(held.workflowId)) !== expectedRevision) return false;
    const { deletedCount } = await this.claims.deleteOne({
      _id: claimId,
      claimedAt: held.claimedAt,
    });
    return deletedCount > 0;
  }
}

/** A filter on the stored revision; a record stored before revisions existed is at 0. */
function revisionIs(revision: number): Filter<Stored> {
  return revision === 0
    ? { $or: [{ revision: 0 }, { revision: { $exists: false } }] }
    : { revision };
}

/**
 * Run events, numbered per run from 1 without gaps, with no transactions.
 *
 * An append is ONE insert of `{ runId, seq, key, event }`, guarded by two unique indexes:
 * (runId, seq) and (runId, key). A single-document insert is atomic, so the event, its seq and
 * its key land together or not at all, and the rule for choosing `seq` keeps numbers gapless:
 * a seq is only ever tried as 1 or as (a seq known to be stored) + 1. Events are never deleted,
 * so "known to be stored" stays true, and every try is ≤ the run's highest seq + 1.
 * - The first try is the highest seq this instance has seen stored for the run + 1 (read from
 *   the run_seq index the first time). Another process may have appended since: the insert
 *   then fails on (runId, seq).
 * - On a duplicate-key error, a lookup by (runId, key) tells which index refused it. Key stored:
 *   a redelivery (or the same key sent by two writers at once, one of which won), so nothing is
 *   written and append returns null, with no number used up. Key not stored: the key cannot
 *   have been stored at the insert either (nothing is deleted), so the seq was taken, i.e. is
 *   known to be stored, and the next try is seq + 1. After a few such steps in a row the next
 *   try jumps to the highest stored seq + 1 instead of walking.
 * A per-run counter document ($inc, then insert) was rejected: an insert that fails or never
 * happens after the $inc (a duplicate key, a crash, a timeout) burns its number and leaves a
 * permanent gap, and claiming the key in another collection first has the same two-write window.
 *
 * Within one instance, appends to one run go one after another, in call order (as with the
 * synchronous SQLite adapter), so collisions only happen between instances. The steady state
 * (one writer per run) costs one insert per event.
 */
class MongoEventLog implements EventLog {
  /** The last append queued per run in this instance; appends to one run run in order. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** The highest seq this instance has seen stored, per recently appended run. */
  private readonly knownSeq = new Map<string, number>();

  constructor(private readonly collection: MongoCollection<StoredEvent>) {}

  async append(event: RunEventInput): Promise<RunEvent | null> {
    for (const field of ['runId', 'key'] as const) {
      if (typeof event?.[field] !== 'string' || event[field] === '') {
        throw new LabError(
          'invalid_event',
          `a run event needs a non-empty string ${field}; the emitter must set it`,
        );
      }
    }
    const { runId } = event;
    const previous = this.tails.get(runId) ?? Promise.resolve();
    const appended = previous.then(() => this.insertNext(event));
    const tail = appended.catch(() => {});
    this.tails.set(runId, tail);
    try {
      return await appended;
    } finally {
      if (this.tails.get(runId) === tail) this.tails.delete(runId);
    }
  }

  async list(runId: string, sinceSeq = 0): Promise<RunEvent[]> {
    const found = await this.collection
      .find({ runId, seq: { $gt: sinceSeq } }, { projection: { _id: 0, seq: 1, event: 1 } })
      .sort({ seq: 1 })
      .toArray();
    return found.map((stored) => toRunEvent(stored.event, stored.seq));
  }

  private async insertNext(input: RunEventInput): Promise<RunEvent | null> {
    const { key, ...rest } = input;
    const { runId } = input;
    // Encoded once; decoding it back gives the shape list() returns (no undefined fields).
    const event = toStoredDocument(rest);
    let seq = (this.knownSeq.get(runId) ?? (await this.highestSeq(runId))) + 1;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt += 1) {
      try {
        await this.collection.insertOne({ runId, seq, key, event });
        this.remember(runId, seq);
        return toRunEvent(event, seq);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      if (await this.collection.findOne({ runId, key }, { projection: { _id: 1 } })) {
        return null;
      }
      // This seq is stored (by another instance): try the next one, or jump when far behind.
      this.remember(runId, seq);
      seq = attempt % WALK_STEPS === 0 ? (await this.highestSeq(runId)) + 1 : seq + 1;
      if (attempt >= WALK_STEPS) await sleep(Math.random() * Math.min(attempt, 20));
    }
    throw new LabError(
      'event_append_contended',
      `could not number an event of run ${runId} after ${MAX_APPEND_ATTEMPTS} attempts: ` +
        'too many processes are appending to this run at once; retry the delivery',
      503,
    );
  }

  /** The run's highest stored seq (0 before its first event), through the run_seq index. */
  private async highestSeq(runId: string): Promise<number> {
    const last = await this.collection.findOne(
      { runId },
      { projection: { _id: 0, seq: 1 }, sort: { seq: -1 } },
    );
    return last?.seq ?? 0;
  }

  private remember(runId: string, seq: number): void {
    // Re-inserted so the Map's order is least recently appended first; the oldest is dropped.
    const known = this.knownSeq.get(runId) ?? 0;
    this.knownSeq.delete(runId);
    this.knownSeq.set(runId, Math.max(known, seq));
    if (this.knownSeq.size > KNOWN_RUNS) {
      this.knownSeq.delete(this.knownSeq.keys().next().value!);
    }
  }
}

class MongoCacheStore implements CacheStore {
  constructor(private readonly collection: MongoCollection<Stored>) {}

  async get(key: string): Promise<CacheEntry | null> {
    const found = await this.collection.findOne({ _id: key }, { projection: { _id: 0 } });
    return found ? (decodeValue(found) as CacheEntry) : null;
  }

  async put(entry: CacheEntry): Promise<void> {
    if (typeof entry?.key !== 'string' || entry.key === '') {
      throw new LabError(
        'invalid_cache_entry',
        "a cache entry needs a non-empty string key (the node's cache key); set entry.key before saving",
      );
    }
    // The first write wins: two workers finishing the same node must not swap outputs
    // under a run that already read them.
    try {
      await this.collection.insertOne({ ...toStoredDocument(entry), _id: entry.key });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }
}

function toRunEvent(event: Document, seq: number): RunEvent {
  return { ...(decodeValue(event) as Omit<RunEvent, 'seq'>), seq };
}

/**
 * The record as the SQLite adapter would store it (a JSON round trip: undefined fields dropped,
 * dates as strings) with every field name made acceptable to MongoDB.
 */
function toStoredDocument(record: object): Document {
  return encodeValue(JSON.parse(JSON.stringify(record)) as unknown, true) as Document;
}

/**
 * MongoDB (and FerretDB, more strictly) refuses field names that start with `$` or hold a `.`,
 * BSON cannot hold a NUL in one at all, and a top-level `_id` is our record id. Those are
 * %-escaped (and `%` itself, so the mapping reverses exactly); ordinary names, including every
 * name list() accepts, stay as they are, so indexes and queries see the real field names.
 */
export function encodeKey(key: string, topLevel: boolean): string {
  let encoded = key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\0/g, '%00');
  if (encoded.startsWith('$')) encoded = `%24${encoded.slice(1)}`;
  if (topLevel && encoded === '_id') encoded = '%5Fid';
  return encoded;
}

/** Reverses encodeKey. */
export function decodeKey(key: string): string {
  return key.includes('%')
    ? key.replace(/%(25|2E|24|5F|00)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : key;
}

function encodeValue(value: unknown, topLevel: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => encodeValue(item, false));
  if (value === null || typeof value !== 'object') return value;
  const encoded: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    encoded[encodeKey(key, topLevel)] = encodeValue(item, false);
  }
  return encoded;
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== 'object') return value;
  const decoded: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) decoded[decodeKey(key)] = decodeValue(item);
  return decoded;
}

/** The database named by the URL's path (DESIGN §5); there is no silent default. */
function databaseName(url: string): string {
  const match = /^mongodb(?:\+srv)?:\/\/[^/?#]*\/([^?#]*)/.exec(url);
  const name = match ? decodeURIComponent(match[1]) : '';
  if (name === '' || /[/\\. "$\0]/.test(name)) {
    throw new LabError(
      'invalid_config',
      `MONGODB_URL must name the database as its path, e.g. mongodb://127.0.0.1:27017/charlab ` +
        `(got ${redact(url)})`,
      500,
      { variable: 'MONGODB_URL' },
    );
  }
  return name;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
