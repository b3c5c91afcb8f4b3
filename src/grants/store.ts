// The grants table in <data-dir>/governance.db (module `grants`): insert, list, revoke, and the one atomic use.
import { join } from 'node:path';
import type { ApprovalKind } from '../approvals/index.js';
import { GOVERNANCE_DB, migrateModule, openSqlite, type SqliteDatabase } from '../util/index.js';
import { covers } from './constraints.js';
import { type Grant, GrantNotFoundError, GrantRevokedError } from './types.js';

const MIGRATIONS = [
  `CREATE TABLE grants (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     agent TEXT,
     server TEXT,
     tool TEXT NOT NULL,
     constraints TEXT NOT NULL,
     other_args INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     created_by_id TEXT NOT NULL,
     from_approval TEXT,
     uses INTEGER NOT NULL DEFAULT 0,
     last_used_at INTEGER,
     max_uses INTEGER,
     revoked_at INTEGER,
     revoked_by TEXT
   );
   CREATE INDEX grants_scope ON grants(tool, kind, expires_at);`,
];

interface Row {
  id: string;
  kind: ApprovalKind;
  agent: string | null;
  server: string | null;
  tool: string;
  constraints: string;
  other_args: number;
  created_at: number;
  expires_at: number;
  created_by: string;
  created_by_id: string;
  from_approval: string | null;
  uses: number;
  last_used_at: number | null;
  max_uses: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
}

function fromRow(row: Row): Grant {
  return {
    id: row.id,
    kind: row.kind,
    agent: row.agent,
    server: row.server,
    tool: row.tool,
    constraints: JSON.parse(row.constraints) as Grant['constraints'],
    otherArgs: row.other_args === 1,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    createdBy: row.created_by,
    createdById: row.created_by_id,
    fromApproval: row.from_approval,
    uses: row.uses,
    lastUsedAt: row.last_used_at,
    maxUses: row.max_uses,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}

/** The scope a use is looked up by: exact kind, agent, server and tool (null agent or server match only null). */
export interface GrantScope {
  kind: ApprovalKind;
  agent: string | null;
  server: string | null;
  tool: string;
}

const ACTIVE = 'revoked_at IS NULL AND expires_at > @now AND (max_uses IS NULL OR uses < max_uses)';

export class GrantStore {
  readonly db: SqliteDatabase;

  constructor(file: string) {
    this.db = openSqlite(file);
    try {
      migrateModule(this.db, 'grants', MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
  }

  static inDataDir(dataDir: string): GrantStore {
    return new GrantStore(join(dataDir, GOVERNANCE_DB));
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  insert(grant: Grant): void {
    this.db
      .prepare(
        `INSERT INTO grants (id, kind, agent, server, tool, constraints, other_args, created_at, expires_at,
           created_by, created_by_id, from_approval, uses, last_used_at, max_uses, revoked_at, revoked_by)
         VALUES (@id, @kind, @agent, @server, @tool, @constraints, @other_args, @created_at, @expires_at,
           @created_by, @created_by_id, @from_approval, @uses, @last_used_at, @max_uses, @revoked_at, @revoked_by)`,
      )
      .run({
        id: grant.id,
        kind: grant.kind,
        agent: grant.agent,
        server: grant.server,
        tool: grant.tool,
        constraints: JSON.stringify(grant.constraints),
        other_args: grant.otherArgs ? 1 : 0,
        created_at: grant.createdAt,
        expires_at: grant.expiresAt,
        created_by: grant.createdBy,
        created_by_id: grant.createdById,
        from_approval: grant.fromApproval,
        uses: grant.uses,
        last_used_at: grant.lastUsedAt,
        max_uses: grant.maxUses,
        revoked_at: grant.revokedAt,
        revoked_by: grant.revokedBy,
      });
  }

  get(id: string): Grant | undefined {
    const row = this.db.prepare('SELECT * FROM grants WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Active grants, the one expiring first at the top. */
  active(now: number): Grant[] {
    const rows = this.db.prepare(`SELECT * FROM grants WHERE ${ACTIVE} ORDER BY expires_at, id`).all({ now });
    return (rows as Row[]).map(fromRow);
  }

  /** Expired, revoked or used-up grants, the most recently ended first. */
  ended(now: number, limit = 50): Grant[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM grants WHERE NOT (${ACTIVE})
         ORDER BY COALESCE(revoked_at, MIN(expires_at, COALESCE(last_used_at, expires_at))) DESC, id LIMIT @limit`,
      )
      .all({ now, limit });
    return (rows as Row[]).map(fromRow);
  }

  /** Marks it revoked; a grant revoked already is refused, one unknown is not found. */
  revoke(id: string, by: string, now: number): Grant {
    const result = this.db
      .prepare('UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL')
      .run(now, by, id);
    const grant = this.get(id);
    if (!grant) throw new GrantNotFoundError(id);
    if (result.changes === 0) throw new GrantRevokedError(id);
    return grant;
  }

  /** Deletes a grant that was never announced (its audit record could not be written). */
  remove(id: string): void {
    this.db.prepare('DELETE FROM grants WHERE id = ?').run(id);
  }

  /**
   * The first active grant of `scope` whose constraints cover `args`, counted as used. The count is
   * one conditional UPDATE, so two processes racing for a grant's last use cannot both take it.
   */
  use(scope: GrantScope, args: unknown, now: number): Grant | undefined {
    const candidates = this.db
      .prepare(
        `SELECT * FROM grants WHERE kind = @kind AND tool = @tool AND agent IS @agent AND server IS @server
           AND ${ACTIVE} ORDER BY expires_at, id`,
      )
      .all({ ...scope, now }) as Row[];
    const take = this.db.prepare(
      `UPDATE grants SET uses = uses + 1, last_used_at = @now WHERE id = @id AND ${ACTIVE}`,
    );
    for (const row of candidates) {
      const grant = fromRow(row);
      if (!covers(grant.constraints, grant.otherArgs, args)) continue;
      if (take.run({ id: grant.id, now }).changes === 1)
        return { ...grant, uses: grant.uses + 1, lastUsedAt: now };
    }
    return undefined;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
