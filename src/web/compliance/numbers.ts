// The compliance numbers of one window, from the audit log, the approval queue, the policy, and (when connected) the agent directory and incident log.
import type { ApprovalQueue } from '../../approvals/index.js';
import { type AuditRecord, queryAudit } from '../../audit/index.js';
import {
  type AgentDirectory,
  type Incident,
  type IncidentLog,
  type IncidentStatus,
  SEVERITIES,
  type Severity,
} from '../../governance/index.js';
import type { CompiledPolicy } from '../../policy/index.js';
import type { PolicyStatus } from '../views/pages.js';
import { complianceScore, type IntegrityState, type Score } from './score.js';

export const WINDOWS = {
  '24h': { ms: 24 * 3_600_000, bucketMs: 3_600_000, label: 'last 24 hours' },
  '7d': { ms: 7 * 24 * 3_600_000, bucketMs: 6 * 3_600_000, label: 'last 7 days' },
  '30d': { ms: 30 * 24 * 3_600_000, bucketMs: 24 * 3_600_000, label: 'last 30 days' },
} as const;
export type WindowName = keyof typeof WINDOWS;
export const DEFAULT_WINDOW: WindowName = '24h';

/** Audit records read per request at most: the page stays quick however long the log is, and says when it stopped. */
export const DEFAULT_MAX_RECORDS = 20_000;
/** Decided approvals read for the wait times at most (newest first). */
const MAX_APPROVALS = 5_000;
const TOP = 10;
const AGENT_ROWS = 25;

export class ComplianceWindowError extends Error {
  readonly code = 'E_COMPLIANCE_WINDOW';
}

export function parseWindow(value: string | undefined): WindowName {
  if (value === undefined || value === '') return DEFAULT_WINDOW;
  if (Object.hasOwn(WINDOWS, value)) return value as WindowName;
  throw new ComplianceWindowError(`window must be one of ${Object.keys(WINDOWS).join(', ')}`);
}

export interface Integrity {
  state: IntegrityState;
  checked_at: string | null;
  detail: string | null;
}

/** Where the numbers come from; each missing source leaves its numbers null (and says so), never invented. */
export interface ComplianceSources {
  auditDir?: string | undefined;
  queue?: Pick<ApprovalQueue, 'page'> | undefined;
  policy?: (() => CompiledPolicy | undefined) | undefined;
  policyStatus?: (() => PolicyStatus | undefined) | undefined;
  directory?: (() => AgentDirectory | undefined) | undefined;
  incidents?: (() => IncidentLog | undefined) | undefined;
  /** The audit chains' last verification (see auditIntegrity). */
  integrity?: (() => Promise<Integrity>) | undefined;
  now?: (() => number) | undefined;
  maxRecords?: number | undefined;
}

export interface Histogram {
  bins: { label: string; min_ms: number; max_ms: number | null; count: number }[];
}

type Counts = { allow: number; deny: number; review: number };

export interface ComplianceReport {
  window: WindowName;
  from: string;
  to: string;
  total_agents: number | null;
  active_agents: number;
  suspended_agents: number | null;
  policies: { rules: number | null; sha256: string; loaded_at: string; file: string | null } | null;
  /** Incidents opened in the window; null without an incident log. */
  recent_violations: number | null;
  compliance_score: number;
  score: Score;
  audit: {
    available: boolean;
    records_read: number;
    cap: number;
    /** True when the cap stopped the read before the window's start: the counts are of the newest records only. */
    capped: boolean;
    /** The oldest record counted (of the window). */
    oldest_counted: string | null;
    integrity: Integrity;
  };
  decisions: Counts & { total: number; bucket_ms: number; buckets: (Counts & { start: string })[] };
  top_denied_tools: { name: string; server: string | null; count: number }[];
  top_denying_rules: { rule: string; count: number }[];
  approvals: {
    /** From the audit log's approval records in the window. */
    outcomes: {
      pending: number;
      approved: number;
      denied: number;
      expired: number;
      withdrawn: number;
      refused: number;
    };
    /** decided_at − created_at of approvals a person decided in the window (from the queue). */
    wait: {
      count: number;
      median_ms: number | null;
      p90_ms: number | null;
      max_ms: number | null;
      histogram: Histogram;
    };
    pending: { count: number; oldest_ms: number | null; histogram: Histogram };
  };
  incidents: {
    /** Opened in the window, by severity and status. */
    by_severity: Record<Severity, Record<IncidentStatus, number>>;
    /** Not resolved now (whenever opened), by severity: what the score counts. */
    unresolved: Record<Severity, number>;
    recent: Pick<Incident, 'id' | 'agent' | 'type' | 'severity' | 'status' | 'opened_at' | 'description'>[];
  } | null;
  agents: {
    agent: string;
    allow: number;
    deny: number;
    review: number;
    total: number;
    trust: string | null;
    suspended: boolean | null;
    last_seen: string | null;
  }[];
  agents_more: number;
}

/** Wait and pending-age bins: minutes for a person at the screen, hours for one who is not. */
export const AGE_BINS: readonly { label: string; min_ms: number; max_ms: number | null }[] = [
  { label: '< 1 min', min_ms: 0, max_ms: 60_000 },
  { label: '1–5 min', min_ms: 60_000, max_ms: 300_000 },
  { label: '5–15 min', min_ms: 300_000, max_ms: 900_000 },
  { label: '15–60 min', min_ms: 900_000, max_ms: 3_600_000 },
  { label: '1–4 h', min_ms: 3_600_000, max_ms: 14_400_000 },
  { label: '> 4 h', min_ms: 14_400_000, max_ms: null },
];

function histogram(values: readonly number[]): Histogram {
  return {
    bins: AGE_BINS.map((bin) => ({
      ...bin,
      count: values.filter((v) => v >= bin.min_ms && (bin.max_ms === null || v < bin.max_ms)).length,
    })),
  };
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}

const zero = (): Counts => ({ allow: 0, deny: 0, review: 0 });

function isDecision(record: AuditRecord): record is AuditRecord & { decision: keyof Counts } {
  return (
    record.event === 'decision' &&
    (record.decision === 'allow' || record.decision === 'deny' || record.decision === 'review')
  );
}

/** What a decision was about: the tool, or the resource URI or prompt name of an access decision. */
function subject(record: AuditRecord): string {
  if (typeof record.tool === 'string') return record.tool;
  for (const key of ['resource', 'prompt', 'method'] as const) {
    const value = record[key];
    if (typeof value === 'string') return value;
  }
  return '(unknown)';
}

interface AuditTally {
  available: boolean;
  read: number;
  capped: boolean;
  oldest: string | null;
  totals: Counts;
  buckets: Counts[];
  denied: Map<string, { name: string; server: string | null; count: number }>;
  rules: Map<string, number>;
  agents: Map<string, Counts>;
  outcomes: ComplianceReport['approvals']['outcomes'];
}

/**
 * Reads the audit log newest first, a page at a time, until a record older than the window (the
 * merge is newest first, so the rest are older too) or the cap. No `from` filter: with one,
 * queryAudit would read every older file looking for matches.
 */
async function tallyAudit(
  dir: string | undefined,
  from: number,
  to: number,
  bucketMs: number,
  count: number,
  cap: number,
): Promise<AuditTally> {
  const tally: AuditTally = {
    available: dir !== undefined,
    read: 0,
    capped: false,
    oldest: null,
    totals: zero(),
    buckets: Array.from({ length: count }, zero),
    denied: new Map(),
    rules: new Map(),
    agents: new Map(),
    outcomes: { pending: 0, approved: 0, denied: 0, expired: 0, withdrawn: 0, refused: 0 },
  };
  if (dir === undefined) return tally;
  let before: string | undefined;
  for (;;) {
    const page = await queryAudit(dir, { limit: Math.min(1000, cap - tally.read), before });
    for (const record of page.records) {
      tally.read += 1;
      const time = Date.parse(record.ts);
      if (time < from) return tally;
      if (!(time < to)) continue;
      tally.oldest = record.ts;
      count1(tally, record, Math.min(count - 1, Math.floor((time - from) / bucketMs)));
    }
    if (page.nextCursor === null) return tally;
    if (tally.read >= cap) {
      tally.capped = true;
      return tally;
    }
    before = page.nextCursor;
  }
}

function count1(tally: AuditTally, record: AuditRecord, bucket: number): void {
  if (record.event === 'approval') {
    const status = record.status;
    if (typeof status === 'string' && Object.hasOwn(tally.outcomes, status)) {
      tally.outcomes[status as keyof AuditTally['outcomes']] += 1;
    }
    return;
  }
  if (!isDecision(record)) return;
  const decision = record.decision;
  tally.totals[decision] += 1;
  (tally.buckets[bucket] as Counts)[decision] += 1;
  const agent = typeof record.agent === 'string' ? record.agent : '(anonymous)';
  const perAgent = tally.agents.get(agent) ?? zero();
  perAgent[decision] += 1;
  tally.agents.set(agent, perAgent);
  if (decision !== 'deny') return;
  const server = typeof record.server === 'string' ? record.server : null;
  const name = subject(record);
  const key = `${server ?? ''}\u0000${name}`;
  const denied = tally.denied.get(key) ?? { name, server, count: 0 };
  denied.count += 1;
  tally.denied.set(key, denied);
  // No rule matched: the policy's default denied it, which a lead wants to see as its own row.
  const rule = typeof record.rule === 'string' ? record.rule : '(default)';
  tally.rules.set(rule, (tally.rules.get(rule) ?? 0) + 1);
}

function approvalTimes(queue: ComplianceSources['queue'], from: number, now: number) {
  const waits: number[] = [];
  const pendingAges: number[] = [];
  let pendingCount = 0;
  if (!queue) return { waits, pendingAges, pendingCount };
  for (const status of ['approved', 'denied'] as const) {
    let cursor: string | undefined;
    let read = 0;
    // Newest decision first: stop at the first one decided before the window.
    outer: for (;;) {
      const page = queue.page({ status, limit: 500, cursor });
      for (const a of page.approvals) {
        read += 1;
        if (a.decidedAt === null || a.decidedAt < from) break outer;
        if (a.decidedAt <= now) waits.push(Math.max(0, a.decidedAt - a.createdAt));
      }
      if (page.nextCursor === null || read >= MAX_APPROVALS) break;
      cursor = page.nextCursor;
    }
  }
  const pending = queue.page({ status: 'pending', limit: 1000 });
  pendingCount = pending.total;
  for (const a of pending.approvals) pendingAges.push(Math.max(0, now - a.createdAt));
  return { waits, pendingAges, pendingCount };
}

function incidentNumbers(log: IncidentLog | undefined, fromIso: string): ComplianceReport['incidents'] {
  if (!log) return null;
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, { open: 0, acknowledged: 0, resolved: 0 }]),
  ) as Record<Severity, Record<IncidentStatus, number>>;
  const unresolved = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  const opened = log.list({ since: fromIso, limit: 1000 });
  for (const incident of opened) bySeverity[incident.severity][incident.status] += 1;
  for (const status of ['open', 'acknowledged'] as const) {
    for (const incident of log.list({ status, limit: 1000 })) unresolved[incident.severity] += 1;
  }
  const recent = [...opened]
    .sort((a, b) => b.opened_at.localeCompare(a.opened_at))
    .slice(0, TOP)
    .map(({ id, agent, type, severity, status, opened_at, description }) => ({
      id,
      agent,
      type,
      severity,
      status,
      opened_at,
      description,
    }));
  return { by_severity: bySeverity, unresolved, recent };
}

export async function complianceReport(
  sources: ComplianceSources,
  window: WindowName,
): Promise<ComplianceReport> {
  const now = (sources.now ?? Date.now)();
  const spec = WINDOWS[window];
  // Buckets start on the hour (or day) so their axis labels are true; the last one is the current,
  // partial bucket, so the window is between one bucket shorter than its name and its full length.
  const buckets = Math.round(spec.ms / spec.bucketMs);
  const from = Math.floor(now / spec.bucketMs) * spec.bucketMs - (buckets - 1) * spec.bucketMs;
  const fromIso = new Date(from).toISOString();
  const cap = sources.maxRecords ?? DEFAULT_MAX_RECORDS;
  const tally = await tallyAudit(sources.auditDir, from, now, spec.bucketMs, buckets, cap);
  const times = approvalTimes(sources.queue, from, now);
  const directory = sources.directory?.();
  const incidents = incidentNumbers(sources.incidents?.(), fromIso);
  const integrity: Integrity = sources.integrity
    ? await sources.integrity()
    : { state: 'unknown', checked_at: null, detail: 'no audit log to verify' };

  const records = directory?.list();
  const known = new Map((records ?? []).map((a) => [a.id, a]));
  const activeIds = new Set(tally.agents.keys());
  for (const agent of records ?? []) {
    if (agent.last_seen !== null && Date.parse(agent.last_seen) >= from) activeIds.add(agent.id);
  }
  // With a directory, only its agents count as active (anonymous callers are not agents it knows).
  const active = records ? [...activeIds].filter((id) => known.has(id)).length : activeIds.size;
  const suspended = records ? records.filter((a) => a.suspension !== null).length : null;

  const status = sources.policyStatus?.();
  const compiled = sources.policy?.();
  const decisions = tally.totals.allow + tally.totals.deny + tally.totals.review;
  const score = complianceScore({
    unresolved: incidents?.unresolved ?? null,
    suspended,
    decisions,
    denials: tally.totals.deny,
    expired: tally.outcomes.expired,
    integrity: integrity.state,
  });
  const sortedWaits = [...times.waits].sort((a, b) => a - b);
  const agentRows = [...tally.agents]
    .map(([agent, c]) => {
      const record = known.get(agent);
      return {
        agent,
        ...c,
        total: c.allow + c.deny + c.review,
        trust: record?.trust ?? null,
        suspended: records ? (record?.suspension ?? null) !== null : null,
        last_seen: record?.last_seen ?? null,
      };
    })
    .sort((a, b) => b.total - a.total || a.agent.localeCompare(b.agent));

  return {
    window,
    from: fromIso,
    to: new Date(now).toISOString(),
    total_agents: records ? records.length : null,
    active_agents: active,
    suspended_agents: suspended,
    policies: status
      ? {
          rules: compiled ? compiled.ruleIds.length : null,
          sha256: status.sha256,
          loaded_at: new Date(status.loadedAt).toISOString(),
          file: status.file ?? null,
        }
      : null,
    recent_violations: incidents
      ? SEVERITIES.reduce(
          (sum, s) => sum + Object.values(incidents.by_severity[s]).reduce((a, b) => a + b, 0),
          0,
        )
      : null,
    compliance_score: score.score,
    score,
    audit: {
      available: tally.available,
      records_read: tally.read,
      cap,
      capped: tally.capped,
      oldest_counted: tally.oldest,
      integrity,
    },
    decisions: {
      ...tally.totals,
      total: decisions,
      bucket_ms: spec.bucketMs,
      buckets: tally.buckets.map((c, i) => ({
        start: new Date(from + i * spec.bucketMs).toISOString(),
        ...c,
      })),
    },
    top_denied_tools: [...tally.denied.values()]
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
      .slice(0, TOP),
    top_denying_rules: [...tally.rules]
      .map(([rule, count]) => ({ rule, count }))
      .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule))
      .slice(0, TOP),
    approvals: {
      outcomes: tally.outcomes,
      wait: {
        count: sortedWaits.length,
        median_ms: quantile(sortedWaits, 0.5),
        p90_ms: quantile(sortedWaits, 0.9),
        max_ms: sortedWaits.at(-1) ?? null,
        histogram: histogram(sortedWaits),
      },
      pending: {
        count: times.pendingCount,
        oldest_ms: times.pendingAges.length === 0 ? null : Math.max(...times.pendingAges),
        histogram: histogram(times.pendingAges),
      },
    },
    incidents,
    agents: agentRows.slice(0, AGENT_ROWS),
    agents_more: Math.max(0, agentRows.length - AGENT_ROWS),
  };
}
