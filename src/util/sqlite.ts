// A SQLite database file of the data dir: opened private (0600), WAL, with a busy timeout; and
// versioned migrations per module, so several stores can share one file and grow on their own.
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating) `file` for this user only. WAL lets a UI process read while a proxy process
 * writes; busy_timeout turns lock contention between processes into a short wait, not SQLITE_BUSY.
 */
export function openSqlite(file: string, options: { busyTimeoutMs?: number } = {}): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  try {
    if (file !== ':memory:') chmodSync(file, 0o600);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Brings `module`'s tables to the last of `steps` (step i takes version i to i + 1), in one
 * immediate transaction; a database whose module is newer than this Portcullis is refused, never
 * written past. Versions live in a `schema_versions` table shared by every module of the file.
 */
export function migrateModule(db: SqliteDatabase, module: string, steps: readonly string[]): void {
  const tx = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_versions WHERE module = ?').get(module) as
      | { version: number }
      | undefined;
    const version = row?.version ?? 0;
    if (version > steps.length) {
      throw new Error(
        `${db.name}: the ${module} tables have schema ${version}, newer than this Portcullis knows (${steps.length})`,
      );
    }
    for (let i = version; i < steps.length; i++) db.exec(steps[i] as string);
    db.prepare(
      'INSERT INTO schema_versions (module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version',
    ).run(module, steps.length);
  });
  tx.immediate();
}

/**
 * SQLite's `data_version` of `db` (it moves when another connection commits), read through one
 * prepared statement and at most once per turn of the event loop: calls read from one chunk of
 * input ask it once between them, not once each (it was ~4% of a busy proxy's CPU per store). A
 * commit elsewhere is seen from the next turn on, which is no later than the next message read.
 */
export function dataVersionReader(db: SqliteDatabase): () => number {
  const statement = db.prepare('PRAGMA data_version').pluck();
  let cached: number | undefined;
  const forget = (): void => {
    cached = undefined;
  };
  return () => {
    if (cached === undefined) {
      cached = statement.get() as number;
      setImmediate(forget);
    }
    return cached;
  };
}

/** The data dir's governance database: agents and keys, budgets' ledger, incidents and suspensions. */
export const GOVERNANCE_DB = 'governance.db';
