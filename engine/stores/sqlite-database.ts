/**
 * Opens a SQLite file the way every embedded adapter needs it: WAL so the server and a worker
 * process can read while one of them writes, a busy timeout so a second writer waits instead of
 * failing, schema migrations tracked in PRAGMA user_version, and an integrity check, so a
 * damaged file stops the server with its name instead of failing every request later.
 */
import { mkdirSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LabError } from '../errors';

/** One schema step. Append-only: never edit a shipped migration, add the next one. */
export interface SqliteMigration {
  name: string;
  sql: string;
}

/** How long a writer waits for another process's write lock before giving up. */
const BUSY_TIMEOUT_MS = 10_000;

/** Opens (creating if needed) `file` and brings its schema up to `migrations.length`. */
export function openSqliteDatabase(
  file: string,
  migrations: readonly SqliteMigration[],
): Database.Database {
  mkdirSync(dirname(file), { recursive: true });
  // SQLite treats an empty file as a new database, but every file we create holds its schema
  // from the first open: zero bytes means it was truncated, and starting on it would silently
  // present an empty history.
  if (statSync(file, { throwIfNoEntry: false })?.size === 0) {
    throw damaged(file, 'it is empty (0 bytes), so it was truncated');
  }
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (error) {
    throw asDamaged(error, file);
  }
  try {
    // busy_timeout first: switching to WAL itself takes a lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode and much faster than FULL.
    db.pragma('synchronous = NORMAL');
    const problem = integrityProblem(db);
    if (problem) throw damaged(file, problem);
    migrate(db, file, migrations);
    return db;
  } catch (error) {
    db.close();
    throw asDamaged(error, file);
  }
}

/**
 * `PRAGMA quick_check`: every page, index and constraint is readable (it skips only the
 * index-vs-table comparison of the full integrity_check). Null when sound, else the first
 * problems SQLite names.
 */
export function integrityProblem(db: Database.Database): string | null {
  try {
    const rows = db.pragma('quick_check(3)') as { quick_check: string }[];
    const problems = rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
    return problems.length === 0 ? null : `quick_check found: ${problems.join('; ')}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** How often health re-reads every page; a cheap query answers in between. */
const HEALTH_INTEGRITY_INTERVAL_MS = 60_000;

/**
 * The health probe of an open database: a trivial read every call and the quick_check at most
 * once a minute (it reads every page, so it costs as much as the file is large). Throws the
 * damage, named by the file's base name only (health is public; the path is not).
 */
export function sqliteHealthProbe(
  db: Database.Database,
  file: string,
  intervalMs = HEALTH_INTEGRITY_INTERVAL_MS,
): () => Promise<boolean> {
  let checkedAt = Number.NEGATIVE_INFINITY;
  let problem: string | null = null;
  return async () => {
    try {
      db.prepare('SELECT 1').get();
    } catch (error) {
      throw damaged(basename(file), error instanceof Error ? error.message : String(error));
    }
    if (Date.now() - checkedAt >= intervalMs) {
      problem = fileIntegrityProblem(file);
      checkedAt = Date.now();
    }
    if (problem) throw damaged(basename(file), problem);
    return true;
  };
}

/**
 * The quick_check of the file as it is on disk, through a connection of its own: the open
 * connection's page cache would keep answering from pages read before the damage.
 */
function fileIntegrityProblem(file: string): string | null {
  let reader: Database.Database | undefined;
  try {
    reader = new Database(file, { readonly: true, fileMustExist: true });
    return integrityProblem(reader);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    reader?.close();
  }
}

/** SQLite's codes for a file that is not a database or whose pages do not add up. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX']);

export function isDamageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DAMAGE_CODES.has(code);
}

function asDamaged(error: unknown, file: string): unknown {
  return isDamageError(error) ? damaged(file, (error as Error).message) : error;
}

function damaged(file: string, problem: string): LabError {
  return new LabError(
    'store_damaged',
    `the database file ${file} is damaged: ${problem}. Restore it from a backup, or move it ` +
      'away to start with an empty history (nothing was changed)',
    500,
  );
}

function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly SqliteMigration[],
): void {
  // IMMEDIATE takes the write lock before reading user_version, so two processes opening a
  // fresh file at once apply each migration exactly once.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new LabError(
        'store_schema_too_new',
        `${file} has schema version ${version} but this build knows ${migrations.length}; ` +
          'upgrade Character Lab or point LAB_DATA_DIR at another folder',
        500,
      );
    }
    for (let step = version; step < migrations.length; step += 1) {
      db.exec(migrations[step].sql);
      db.pragma(`user_version = ${step + 1}`);
    }
  }).immediate();
}
