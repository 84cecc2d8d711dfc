import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteDatabase, sqliteHealthProbe } from './sqlite-database';

const MIGRATIONS = [{ name: 'rows', sql: 'CREATE TABLE t (id TEXT PRIMARY KEY, data TEXT)' }];
const PAGE_BYTES = 4096;

/** Overwrites every third page after the header page with noise, as a failing disk would. */
function damageEveryThirdPage(file: string): void {
  const size = statSync(file).size;
  const fd = openSync(file, 'r+');
  try {
    for (let page = 2; page * PAGE_BYTES < size; page += 3) {
      writeSync(fd, Buffer.alloc(PAGE_BYTES, 0x5a), 0, PAGE_BYTES, page * PAGE_BYTES);
    }
  } finally {
    closeSync(fd);
  }
}

function fill(db: Database.Database): void {
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
  for (let i = 0; i < 1500; i += 1) insert.run(`row-${i}`, 'x'.repeat(300));
  db.pragma('wal_checkpoint(TRUNCATE)');
}

describe('openSqliteDatabase on a damaged file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charlab-sqlite-'));
    file = join(dir, 'lab.db');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('refuses a zero-length file instead of starting an empty history', () => {
    writeFileSync(file, '');
    expect(() => openSqliteDatabase(file, MIGRATIONS)).toThrow(
      expect.objectContaining({ code: 'store_damaged', message: expect.stringContaining(file) }),
    );
    expect(statSync(file).size).toBe(0);
  });

  it('refuses a file that is not a database, naming it', () => {
    writeFileSync(file, Buffer.alloc(8192, 0x41));
    expect(() => openSqliteDatabase(file, MIGRATIONS)).toThrow(
      expect.objectContaining({ code: 'store_damaged', message: expect.stringContaining(file) }),
    );
  });

  it('refuses a database whose pages were overwritten (quick_check at start)', () => {
    const db = openSqliteDatabase(file, MIGRATIONS);
    fill(db);
    db.close();
    damageEveryThirdPage(file);
    expect(() => openSqliteDatabase(file, MIGRATIONS)).toThrow(
      expect.objectContaining({
        code: 'store_damaged',
        message: expect.stringMatching(/lab\.db is damaged/),
      }),
    );
  });

  it('health notices damage done while the database is open, naming only the file name', async () => {
    const db = openSqliteDatabase(file, MIGRATIONS);
    try {
      fill(db);
      const probe = sqliteHealthProbe(db, file, 0);
      await expect(probe()).resolves.toBe(true);
      damageEveryThirdPage(file);
      const failure = await probe().catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'store_damaged' });
      expect((failure as Error).message).toContain('lab.db is damaged');
      expect((failure as Error).message).not.toContain(dir);
    } finally {
      db.close();
    }
  });

  it('opens a sound database as before', () => {
    const db = openSqliteDatabase(file, MIGRATIONS);
    fill(db);
    db.close();
    const again = openSqliteDatabase(file, MIGRATIONS);
    expect(again.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1500 });
    again.close();
  });
});
