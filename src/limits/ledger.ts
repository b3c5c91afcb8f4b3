// The budgets' ledger in <data-dir>/governance.db: one row per booked call, summed over a rolling
// window; check-and-book runs in one IMMEDIATE transaction, so processes sharing the file cannot
// both spend the last of a budget.
import path from 'node:path';
import { GOVERNANCE_DB, migrateModule, openSqlite, type SqliteDatabase } from './deps.js';

/** Rows older than this (or the longest window, if longer) are pruned: no budget can still count them. */
const RETENTION_MS = 31 * 86_400_000;

const STEPS = [
  `CREATE TABLE budget_bookings (
     id INTEGER PRIMARY KEY,
     budget TEXT NOT NULL,
     agent TEXT NOT NULL,
     server TEXT NOT NULL,
     tool TEXT NOT NULL,
     amount REAL NOT NULL,
     at INTEGER NOT NULL,
     correlation_id TEXT NOT NULL
   );
   CREATE INDEX budget_bookings_window ON budget_bookings (budget, agent, at);`,
];

/** The ledger could not be read or written: the call it was asked about is denied (closed). */
export class LedgerError extends Error {
  readonly code = 'BUDGET_LEDGER_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerError';
  }
}

export interface Booking {
  budget: string;
  agent: string;
  server: string;
  tool: string;
  amount: number;
  correlationId: string;
}

export class BudgetLedger {
  readonly file: string;
  private readonly db: SqliteDatabase;

  private constructor(db: SqliteDatabase, file: string) {
    this.db = db;
    this.file = file;
  }

  /** Opens (creating) the ledger of a data dir. */
  static open(dataDir: string): BudgetLedger {
    const file = path.join(dataDir, GOVERNANCE_DB);
    return BudgetLedger.openFile(file);
  }

  static openFile(file: string): BudgetLedger {
    let db: SqliteDatabase | undefined;
    try {
      db = openSqlite(file);
      migrateModule(db, 'budgets', STEPS);
      return new BudgetLedger(db, file);
    } catch (error) {
      db?.close();
      throw new LedgerError(`the budget ledger ${file} cannot be opened: ${String(error)}`, { cause: error });
    }
  }

  /** The sum booked against `budget` by `agent` in the window ending at `now` (a row counts while at > now - window). */
  used(budget: string, agent: string, windowMs: number, now: number): number {
    return this.guard('read', () => {
      const row = this.db
        .prepare(
          'SELECT COALESCE(SUM(amount), 0) AS used FROM budget_bookings WHERE budget = ? AND agent = ? AND at > ?',
        )
        .get(budget, agent, now - windowMs) as { used: number };
      return row.used;
    });
  }

  /** Each agent's sum against `budget` in its window now, for agents with any. */
  usage(budget: string, windowMs: number, now: number): { agent: string; used: number }[] {
    return this.guard(
      'read',
      () =>
        this.db
          .prepare(
            'SELECT agent, SUM(amount) AS used FROM budget_bookings WHERE budget = ? AND at > ? GROUP BY agent ORDER BY agent',
          )
          .all(budget, now - windowMs) as { agent: string; used: number }[],
    );
  }

  /**
   * Runs `decide` inside one IMMEDIATE transaction (the write lock is taken first, so no other
   * process books in between its reads and its bookings) and books what it returns; the row ids of
   * the bookings come back, to give them back with `unbook`.
   */
  checkAndBook<T>(
    decide: () => { result: T; book: Booking[] },
    now: number,
    longestWindowMs: number,
  ): { result: T; ids: number[] } {
    return this.guard('book', () => {
      const insert = this.db.prepare(
        'INSERT INTO budget_bookings (budget, agent, server, tool, amount, at, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      );
      const tx = this.db.transaction(() => {
        const { result, book } = decide();
        const ids = book.map((b) =>
          Number(
            insert.run(b.budget, b.agent, b.server, b.tool, b.amount, now, b.correlationId).lastInsertRowid,
          ),
        );
        if (ids.length > 0)
          this.db
            .prepare('DELETE FROM budget_bookings WHERE at <= ?')
            .run(now - Math.max(RETENTION_MS, longestWindowMs));
        return { result, ids };
      });
      return tx.immediate();
    });
  }

  /** Gives bookings back: their call never ran. */
  unbook(ids: readonly number[]): void {
    if (ids.length === 0) return;
    this.guard('give back', () => {
      const remove = this.db.prepare('DELETE FROM budget_bookings WHERE id = ?');
      this.db.transaction(() => {
        for (const id of ids) remove.run(id);
      })();
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof LedgerError) throw error;
      throw new LedgerError(`the budget ledger ${this.file} cannot ${what}: ${String(error)}`, {
        cause: error,
      });
    }
  }
}
