/**
 * Opens a SQLite file the way every embedded adapter needs it: WAL so the server and a worker
 * process can read while one of them writes, a busy timeout so a second writer waits instead of
 * failing, and schema migrations tracked in PRAGMA user_version.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
  const db = new Database(file);
  try {
    // busy_timeout first: switching to WAL itself takes a lock another process may hold.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode and much faster than FULL.
    db.pragma('synchronous = NORMAL');
    migrate(db, file, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
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
