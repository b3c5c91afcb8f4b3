// The audit log's contract with the rest of Portcullis: events in, chained records out.

export type AuditEventKind = 'decision' | 'approval' | 'execution' | 'policy_reload' | 'upstream';

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

/** Thrown (as a rejected promise) when a record cannot be written: the caller must not forward the call. */
export class AuditWriteError extends Error {
  readonly code = 'E_AUDIT_WRITE';
}

export interface AuditSink {
  /** Resolves once the record is written (per the log's flush policy); rejects with AuditWriteError otherwise. */
  append(event: AuditEvent): Promise<AuditRecord>;
}
