// The audit log's contract with the rest of Portcullis: events in, chained records out.

/**
 * What a record is about. `chain_break` is written by the log itself (never by callers) when it
 * reopens over a tail that does not continue the chain; see src/audit/README.md.
 */
export type AuditEventKind =
  | 'decision'
  | 'approval'
  | 'execution'
  | 'policy_reload'
  | 'upstream'
  | 'chain_break';

/** What a caller hands the audit log; seq, ts, prev and hash are added by the log. */
export interface AuditEvent {
  event: AuditEventKind;
  /** Ties one call's decision, approval and execution records together. */
  correlation_id?: string | undefined;
  agent?: string | null | undefined;
  server?: string | null | undefined;
  tool?: string | null | undefined;
  decision?: 'allow' | 'deny' | 'review' | undefined;
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

// Conventions for the event-specific fields, so the UI and `audit tail` can read every producer's
// records the same way. All are plain AuditEvents (assignable to it); the log checks none of them.

/** A policy decision on one tools/call. */
export interface DecisionAuditEvent extends AuditEvent {
  event: 'decision';
  decision: 'allow' | 'deny' | 'review';
  rule: string | null;
  reason: string;
  policy_sha256: string;
}

/**
 * The life of one approval request. `by` and `note` are set when a person decided; `revealed`
 * says a reviewer was shown one masked argument, `path` (a JSON Pointer), never its value.
 */
export interface ApprovalAuditEvent extends AuditEvent {
  event: 'approval';
  action: 'created' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'revealed';
  approval_id: string;
  by?: string | undefined;
  note?: string | undefined;
  path?: string | undefined;
}

/** The upstream's answer to a forwarded call. */
export interface ExecutionAuditEvent extends AuditEvent {
  event: 'execution';
  /** ok: a result; tool_error: a result with isError; protocol_error: a JSON-RPC error or transport failure. */
  outcome: 'ok' | 'tool_error' | 'protocol_error';
  latency_ms: number;
  error?: string | undefined;
}

/** A policy (re)load: accepted (old and new hash) or refused (with its errors). */
export interface PolicyReloadAuditEvent extends AuditEvent {
  event: 'policy_reload';
  outcome: 'accepted' | 'refused';
  old_sha256: string | null;
  new_sha256?: string | undefined;
  errors?: string[] | undefined;
}

/** An upstream server process or connection changed state. */
export interface UpstreamAuditEvent extends AuditEvent {
  event: 'upstream';
  action: 'started' | 'exited' | 'restarted';
  pid?: number | undefined;
  exit_code?: number | null | undefined;
  signal?: string | null | undefined;
}
