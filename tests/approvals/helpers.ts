// Shared set-up for approval tests: a real SQLite file in a fresh temp dir, and a recording audit sink.
import type { AuditEvent, AuditRecord, AuditSink } from '../../src/audit/types.js';
import type { ReviewVerdict } from '../../src/proxy/index.js';

/**
 * The audit log is another engineer's module; the queue depends only on the AuditSink contract, so this
 * records what crosses that contract instead of writing a chained file.
 */
export class RecordingAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  async append(event: AuditEvent): Promise<AuditRecord> {
    this.events.push(event);
    return { ...event, seq: this.events.length, ts: new Date().toISOString(), prev: '', hash: '' };
  }
  statuses(approvalId: string): unknown[] {
    return this.events.filter((e) => e.approval_id === approvalId).map((e) => e.status);
  }
}

/** The id of the approval a verdict is about; a refusal (over the pending cap) has none and fails the test. */
export function idOf(verdict: ReviewVerdict): string {
  if (verdict.approvalId === undefined) throw new Error(`no approval: ${JSON.stringify(verdict)}`);
  return verdict.approvalId;
}

/** A verdict in the queue's words: `approved` (run), `pending` (respond), or why nothing runs. */
export function statusOf(verdict: ReviewVerdict): string {
  if (verdict.kind === 'run') return 'approved';
  if (verdict.kind === 'respond') return 'pending';
  return verdict.cause;
}
