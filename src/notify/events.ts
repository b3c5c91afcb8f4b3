// What a webhook is told of, built from the approval queue's changes and the audit log's records.
import type { Approval } from '../approvals/index.js';
import type { AgentAuditEvent, AuditRecord, IncidentAuditEvent } from '../audit/index.js';

/**
 * The structured fields a receiver reads (under `portcullis` in the body). Never the call's
 * arguments: they go to a third party (a chat service), so only their hash travels, and the
 * link leads to the UI where a signed-in person sees them masked.
 */
export type Notification =
  | {
      event: 'approval_pending';
      approval_id: string;
      kind: 'tool' | 'resource' | 'prompt';
      agent: string | null;
      server: string | null;
      tool: string;
      rule: string | null;
      reason: string;
      args_sha256: string;
      correlation_id: string | null;
      created_at: string;
      expires_at: string;
    }
  | {
      event: 'incident_opened';
      incident: string;
      severity: IncidentAuditEvent['severity'];
      type: string;
      agent: string | null;
      by: string;
      reason: string | null;
      audit_seq: number;
      at: string;
    }
  | {
      event: 'agent_suspended';
      agent: string | null;
      incident: string | null;
      by: string;
      reason: string | null;
      audit_seq: number;
      at: string;
    };

export function approvalPending(approval: Approval): Notification {
  return {
    event: 'approval_pending',
    approval_id: approval.id,
    kind: approval.kind,
    agent: approval.agent,
    server: approval.server,
    tool: approval.tool,
    rule: approval.rule,
    reason: approval.reason,
    args_sha256: approval.argsSha256,
    correlation_id: approval.correlationId,
    created_at: new Date(approval.createdAt).toISOString(),
    expires_at: new Date(approval.expiresAt).toISOString(),
  };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * An incident opened or an agent suspended, from the record as written (already redacted by the
 * log); any other record is no notification. Fields are read defensively: the writers are other
 * parts, and a record missing one still notifies with what it has.
 */
export function fromAuditRecord(record: AuditRecord): Notification | undefined {
  if (record.event === 'incident' && record.action === 'opened') {
    const incident = record as AuditRecord & IncidentAuditEvent;
    return {
      event: 'incident_opened',
      incident: String(incident.incident),
      severity: incident.severity,
      type: String(incident.type),
      agent: text(record.agent),
      by: String(incident.by),
      reason: text(record.reason) ?? text(record.description),
      audit_seq: record.seq,
      at: record.ts,
    };
  }
  if (record.event === 'agent' && record.action === 'suspended') {
    const agent = record as AuditRecord & AgentAuditEvent;
    return {
      event: 'agent_suspended',
      agent: text(record.agent),
      incident: text(record.incident),
      by: String(agent.by),
      reason: text(record.reason),
      audit_seq: record.seq,
      at: record.ts,
    };
  }
  return undefined;
}
