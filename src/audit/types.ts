// The audit log's contract with the rest of Portcullis: events in, chained records out.

/**
 * What a record is about, listed once: the kind type, the log's check of what callers may write and
 * the UI and API filters all derive from it. `chain_break` is written by the log itself (never by
 * callers) when it reopens over a tail that does not continue the chain; see src/audit/README.md.
 */
export const AUDIT_EVENT_KINDS = [
  'decision',
  'approval',
  'execution',
  'policy_reload',
  'upstream',
  'chain_break',
  'pin',
  'agent',
  'incident',
  'grant',
  'reviewer',
] as const;

export type AuditEventKind = (typeof AUDIT_EVENT_KINDS)[number];

/** A policy decision as records carry it (and as the filters take it). */
export const AUDIT_DECISIONS = ['allow', 'deny', 'review'] as const;

export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

/** What a caller hands the audit log; seq, ts, prev and hash are added by the log. */
export interface AuditEvent {
  event: AuditEventKind;
  /** Ties one call's decision, approval and execution records together. */
  correlation_id?: string | undefined;
  agent?: string | null | undefined;
  server?: string | null | undefined;
  tool?: string | null | undefined;
  decision?: AuditDecision | undefined;
  rule?: string | null | undefined;
  reason?: string | undefined;
  policy_sha256?: string | undefined;
  /** Tool arguments; the log redacts secret-looking keys before writing. */
  args?: unknown;
  /** Event-specific fields (approval status and reviewer, execution outcome and latency, ...). */
  [field: string]: unknown;
}

/** A record as written: one JSONL line. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  ts: string;
  prev: string;
  hash: string;
}

/** Why a record could not be written. */
export type AuditWriteFailure = 'io' | 'invalid_event' | 'closed';

/** Thrown (as a rejected promise) when a record cannot be written: the caller must not forward the call. */
export class AuditWriteError extends Error {
  readonly code = 'E_AUDIT_WRITE';
  /** io: the disk or directory refused the write; invalid_event: the event is not JSON; closed: log closed. */
  readonly failure: AuditWriteFailure;
  constructor(message: string, failure: AuditWriteFailure = 'io', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditWriteError';
    this.failure = failure;
  }
}

export interface AuditSink {
  /** Resolves once the record is written (per the log's flush policy); rejects with AuditWriteError otherwise. */
  append(event: AuditEvent): Promise<AuditRecord>;
}

/** The log's health, for /health/ready: ok until a write fails, ok again once a write succeeds. */
export type AuditStatus =
  | { ok: true; dir: string; file: string | null; seq: number; hash: string }
  | { ok: false; dir: string; error: string; since: string };

// Conventions for the event-specific fields, as the writers write them, so the UI and `audit tail`
// can read every producer's records the same way. All are plain AuditEvents (assignable to it);
// the log checks none of them. A writer that changes its fields changes its type here.

/** A policy decision on one tools/call (src/proxy/gate.ts), with the call's arguments. */
export interface DecisionAuditEvent extends AuditEvent {
  event: 'decision';
  decision: AuditDecision;
  rule: string | null;
  reason: string;
  /** Absent when the call was refused before any policy was read. */
  policy_sha256?: string | undefined;
  args?: unknown;
}

/**
 * A policy decision on a resources/read, resources/subscribe or prompts/get (src/proxy/gate.ts):
 * `tool` is null, `method` names the request and `resource` (the URI as sent) or `prompt` (the
 * upstream's name) what it asked for; `args` are a prompt's arguments. Its `execution` record
 * carries the same three fields.
 */
export interface AccessDecisionAuditEvent extends DecisionAuditEvent {
  tool: null;
  method: 'resources/read' | 'resources/subscribe' | 'prompts/get';
  resource?: string | undefined;
  prompt?: string | undefined;
}

/** Where one approval request stands, as the approval queue and the gate record it. */
export type ApprovalAuditStatus =
  | 'pending'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'withdrawn'
  | 'refused'
  | 'released'
  | 'executed'
  | 'voted'
  | 'granted';

/**
 * The life of one approval request (src/approvals/queue.ts; `released` by the gate; `revealed` by
 * the UI). By `status`: `pending` carries the arguments; `approved`/`denied` the reviewer
 * (`decided_by`) and `note`; `refused` (over the pending cap, nothing stored, so no approval_id)
 * `pending`, `max_pending_per_agent` and `refused_in_flood`; `released` the arguments about to run;
 * `executed` `ok`, `error` and `duration_ms`; `voted` one approval of several a two-person rule
 * needs (`decided_by`, `reviewer`, `votes`, `approvers`); `granted` a call a standing grant let
 * run without asking (`grant_id`, the arguments). A reviewer shown one masked argument is
 * `action: 'revealed'` (no status) with `by` and `path` (a JSON Pointer), never the value.
 */
export interface ApprovalAuditEvent extends AuditEvent {
  event: 'approval';
  status?: ApprovalAuditStatus | undefined;
  action?: 'revealed' | undefined;
  approval_id?: string | undefined;
  /** SHA-256 of the canonical arguments: tells two calls apart without showing them. */
  args_sha256?: string | undefined;
  decided_by?: string | null | undefined;
  /** The reviewer account that decided or voted (`rv_…`, `admin`, `client:…`, `cli:…`). */
  reviewer?: string | null | undefined;
  note?: string | null | undefined;
  by?: string | undefined;
  path?: string | undefined;
  grant_id?: string | undefined;
}

/** The upstream's answer to a forwarded call (src/proxy/gate.ts). */
export interface ExecutionAuditEvent extends AuditEvent {
  event: 'execution';
  /** ok: a result; tool_error: a result with isError; protocol_error: a JSON-RPC error or transport failure. */
  outcome: 'ok' | 'tool_error' | 'protocol_error';
  latency_ms: number;
  /** Set when the call ran because a person approved it. */
  approval_id?: string | undefined;
  error?: string | undefined;
  /** Set when the result held credentials: what the policy's `results.secrets` made of it. */
  result_action?: 'redacted' | 'blocked' | 'passed' | undefined;
  /** Where (JSON Pointer into the result) and by which detectors (`a+b`), and how many; never the value. */
  result_findings?: Array<{ pointer: string; detector: string; count: number }> | undefined;
  /** Strings of the result that read as instructions to the model (flag only), by pattern family. */
  result_instructions?: Array<{ pointer: string; detector: string }> | undefined;
}

/** A policy reload (src/app.ts): accepted (old and new hash) or refused (why, and its errors). */
export interface PolicyReloadAuditEvent extends AuditEvent {
  event: 'policy_reload';
  outcome: 'accepted' | 'refused';
  old_sha256: string;
  new_sha256?: string | undefined;
  /** The policy in force after the event: the new one, or the old one when refused. */
  policy_sha256: string;
  reason?: string | undefined;
  errors?: string[] | undefined;
}

/** An upstream server connection changed state (src/app.ts, from the session's lifecycle hook). */
export interface UpstreamAuditEvent extends AuditEvent {
  event: 'upstream';
  server: string;
  action: 'started' | 'exited' | 'restarted';
  /** The agent whose session runs this upstream. */
  agent: string;
  /** Why it changed, when known ("connection closed"). */
  detail?: string | undefined;
}

/** What happened to an agent (src/agents, src/incidents): `by` who did it ("portcullis" for automatic ones). */
export type AgentAuditAction =
  | 'registered'
  | 'added'
  | 'updated'
  | 'trust_changed'
  | 'key_added'
  | 'key_revoked'
  | 'removed'
  | 'suspended'
  | 'reinstated';

/**
 * A change to an agent of the registry (`agent` names it): `trust`/`from` on trust_changed, `key`
 * (the key's id and prefix, never the key) on key_added/key_revoked, `incident` on suspended.
 */
export interface AgentAuditEvent extends AuditEvent {
  event: 'agent';
  action: AgentAuditAction;
  by: string;
}

/** An incident opened, acknowledged or resolved (src/incidents): `incident` is its id. */
export interface IncidentAuditEvent extends AuditEvent {
  event: 'incident';
  action: 'opened' | 'acknowledged' | 'resolved' | 'recurred';
  incident: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  type: string;
  by: string;
}

/**
 * A standing grant created or revoked (src/grants): `grant` is its id; `created` carries its scope
 * (`agent`, `server`, `tool`), `constraints`, `expires_at` and `approval_id` it came from.
 */
export interface GrantAuditEvent extends AuditEvent {
  event: 'grant';
  action: 'created' | 'revoked' | 'expired';
  grant: string;
  by: string;
  reviewer?: string | null | undefined;
}

/** A reviewer account added, changed or removed (src/reviewers): `reviewer` is its id; never a credential. */
export interface ReviewerAuditEvent extends AuditEvent {
  event: 'reviewer';
  action: 'added' | 'removed' | 'token_issued' | 'password_set' | 'disabled' | 'enabled';
  reviewer: string;
  name: string;
  by: string;
}
