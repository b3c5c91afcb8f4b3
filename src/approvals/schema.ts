// The approvals database: its schema (versioned with user_version) and how a row becomes an Approval.
import type { Approval, ApprovalKind, ApprovalStatus, ApprovalVote } from './types.js';

// 2: approval_refusals and the per-agent index (the pending cap). An older Portcullis refuses a newer
// database rather than queue past a cap it does not know about.
// 3: ui_login_codes, which the UI's LoginCodes created for itself before; IF NOT EXISTS keeps those.
// 4: approvals.kind (tool, resource or prompt), added by KIND_MIGRATION; existing rows are tool calls.
// 5: approvals.approvers, approve_in, decided_by_id and grantable (reviewer accounts, the two-person rule, approval in
// the client), added by REVIEW_MIGRATIONS, and approval_votes (one row per reviewer approving a two-person call).
export const SCHEMA_VERSION = 5;

/** Run when the approvals table has no kind column yet (a database of schema 3 or older, or a new one). */
export const KIND_MIGRATION = `ALTER TABLE approvals ADD COLUMN kind TEXT NOT NULL DEFAULT 'tool'
  CHECK (kind IN ('tool','resource','prompt'))`;

/** Run for each column the approvals table lacks (a database of schema 4 or older, or a new one). */
export const REVIEW_MIGRATIONS: Readonly<Record<string, string>> = {
  approvers:
    'ALTER TABLE approvals ADD COLUMN approvers INTEGER NOT NULL DEFAULT 1 CHECK (approvers IN (1, 2))',
  approve_in: `ALTER TABLE approvals ADD COLUMN approve_in TEXT NOT NULL DEFAULT 'ui'
    CHECK (approve_in IN ('ui','client','both'))`,
  decided_by_id: 'ALTER TABLE approvals ADD COLUMN decided_by_id TEXT',
  grantable: 'ALTER TABLE approvals ADD COLUMN grantable INTEGER NOT NULL DEFAULT 0',
};

export const MIGRATIONS = `
CREATE TABLE IF NOT EXISTS approvals (
  id              TEXT PRIMARY KEY,
  status          TEXT NOT NULL CHECK (status IN ('pending','approved','denied','expired','withdrawn')),
  agent           TEXT,
  server          TEXT,
  tool            TEXT NOT NULL,
  args_canonical  TEXT NOT NULL,
  args_sha256     TEXT NOT NULL,
  call_key        TEXT NOT NULL,
  rule            TEXT,
  reason          TEXT NOT NULL,
  policy_sha256   TEXT,
  correlation_id  TEXT,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  decided_at      INTEGER,
  decided_by      TEXT,
  note            TEXT,
  delivered_at    INTEGER,
  executed_at     INTEGER,
  execution_ok    INTEGER,
  execution_error TEXT
);
CREATE INDEX IF NOT EXISTS approvals_status_expires ON approvals (status, expires_at);
CREATE INDEX IF NOT EXISTS approvals_call_key ON approvals (call_key, status);
CREATE INDEX IF NOT EXISTS approvals_decided ON approvals (decided_at);
CREATE INDEX IF NOT EXISTS approvals_agent_status ON approvals (agent, status, expires_at);
CREATE TABLE IF NOT EXISTS approval_refusals (
  agent_key TEXT PRIMARY KEY,
  agent     TEXT,
  refused   INTEGER NOT NULL,
  since     INTEGER NOT NULL,
  last_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS approval_votes (
  approval_id TEXT NOT NULL REFERENCES approvals (id),
  reviewer_id TEXT NOT NULL,
  name        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  note        TEXT,
  PRIMARY KEY (approval_id, reviewer_id)
);
CREATE TABLE IF NOT EXISTS ui_login_codes (
  code_sha256 TEXT PRIMARY KEY,
  expires_at  INTEGER NOT NULL,
  used_at     INTEGER
);
`;

/** approval_refusals is keyed by this: SQLite's PRIMARY KEY would let many NULL agents in. */
export function agentKey(agent: string | null): string {
  return agent ?? '';
}

export interface Row {
  id: string;
  status: ApprovalStatus;
  kind: ApprovalKind;
  agent: string | null;
  server: string | null;
  tool: string;
  args_canonical: string;
  args_sha256: string;
  call_key: string;
  rule: string | null;
  reason: string;
  policy_sha256: string | null;
  correlation_id: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  note: string | null;
  delivered_at: number | null;
  executed_at: number | null;
  execution_ok: number | null;
  execution_error: string | null;
  approvers: number;
  approve_in: Approval['approveIn'];
  decided_by_id: string | null;
  grantable: number;
}

export interface VoteRow {
  approval_id: string;
  reviewer_id: string;
  name: string;
  at: number;
  note: string | null;
}

/** `votes`: the approval's rows of approval_votes, oldest first (none for a single-reviewer approval). */
export function toApproval(row: Row, votes: readonly VoteRow[] = []): Approval {
  return {
    id: row.id,
    status: row.status,
    kind: row.kind,
    agent: row.agent,
    server: row.server,
    tool: row.tool,
    argsCanonical: row.args_canonical,
    argsSha256: row.args_sha256,
    rule: row.rule,
    reason: row.reason,
    policySha256: row.policy_sha256,
    correlationId: row.correlation_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    note: row.note,
    deliveredAt: row.delivered_at,
    executedAt: row.executed_at,
    executionOk: row.execution_ok === null ? null : row.execution_ok === 1,
    executionError: row.execution_error,
    approvers: row.approvers,
    votes: votes.map(toVote),
    decidedById: row.decided_by_id,
    approveIn: row.approve_in,
    grantable: row.grantable === 1,
  };
}

function toVote(row: VoteRow): ApprovalVote {
  return { reviewerId: row.reviewer_id, name: row.name, at: row.at, note: row.note };
}
