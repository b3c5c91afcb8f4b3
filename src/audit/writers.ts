// Writer slots: several processes sharing one data dir each append to their own chain, leased in SQLite.
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
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

/** Whether a process with this pid exists (EPERM: it does, but is another user's). Unsure means alive. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const BUSY_TIMEOUT_MS = 10_000;

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
 * This process's claim on one writer slot of a data dir. Taken atomically (one BEGIN IMMEDIATE
 * transaction across processes): the lowest slot with no holder or whose holder's pid is gone, so
 * a proxy restarted after a crash takes its old slot back and continues that chain. A pid reused
 * by an unrelated process only makes the next writer pick another slot. All writers must share
 * one pid namespace (one host, not several containers on one volume).
 */
export class WriterLease {
  #released = false;

  private constructor(
    readonly dataDir: string,
    readonly slot: number,
  ) {}

  static acquire(dataDir: string): WriterLease {
    const db = openDb(dataDir);
    try {
      const take = db.transaction((): number => {
        db.exec(
          'CREATE TABLE IF NOT EXISTS writers (slot INTEGER PRIMARY KEY, pid INTEGER NOT NULL, started_at TEXT NOT NULL)',
        );
        const rows = db.prepare('SELECT slot, pid FROM writers').all() as Array<{
          slot: number;
          pid: number;
        }>;
        const holders = new Map(rows.map((row) => [row.slot, row.pid]));
        let slot = 1;
        for (let pid = holders.get(slot); pid !== undefined && alive(pid); pid = holders.get(slot)) slot++;
        db.prepare('INSERT OR REPLACE INTO writers (slot, pid, started_at) VALUES (?, ?, ?)').run(
          slot,
          process.pid,
          new Date().toISOString(),
        );
        return slot;
      });
      return new WriterLease(dataDir, take.immediate());
    } finally {
      db.close();
    }
  }

  /** Gives the slot back (only if this process still holds it). Best effort: a dead pid frees it anyway. */
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
      // The row stays until this process exits; then its pid is dead and the slot is free again.
    }
  }
}
