// SQLite store of approvals: every state change is one conditional UPDATE, so races settle in the database.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Row, SCHEMA_VERSION, toApproval } from './schema.js';
import {
  type Approval,
  ApprovalConflictError,
  ApprovalNotFoundError,
  type ApprovalStatus,
  type DecideInput,
  type ExecutionReport,
} from './types.js';

export interface NewApproval {
  agent: string | null;
  server: string | null;
  tool: string;
  argsCanonical: string;
  argsSha256: string;
  callKey: string;
  rule: string | null;
  reason: string;
  policySha256: string | null;
  correlationId: string | null;
}

/** How a call that needs review was admitted (see `admit`). */
export type Admission =
  | { kind: 'created'; approval: Approval }
  | { kind: 'joined'; approval: Approval }
  | { kind: 'claimed'; approval: Approval };

export interface ListOptions {
  status?: ApprovalStatus | undefined;
  limit?: number | undefined;
}

export interface ApprovalStoreOptions {
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number | undefined;
}

function newId(): string {
  return `ap_${randomBytes(8).toString('hex')}`;
}

export class ApprovalStore {
  /** The open connection; other tables of the data dir's database (login codes) live beside ours. */
  readonly db: Database.Database;
  readonly file: string;
  private closed = false;

  constructor(file: string, options: ApprovalStoreOptions = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.file = file;
    this.db = new Database(file);
    // It holds held calls' real arguments (secrets included): only this user may read it. SQLite
    // gives the -wal and -shm files the database file's permissions.
    if (file !== ':memory:') chmodSync(file, 0o600);
    // WAL lets the UI process read while a proxy process writes; busy_timeout turns lock contention
    // between proxy processes into a short wait instead of SQLITE_BUSY.
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
  }

  private migrate(): void {
    const tx = this.db.transaction(() => {
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`approvals database ${this.file} has schema ${version}, newer than this Portcullis`);
      }
      this.db.exec(MIGRATIONS);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    });
    tx.immediate();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Changes whenever another connection commits: a cheap way to notice decisions made elsewhere. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  get(id: string): Approval | undefined {
    const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as Row | undefined;
    return row ? toApproval(row) : undefined;
  }

  /** Pending: oldest first (the order they should be decided in). Decided: newest decision first. */
  list(options: ListOptions = {}): Approval[] {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 200)), 1000);
    let rows: Row[];
    if (options.status === 'pending') {
      rows = this.db
        .prepare("SELECT * FROM approvals WHERE status = 'pending' ORDER BY created_at, id LIMIT ?")
        .all(limit) as Row[];
    } else if (options.status) {
      rows = this.db
        .prepare('SELECT * FROM approvals WHERE status = ? ORDER BY decided_at DESC, id LIMIT ?')
        .all(options.status, limit) as Row[];
    } else {
      rows = this.db
        .prepare(
          "SELECT * FROM approvals WHERE status != 'pending' ORDER BY decided_at DESC, created_at DESC LIMIT ?",
        )
        .all(limit) as Row[];
    }
    return rows.map(toApproval);
  }

  countPending(): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM approvals WHERE status = 'pending'").get() as {
      n: number;
    };
    return row.n;
  }

  /**
   * One atomic step for a call that needs review: an undelivered decision on the same call within the
   * retry window is claimed (an approval runs once); else a pending approval of the same call is joined;
   * else a new one is created. BEGIN IMMEDIATE makes concurrent proxy processes take turns.
   */
  admit(input: NewApproval, now: number, timeoutMs: number, retryWindowMs: number): Admission {
    const tx = this.db.transaction((): Admission => {
      const decided = this.db
        .prepare(
          `SELECT id FROM approvals
            WHERE call_key = ? AND status IN ('approved','denied','expired')
              AND delivered_at IS NULL AND decided_at >= ?
            ORDER BY decided_at DESC LIMIT 1`,
        )
        .get(input.callKey, now - retryWindowMs) as { id: string } | undefined;
      const claimed = decided && this.claim(decided.id, now);
      if (claimed) return { kind: 'claimed', approval: claimed };
      const pending = this.db
        .prepare(
          `SELECT * FROM approvals WHERE call_key = ? AND status = 'pending' AND expires_at > ?
            ORDER BY created_at LIMIT 1`,
        )
        .get(input.callKey, now) as Row | undefined;
      if (pending) return { kind: 'joined', approval: toApproval(pending) };
      const id = newId();
      this.db
        .prepare(
          `INSERT INTO approvals (id, status, agent, server, tool, args_canonical, args_sha256, call_key, rule,
             reason, policy_sha256, correlation_id, created_at, expires_at)
           VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          input.agent,
          input.server,
          input.tool,
          input.argsCanonical,
          input.argsSha256,
          input.callKey,
          input.rule,
          input.reason,
          input.policySha256,
          input.correlationId,
          now,
          now + timeoutMs,
        );
      const created = this.get(id);
      if (!created) throw new Error('approval vanished inside its own transaction');
      return { kind: 'created', approval: created };
    });
    return tx.immediate();
  }

  /**
   * Decide a pending approval. Exactly one decision wins however many race: the UPDATE only matches
   * while the row is still pending and unexpired; everyone else gets ApprovalConflictError.
   */
  decide(id: string, input: DecideInput, now: number): Approval {
    const status: ApprovalStatus = input.decision === 'approve' ? 'approved' : 'denied';
    const tx = this.db.transaction((): Approval => {
      const result = this.db
        .prepare(
          `UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, note = ?
            WHERE id = ? AND status = 'pending' AND expires_at > ?`,
        )
        .run(status, now, input.by, input.note ?? null, id, now);
      const approval = this.get(id);
      if (!approval) throw new ApprovalNotFoundError(id);
      if (result.changes !== 1) {
        // Overdue but not yet swept: report it as what it is, expired.
        throw new ApprovalConflictError(id, approval.status === 'pending' ? 'expired' : approval.status);
      }
      return approval;
    });
    return tx.immediate();
  }

  /** Mark every overdue pending approval expired; returns the ones this call expired (for the audit log). */
  expireDue(now: number): Approval[] {
    // A cheap read first: most ticks have nothing due and need no write lock.
    const any = this.db
      .prepare("SELECT 1 FROM approvals WHERE status = 'pending' AND expires_at <= ? LIMIT 1")
      .get(now);
    if (!any) return [];
    // One statement: only rows still pending when it runs come back, so each expiry is reported once.
    const rows = this.db
      .prepare(
        `UPDATE approvals SET status = 'expired', decided_at = expires_at, decided_by = 'timeout'
          WHERE status = 'pending' AND expires_at <= ? RETURNING *`,
      )
      .all(now) as Row[];
    return rows.map(toApproval);
  }

  /** The client went away: a still-pending approval becomes withdrawn and can never run. */
  withdraw(id: string, now: number): Approval | undefined {
    const result = this.db
      .prepare(
        `UPDATE approvals SET status = 'withdrawn', decided_at = ?, decided_by = 'client'
          WHERE id = ? AND status = 'pending'`,
      )
      .run(now, id);
    return result.changes === 1 ? this.get(id) : undefined;
  }

  /** Claim the right to act on a decision (for an approval: to run it). At most one caller ever gets it. */
  claim(id: string, now: number): Approval | undefined {
    const result = this.db
      .prepare(
        `UPDATE approvals SET delivered_at = ?
          WHERE id = ? AND delivered_at IS NULL AND status IN ('approved','denied','expired')`,
      )
      .run(now, id);
    return result.changes === 1 ? this.get(id) : undefined;
  }

  /** Record how the one execution went; only the claimed, approved, not yet reported row accepts it. */
  recordExecution(id: string, report: ExecutionReport, now: number): Approval | undefined {
    const result = this.db
      .prepare(
        `UPDATE approvals SET executed_at = ?, execution_ok = ?, execution_error = ?
          WHERE id = ? AND status = 'approved' AND delivered_at IS NOT NULL AND executed_at IS NULL`,
      )
      .run(now, report.ok ? 1 : 0, report.error ?? null, id);
    return result.changes === 1 ? this.get(id) : undefined;
  }
}
