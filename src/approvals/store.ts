// SQLite store of approvals: every state change is one conditional UPDATE, so races settle in the database.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ExecutionReport } from '../proxy/index.js';
import { type ApprovalCursor, decodeCursor, encodeCursor, orderOf } from './paging.js';
import {
  agentKey,
  KIND_MIGRATION,
  MIGRATIONS,
  REVIEW_MIGRATIONS,
  type Row,
  SCHEMA_VERSION,
  toApproval,
  type VoteRow,
} from './schema.js';
import {
  type AgentPending,
  type Approval,
  ApprovalAlreadyVotedError,
  ApprovalConflictError,
  ApprovalInClientError,
  type ApprovalKind,
  ApprovalNeedsAccountError,
  ApprovalNotFoundError,
  type ApprovalPage,
  ApprovalQueryError,
  type ApprovalStatus,
  type DecideInput,
  type PendingByAgent,
} from './types.js';

export interface NewApproval {
  /** Default tool. */
  kind?: ApprovalKind | undefined;
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
  /** Different reviewer accounts that must approve; default 1. */
  approvers?: 1 | 2 | undefined;
  /** Where a person may approve it; default ui. */
  approveIn?: Approval['approveIn'] | undefined;
  /** See Approval.grantable; default false. */
  grantable?: boolean | undefined;
}

/** How a call that needs review was admitted (see `admit`). */
export type Admission =
  | { kind: 'created'; approval: Approval }
  | { kind: 'joined'; approval: Approval }
  | { kind: 'claimed'; approval: Approval }
  | { kind: 'refused'; pending: number; cap: number; refused: number; refusedSince: number };

/** The policy's approval settings that admission needs. */
export interface AdmitLimits {
  timeoutMs: number;
  retryWindowMs: number;
  /** Over this many pending approvals of one agent, a new call is refused instead of queued. */
  maxPendingPerAgent: number;
}

export interface ListOptions {
  status?: ApprovalStatus | undefined;
  limit?: number | undefined;
}

export interface PageOptions {
  status: ApprovalStatus;
  /** Only this agent's approvals. */
  agent?: string | undefined;
  /** 1..PAGE_LIMIT_MAX. */
  limit: number;
  /** A previous page's nextCursor or prevCursor. */
  cursor?: string | undefined;
}

export const PAGE_LIMIT_MAX = 1000;

/** Refusal counters of agents not refused for this long are dropped (the table stays small). */
const REFUSAL_RETENTION_MS = 24 * 3_600_000;

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
      const columns = this.db.prepare('PRAGMA table_info(approvals)').all() as { name: string }[];
      if (!columns.some((c) => c.name === 'kind')) this.db.exec(KIND_MIGRATION);
      for (const [column, sql] of Object.entries(REVIEW_MIGRATIONS)) {
        if (!columns.some((c) => c.name === column)) this.db.exec(sql);
      }
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
    return row ? this.approvalsOf([row])[0] : undefined;
  }

  /** Rows as approvals, with the votes of those that need several reviewers (one query for them all). */
  private approvalsOf(rows: readonly Row[]): Approval[] {
    const voted = rows.filter((row) => row.approvers > 1).map((row) => row.id);
    if (voted.length === 0) return rows.map((row) => toApproval(row));
    const votes = this.db
      .prepare(
        `SELECT * FROM approval_votes WHERE approval_id IN (SELECT value FROM json_each(?)) ORDER BY at, reviewer_id`,
      )
      .all(JSON.stringify(voted)) as VoteRow[];
    return rows.map((row) =>
      toApproval(
        row,
        votes.filter((vote) => vote.approval_id === row.id),
      ),
    );
  }

  /** Pending: soonest expiry first (the order they must be decided in). Decided: newest decision first. */
  list(options: ListOptions = {}): Approval[] {
    const limit = Math.min(Math.max(1, Math.floor(options.limit ?? 200)), 1000);
    let rows: Row[];
    if (options.status === 'pending') {
      rows = this.db
        .prepare("SELECT * FROM approvals WHERE status = 'pending' ORDER BY expires_at, id LIMIT ?")
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
    return this.approvalsOf(rows);
  }

  countPending(): number {
    const row = this.db.prepare("SELECT count(*) AS n FROM approvals WHERE status = 'pending'").get() as {
      n: number;
    };
    return row.n;
  }

  /**
   * One page of the approvals with this status (order: see paging.ts), by keyset: a cursor names the sort
   * key of the approval a page continues from, so approvals arriving or being decided meanwhile never
   * shift a page, duplicate a row or skip one. Reads run in one transaction, so page and total agree.
   */
  page(options: PageOptions): ApprovalPage {
    const { status, agent } = options;
    if (!Number.isSafeInteger(options.limit) || options.limit < 1 || options.limit > PAGE_LIMIT_MAX) {
      throw new ApprovalQueryError(`limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`);
    }
    const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor, status);
    const { column, ascending } = orderOf(status);
    const where = `status = ?${agent === undefined ? '' : ' AND agent = ?'}`;
    const params: unknown[] = agent === undefined ? [status] : [status, agent];
    const keyOf = (a: Approval): [number, string] => [
      (column === 'expires_at' ? a.expiresAt : a.decidedAt) ?? 0,
      a.id,
    ];
    /** Up to `limit` rows on one side of `key` (or from the start), in list order. */
    const side = (key: [number, string] | undefined, forward: boolean, limit: number): Approval[] => {
      // Forward in the list is "greater" when the list ascends; backward the comparison and order flip.
      const greater = forward === ascending;
      const cmp = key === undefined ? '' : ` AND (${column}, id) ${greater ? '>' : '<'} (?, ?)`;
      const dir = greater ? 'ASC' : 'DESC';
      const rows = this.db
        .prepare(`SELECT * FROM approvals WHERE ${where}${cmp} ORDER BY ${column} ${dir}, id ${dir} LIMIT ?`)
        .all(...params, ...(key ?? []), limit) as Row[];
      const approvals = this.approvalsOf(rows);
      return forward ? approvals : approvals.reverse();
    };
    const tx = this.db.transaction((): ApprovalPage => {
      const total = (
        this.db.prepare(`SELECT count(*) AS n FROM approvals WHERE ${where}`).get(...params) as { n: number }
      ).n;
      let approvals: Approval[];
      let from: [number, string] | undefined = cursor ? [cursor.at, cursor.id] : undefined;
      if (cursor?.direction === 'prev') {
        approvals = side(from, false, options.limit + 1);
        if (approvals.length <= options.limit) {
          // Back at the start (the rows before were decided meanwhile): show the whole first page.
          approvals = side(undefined, true, options.limit + 1);
          from = undefined;
        } else {
          approvals = approvals.slice(1);
        }
      } else {
        approvals = side(from, true, options.limit + 1);
      }
      const more = approvals.length > options.limit;
      if (more) approvals = approvals.slice(0, options.limit);
      const first = approvals[0];
      const last = approvals.at(-1);
      const cursorAt = (direction: ApprovalCursor['direction'], key: [number, string]) =>
        encodeCursor({ status, direction, at: key[0], id: key[1] });
      const after = last ? keyOf(last) : from;
      const nextCursor =
        after !== undefined && (more || (cursor?.direction === 'prev' && side(after, true, 1).length > 0))
          ? cursorAt('next', after)
          : null;
      const before = first ? keyOf(first) : from;
      const prevCursor =
        from !== undefined && before !== undefined && side(before, false, 1).length > 0
          ? cursorAt('prev', before)
          : null;
      // How many come before this page, so a page can say "21–40 of 523".
      const offset =
        prevCursor === null || !first
          ? 0
          : (
              this.db
                .prepare(
                  `SELECT count(*) AS n FROM approvals WHERE ${where} AND (${column}, id) ${ascending ? '<' : '>'} (?, ?)`,
                )
                .get(...params, ...keyOf(first)) as { n: number }
            ).n;
      return { approvals, total, offset, nextCursor, prevCursor };
    });
    return tx.deferred();
  }

  /** Who the pending approvals belong to, most first; each agent's refusals since its current flood began. */
  pendingByAgent(now: number, limit = 20): PendingByAgent {
    const tx = this.db.transaction((): PendingByAgent => {
      const rows = this.db
        .prepare(
          `SELECT p.agent, p.pending, r.refused, r.since, r.last_at
             FROM (SELECT agent, count(*) AS pending, min(created_at) AS oldest FROM approvals
                    WHERE status = 'pending' AND expires_at > ? GROUP BY agent) p
             LEFT JOIN approval_refusals r ON r.agent_key = coalesce(p.agent, '') AND r.last_at >= p.oldest
            ORDER BY p.pending DESC, p.agent LIMIT ?`,
        )
        .all(now, limit) as {
        agent: string | null;
        pending: number;
        refused: number | null;
        since: number | null;
        last_at: number | null;
      }[];
      const agentCount = (
        this.db
          .prepare(
            `SELECT count(*) AS n FROM (SELECT DISTINCT agent FROM approvals
               WHERE status = 'pending' AND expires_at > ?)`,
          )
          .get(now) as { n: number }
      ).n;
      const agents: AgentPending[] = rows.map((row) => ({
        agent: row.agent,
        pending: row.pending,
        refused: row.refused ?? 0,
        refusedSince: row.since,
        lastRefusedAt: row.last_at,
      }));
      return { agents, agentCount };
    });
    return tx.deferred();
  }

  /**
   * One atomic step for a call that needs review: an undelivered decision on the same call within the
   * retry window is claimed (an approval runs once); else a pending approval of the same call is joined;
   * else, if the agent is below its cap of pending approvals, a new one is created, and if not the call
   * is refused and counted. BEGIN IMMEDIATE makes concurrent proxy processes take turns, so the count
   * and the insert cannot interleave with another process's: the cap holds across processes.
   */
  admit(input: NewApproval, now: number, limits: AdmitLimits): Admission {
    const { timeoutMs, retryWindowMs } = limits;
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
      if (pending) return { kind: 'joined', approval: this.approvalsOf([pending])[0] as Approval };
      const load = this.db
        .prepare(
          `SELECT count(*) AS n, min(created_at) AS oldest FROM approvals
            WHERE agent IS ? AND status = 'pending' AND expires_at > ?`,
        )
        .get(input.agent, now) as { n: number; oldest: number | null };
      if (load.n >= limits.maxPendingPerAgent) return this.refuse(input.agent, load, limits, now);
      const id = newId();
      this.db
        .prepare(
          `INSERT INTO approvals (id, status, agent, server, tool, args_canonical, args_sha256, call_key, rule,
             reason, policy_sha256, correlation_id, created_at, expires_at, kind, approvers, approve_in, grantable)
           VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
          input.kind ?? 'tool',
          input.approvers ?? 1,
          input.approveIn ?? 'ui',
          input.grantable === true ? 1 : 0,
        );
      const created = this.get(id);
      if (!created) throw new Error('approval vanished inside its own transaction');
      return { kind: 'created', approval: created };
    });
    return tx.immediate();
  }

  /**
   * Count a refusal. A flood is one stretch in which the agent always had approvals pending: the count
   * carries on while the last refusal came after the agent's oldest approval still pending (which has
   * been pending ever since), and starts again otherwise. Inside admit's transaction.
   */
  private refuse(
    agent: string | null,
    load: { n: number; oldest: number | null },
    limits: AdmitLimits,
    now: number,
  ): Admission {
    this.db.prepare('DELETE FROM approval_refusals WHERE last_at < ?').run(now - REFUSAL_RETENTION_MS);
    const oldest = load.oldest ?? now;
    // `now` was read before this process got the write lock; meanwhile another process may have
    // queued the agent's oldest pending approval. A refusal at the cap comes after that approval, so
    // it is counted no earlier than it: otherwise a late-stamped refusal would end the flood it is part of.
    const at = Math.max(now, oldest);
    const row = this.db
      .prepare(
        `INSERT INTO approval_refusals (agent_key, agent, refused, since, last_at) VALUES (?, ?, 1, ?, ?)
         ON CONFLICT (agent_key) DO UPDATE SET
           refused = CASE WHEN last_at >= ? THEN refused + 1 ELSE 1 END,
           since   = CASE WHEN last_at >= ? THEN since ELSE excluded.since END,
           last_at = max(last_at, excluded.last_at)
         RETURNING refused, since`,
      )
      .get(agentKey(agent), agent, at, at, oldest, oldest) as { refused: number; since: number };
    return {
      kind: 'refused',
      pending: load.n,
      cap: limits.maxPendingPerAgent,
      refused: row.refused,
      refusedSince: row.since,
    };
  }

  /**
   * Decide a pending approval. Exactly one decision wins however many race: the check that it is still
   * pending and unexpired and the write run in one IMMEDIATE transaction, so processes take turns;
   * everyone after the winner gets ApprovalConflictError. On an
   * approval that needs two reviewers, an approve is a vote: it is stored, and the approval stays
   * pending (returned with its votes) until a second, different account approves. One deny settles it.
   * An approval the policy keeps in the client (`approve_in: client`) takes an approve only from there.
   */
  decide(id: string, input: DecideInput, now: number): Approval {
    const tx = this.db.transaction((): Approval => {
      const current = this.get(id);
      if (!current) throw new ApprovalNotFoundError(id);
      if (current.status !== 'pending' || current.expiresAt <= now) {
        // Overdue but not yet swept: report it as what it is, expired.
        throw new ApprovalConflictError(id, current.status === 'pending' ? 'expired' : current.status);
      }
      const reviewer = input.reviewer;
      const approving = input.decision === 'approve';
      if (approving && current.approveIn === 'client' && reviewer?.kind !== 'client') {
        throw new ApprovalInClientError(id);
      }
      if (approving && current.approvers > 1) {
        if (reviewer === undefined || (reviewer.kind !== 'reviewer' && reviewer.kind !== 'admin')) {
          throw new ApprovalNeedsAccountError(id);
        }
        if (current.votes.some((vote) => vote.reviewerId === reviewer.id)) {
          throw new ApprovalAlreadyVotedError(id, reviewer.name);
        }
        this.db
          .prepare(
            'INSERT INTO approval_votes (approval_id, reviewer_id, name, at, note) VALUES (?, ?, ?, ?, ?)',
          )
          .run(id, reviewer.id, reviewer.name, now, input.note ?? null);
        if (current.votes.length + 1 < current.approvers) return this.get(id) as Approval;
      }
      const by =
        approving && current.approvers > 1
          ? [...current.votes.map((vote) => vote.name), reviewer?.name].join(' + ')
          : input.by;
      this.db
        .prepare(
          `UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, decided_by_id = ?, note = ?
            WHERE id = ? AND status = 'pending'`,
        )
        .run(approving ? 'approved' : 'denied', now, by, reviewer?.id ?? null, input.note ?? null, id);
      return this.get(id) as Approval;
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
    return this.approvalsOf(rows);
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

  /**
   * Every pending approval of `agent` becomes withdrawn (its agent was suspended): `by` and `note` say
   * why, for the waiting caller and the record. One statement, so each is withdrawn (and reported) once.
   */
  withdrawAgent(agent: string, now: number, by: string, note: string): Approval[] {
    const rows = this.db
      .prepare(
        `UPDATE approvals SET status = 'withdrawn', decided_at = ?, decided_by = ?, note = ?
          WHERE agent = ? AND status = 'pending' RETURNING *`,
      )
      .all(now, by, note, agent) as Row[];
    return this.approvalsOf(rows);
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
