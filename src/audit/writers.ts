// Writer slots: several processes sharing one data dir each append to their own chain, held by a kernel lock.
import { closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';

/** The lease database, beside the audit directory (not in it: it is not evidence, and verify ignores it). */
export const WRITERS_DB = 'audit-writers.db';

const WRITER_DIR = /^writer-([1-9]\d{0,8})$/;

/** Where slot `slot` writes under the audit root: slot 1 in the root itself, slot N in writer-N/. */
export function chainDir(root: string, slot: number): string {
  return slot === 1 ? root : join(root, `writer-${slot}`);
}

/** N for a directory named writer-N (N >= 2); null for any other name. */
export function writerSlot(name: string): number | null {
  const match = WRITER_DIR.exec(name);
  const slot = match?.[1] === undefined ? null : Number(match[1]);
  return slot !== null && slot >= 2 ? slot : null;
}

/** One chain of an audit root: its writer slot and directory. */
export interface Chain {
  slot: number;
  dir: string;
  /** How messages name it: '' for the root's own chain, 'writer-N/' for the others. */
  prefix: string;
}

/**
 * The chains under `root`, slot order: the root's own files (slot 1, or N when `root` is itself a
 * writer-N directory), then every writer-N subdirectory. Throws ENOENT when `root` does not exist.
 */
export function listChains(root: string): Chain[] {
  const chains: Chain[] = [{ slot: writerSlot(basename(root)) ?? 1, dir: root, prefix: '' }];
  const others: Chain[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const slot = writerSlot(entry.name);
    if (slot === null) continue;
    // A symlink counts when it leads to a directory: the writer would have followed it too.
    const dir = join(root, entry.name);
    if (!entry.isDirectory() && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) continue;
    others.push({ slot, dir, prefix: `${entry.name}/` });
  }
  return chains.concat(others.sort((a, b) => a.slot - b.slot));
}

const BUSY_TIMEOUT_MS = 10_000;
/** Where the per-slot lock files live, beside the lease table. */
export const WRITER_LOCKS = 'audit-writers';

function openDb(dataDir: string): Database.Database {
  const path = join(dataDir, WRITERS_DB);
  // Created private before SQLite opens it (SQLite would use the umask); its journal inherits the mode.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The kernel lock on one slot: a small SQLite file held in `locking_mode = EXCLUSIVE` after a write,
 * so this connection keeps its POSIX (fcntl) lock until it closes. The kernel drops such a lock the
 * moment the process dies, before it is reaped, so a zombie or a reused pid never keeps a slot.
 * Returns null when another live connection (this process or another) holds the slot.
 */
function lockSlot(dataDir: string, slot: number): Database.Database | null {
  const dir = join(dataDir, WRITER_LOCKS);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `slot-${slot}.lock`);
  // Private before SQLite opens it, like the lease table; an existing lock file is simply reused.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  try {
    // No waiting: a held slot is held for its holder's whole life; the next slot is tried instead.
    db.pragma('busy_timeout = 0');
    // Only the lock matters, never the content: no journal file, no fsync.
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, started_at TEXT NOT NULL)');
    db.exec('DELETE FROM holder');
    db.prepare('INSERT INTO holder (pid, started_at) VALUES (?, ?)').run(
      process.pid,
      new Date().toISOString(),
    );
    db.exec('COMMIT');
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') return null;
    throw error;
  }
}

/**
 * This process's claim on one writer slot of a data dir: the lowest slot whose lock file
 * (`<dataDir>/audit-writers/slot-N.lock`) it can lock. A proxy restarted after a crash, even while
 * its dead predecessor is still an unreaped zombie, finds that lock free and continues the chain.
 * Attempts are serialised by one BEGIN IMMEDIATE transaction on audit-writers.db, so two processes
 * starting together never both skip a free slot; the table there only says who holds what.
 */
export class WriterLease {
  #released = false;
  readonly #lock: Database.Database;

  private constructor(
    readonly dataDir: string,
    readonly slot: number,
    lock: Database.Database,
  ) {
    this.#lock = lock;
  }

  static acquire(dataDir: string): WriterLease {
    const db = openDb(dataDir);
    try {
      const take = db.transaction((): { slot: number; lock: Database.Database } => {
        db.exec(
          'CREATE TABLE IF NOT EXISTS writers (slot INTEGER PRIMARY KEY, pid INTEGER NOT NULL, started_at TEXT NOT NULL)',
        );
        let slot = 1;
        let lock = lockSlot(dataDir, slot);
        while (lock === null) lock = lockSlot(dataDir, ++slot);
        try {
          db.prepare('INSERT OR REPLACE INTO writers (slot, pid, started_at) VALUES (?, ?, ?)').run(
            slot,
            process.pid,
            new Date().toISOString(),
          );
        } catch (error) {
          lock.close();
          throw error;
        }
        return { slot, lock };
      });
      const { slot, lock } = take.immediate();
      return new WriterLease(dataDir, slot, lock);
    } finally {
      db.close();
    }
  }

  /** Gives the slot back: the kernel lock at once, the table row best effort (it is only information). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      const db = openDb(this.dataDir);
      try {
        db.prepare('DELETE FROM writers WHERE slot = ? AND pid = ?').run(this.slot, process.pid);
      } finally {
        db.close();
      }
    } catch {
      // A stale row misleads nobody: slots are decided by the lock, never by the table.
    } finally {
      this.#lock.close();
    }
  }
}
