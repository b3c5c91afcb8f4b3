// Shared set-up for approval tests: a real SQLite file in a fresh temp dir, and a recording audit sink.
import type { ReviewOutcome } from '../../src/approvals/index.js';
import type { AuditEvent, AuditRecord, AuditSink } from '../../src/audit/types.js';

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

/** The id of the approval a review outcome is about; a refusal (over the pending cap) has none and fails the test. */
export function idOf(outcome: ReviewOutcome): string {
  if (outcome.status === 'refused') throw new Error(`call was refused: ${outcome.refusal.reason}`);
  return outcome.approval.id;
}
