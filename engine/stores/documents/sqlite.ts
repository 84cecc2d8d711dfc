/**
 * The embedded DocumentStore: one SQLite file (`<dataDir>/lab.db`), one table per collection
 * holding each record as JSON. Several processes (server, workers) may open the same file;
 * WAL and the busy timeout in openSqliteDatabase make that safe, and every write that reads
 * first (event seq) runs in an IMMEDIATE transaction.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
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
import { openSqliteDatabase, sqliteHealthProbe, type SqliteMigration } from '../sqlite-database';
import { checkFieldName, checkLimit, checkRecordId, unmatchableValue } from '../checks';
import { requireNextRevision, withRevision } from './workflow-revision';

const COLLECTION_TABLES = ['workflows', 'characters', 'runs', 'artifacts', 'external_tasks'];

const MIGRATIONS: readonly SqliteMigration[] = [
  {
    name: '0001-initial',
    sql: [
      ...COLLECTION_TABLES.map(
        (table) => `CREATE TABLE ${table} (id TEXT PRIMARY KEY, data TEXT NOT NULL) STRICT;`,
      ),
      // Listing "my things, newest first" is the common query; the expressions must match
      // the ones list() builds so the planner uses them.
      ...['workflows', 'characters', 'artifacts'].map(
        (table) => `CREATE INDEX ${table}_owner ON ${table} (json_extract(data, '$.ownerId'));`,
      ),
      `CREATE INDEX runs_owner_created ON runs
         (json_extract(data, '$.ownerId'), json_extract(data, '$.createdAt'));`,
      `CREATE INDEX runs_workflow ON runs (json_extract(data, '$.workflowId'));`,
      `CREATE TABLE events (
         run_id TEXT NOT NULL,
         seq INTEGER NOT NULL,
         key TEXT NOT NULL,
         data TEXT NOT NULL,
         PRIMARY KEY (run_id, seq),
         UNIQUE (run_id, key)
       ) STRICT;`,
      `CREATE TABLE cache (key TEXT PRIMARY KEY, data TEXT NOT NULL) STRICT;`,
    ].join('\n'),
  },
  {
    name: '0002-templates',
    sql: [
      `CREATE TABLE templates (id TEXT PRIMARY KEY, data TEXT NOT NULL) STRICT;`,
      `CREATE INDEX templates_owner ON templates (json_extract(data, '$.ownerId'));`,
      `CREATE TABLE template_versions (id TEXT PRIMARY KEY, data TEXT NOT NULL) STRICT;`,
      `CREATE INDEX template_versions_template ON template_versions
         (json_extract(data, '$.templateId'));`,
    ].join('\n'),
  },
  {
    name: '0003-accounts',
    sql: [
      ...['users', 'sessions', 'api_tokens', 'invites', 'shares', 'artifact_grants'].map(
        (table) => `CREATE TABLE ${table} (id TEXT PRIMARY KEY, data TEXT NOT NULL) STRICT;`,
      ),
      `CREATE INDEX sessions_user ON sessions (json_extract(data, '$.userId'));`,
      `CREATE INDEX api_tokens_user ON api_tokens (json_extract(data, '$.userId'));`,
      `CREATE INDEX shares_owner ON shares (json_extract(data, '$.ownerId'));`,
      `CREATE INDEX shares_workflow ON shares (json_extract(data, '$.workflowId'));`,
      `CREATE INDEX artifact_grants_owner ON artifact_grants (json_extract(data, '$.ownerId'));`,
    ].join('\n'),
  },
];

/** DocumentStore on better-sqlite3; the file is `<dataDir>/lab.db`. */
export class SqliteDocumentStore implements DocumentStore {
  readonly kind = 'sqlite' as const;
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
  /** The database file, for logs and health output. */
  readonly file: string;
  private readonly probeHealth: () => Promise<boolean>;
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'lab.db');
    this.db = openSqliteDatabase(this.file, MIGRATIONS);
    this.probeHealth = sqliteHealthProbe(this.db, this.file);
    this.workflows = new SqliteWorkflowCollection(this.db);
    this.characters = new SqliteCollection(this.db, 'characters');
    this.runs = new SqliteCollection(this.db, 'runs');
    this.artifacts = new SqliteCollection(this.db, 'artifacts');
    this.templates = new SqliteCollection(this.db, 'templates');
    this.templateVersions = new SqliteCreateOnlyCollection(this.db, 'template_versions');
    this.externalTasks = new SqliteCollection(this.db, 'external_tasks');
    this.users = new SqliteCreateOnlyCollection(this.db, 'users');
    this.sessions = new SqliteCollection(this.db, 'sessions');
    this.apiTokens = new SqliteCollection(this.db, 'api_tokens');
    this.invites = new SqliteCollection(this.db, 'invites');
    this.shares = new SqliteCollection(this.db, 'shares');
    this.artifactGrants = new SqliteCollection(this.db, 'artifact_grants');
    this.events = new SqliteEventLog(this.db);
    this.cache = new SqliteCacheStore(this.db);
  }

  /** Throws what is wrong, so health can say it (see sqliteHealthProbe). */
  async health(): Promise<boolean> {
    return this.probeHealth();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class SqliteCollection<T extends { id: string }> implements Collection<T> {
  private readonly getStatement: Database.Statement<[string], { data: string }>;
  private readonly putStatement: Database.Statement<[string, string]>;
  private readonly deleteStatement: Database.Statement<[string]>;

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
  ) {
    this.getStatement = db.prepare(`SELECT data FROM ${table} WHERE id = ?`);
    this.putStatement = db.prepare(
      `INSERT INTO ${table} (id, data) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET data = excluded.data`,
    );
    this.deleteStatement = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
  }

  async get(id: string): Promise<T | null> {
    const row = this.getStatement.get(id);
    return row ? (JSON.parse(row.data) as T) : null;
  }

  async list(options: ListOptions<T> = {}): Promise<T[]> {
    const conditions: string[] = [];
    const values: (string | number)[] = [];
    for (const [field, value] of Object.entries(options.where ?? {})) {
      // An undefined entry is "no condition", so `where: { workflowId }` works unset too.
      if (value === undefined) continue;
      const path = this.jsonPath(field);
      if (value === null) {
        // As in MongoDB, null matches a stored null and a missing field alike.
        conditions.push(`COALESCE(json_type(data, ${path}), 'null') = 'null'`);
      } else if (typeof value === 'boolean') {
        conditions.push(`json_type(data, ${path}) = '${value ? 'true' : 'false'}'`);
      } else if (typeof value === 'string' || typeof value === 'number') {
        // json_extract gives TEXT for strings and INTEGER/REAL for numbers, so "5" never
        // matches 5, just as in MongoDB.
        conditions.push(`json_extract(data, ${path}) = ?`);
        values.push(value);
      } else {
        throw unmatchableValue(field, value, this.table);
      }
    }
    let sql = `SELECT data FROM ${this.table}`;
    if (conditions.length > 0) sql += ` WHERE ${conditions.join(' AND ')}`;
    sql += options.orderByDesc
      ? ` ORDER BY json_extract(data, ${this.jsonPath(options.orderByDesc)}) DESC, id`
      : ' ORDER BY id';
    if (options.limit !== undefined) {
      checkLimit(options.limit);
      sql += ` LIMIT ${options.limit}`;
    }
    const rows = this.db.prepare<(string | number)[], { data: string }>(sql).all(...values);
    return rows.map((row) => JSON.parse(row.data) as T);
  }

  async put(record: T): Promise<void> {
    checkRecordId(record, this.table);
    this.putStatement.run(record.id, JSON.stringify(record));
  }

  async delete(id: string): Promise<boolean> {
    return this.deleteStatement.run(id).changes > 0;
  }

  /** A literal JSON path; the field name is checked so it cannot break out of the quotes. */
  private jsonPath(field: string): string {
    checkFieldName(field, this.table);
    return `'$.${field}'`;
  }
}

/**
 * Workflows: a conditional save is one UPDATE whose WHERE checks the stored revision, so it is
 * atomic across processes sharing the file (SQLite takes the write lock for the statement).
 */
class SqliteWorkflowCollection
  extends SqliteCollection<WorkflowRecord>
  implements WorkflowCollection
{
  private readonly replaceIfRevision: Database.Statement<[string, string, number]>;

  constructor(db: Database.Database) {
    super(db, 'workflows');
    this.replaceIfRevision = db.prepare(
      `UPDATE workflows SET data = ?
       WHERE id = ? AND COALESCE(json_extract(data, '$.revision'), 0) = ?`,
    );
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
    const { changes } = this.replaceIfRevision.run(
      JSON.stringify(record),
      record.id,
      expectedRevision,
    );
    return changes > 0;
  }
}

/** Template versions and users: create() is an INSERT that does nothing when the id exists. */
class SqliteCreateOnlyCollection<T extends { id: string }>
  extends SqliteCollection<T>
  implements CreateOnlyCollection<T>
{
  private readonly insertNew: Database.Statement<[string, string]>;

  constructor(
    db: Database.Database,
    private readonly tableName: string,
  ) {
    super(db, tableName);
    this.insertNew = db.prepare(
      `INSERT INTO ${tableName} (id, data) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`,
    );
  }

  async create(record: T): Promise<boolean> {
    checkRecordId(record, this.tableName);
    return this.insertNew.run(record.id, JSON.stringify(record)).changes > 0;
  }
}

class SqliteEventLog implements EventLog {
  private readonly appendTransaction: (event: RunEventInput) => RunEvent | null;
  private readonly listStatement: Database.Statement<
    [string, number],
    { seq: number; data: string }
  >;

  constructor(db: Database.Database) {
    const exists = db.prepare<[string, string]>(
      'SELECT 1 FROM events WHERE run_id = ? AND key = ?',
    );
    const lastSeq = db.prepare<[string], { seq: number }>(
      'SELECT COALESCE(MAX(seq), 0) AS seq FROM events WHERE run_id = ?',
    );
    const insert = db.prepare<[string, number, string, string]>(
      'INSERT INTO events (run_id, seq, key, data) VALUES (?, ?, ?, ?)',
    );
    const transaction = db.transaction((event: RunEventInput): RunEvent | null => {
      if (exists.get(event.runId, event.key)) return null;
      const seq = lastSeq.get(event.runId)!.seq + 1;
      const { key, ...stored } = event;
      const data = JSON.stringify(stored);
      insert.run(event.runId, seq, key, data);
      // Parsed back so append() and list() return the same shape (no undefined fields).
      return { ...(JSON.parse(data) as Omit<RunEvent, 'seq'>), seq };
    });
    // IMMEDIATE: take the write lock before reading MAX(seq), so two processes appending to
    // the same run can never both read the same last seq.
    this.appendTransaction = (event) => transaction.immediate(event);
    this.listStatement = db.prepare(
      'SELECT seq, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq',
    );
  }

  async append(event: RunEventInput): Promise<RunEvent | null> {
    for (const field of ['runId', 'key'] as const) {
      if (typeof event?.[field] !== 'string' || event[field] === '') {
        throw new LabError(
          'invalid_event',
          `a run event needs a non-empty string ${field}; the emitter must set it`,
        );
      }
    }
    return this.appendTransaction(event);
  }

  async list(runId: string, sinceSeq = 0): Promise<RunEvent[]> {
    return this.listStatement
      .all(runId, sinceSeq)
      .map((row) => ({ ...(JSON.parse(row.data) as Omit<RunEvent, 'seq'>), seq: row.seq }));
  }
}

class SqliteCacheStore implements CacheStore {
  private readonly getStatement: Database.Statement<[string], { data: string }>;
  private readonly putStatement: Database.Statement<[string, string]>;

  constructor(db: Database.Database) {
    this.getStatement = db.prepare('SELECT data FROM cache WHERE key = ?');
    // The first write wins: two workers finishing the same node must not swap outputs
    // under a run that already read them.
    this.putStatement = db.prepare(
      'INSERT INTO cache (key, data) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
    );
  }

  async get(key: string): Promise<CacheEntry | null> {
    const row = this.getStatement.get(key);
    return row ? (JSON.parse(row.data) as CacheEntry) : null;
  }

  async put(entry: CacheEntry): Promise<void> {
    if (typeof entry?.key !== 'string' || entry.key === '') {
      throw new LabError(
        'invalid_cache_entry',
        "a cache entry needs a non-empty string key (the node's cache key); set entry.key before saving",
      );
    }
    this.putStatement.run(entry.key, JSON.stringify(entry));
  }
}
