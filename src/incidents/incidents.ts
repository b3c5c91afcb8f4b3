// Incidents and suspension: opens incidents from decisions, breaches, audit failures and people; suspends agents; answers their standing.
import type {
  AuditObservation,
  AuditRecord,
  AuditSink,
  CompiledPolicy,
  DecidedCall,
  DecisionListener,
  Incident,
  IncidentFilter,
  IncidentLog,
  Severity,
  Standing,
  StandingPart,
  Suspension,
} from './deps.js';
import { IncidentError } from './errors.js';
import { SEVERITY_RANK } from './severity.js';
import type { AgentSuspension, IncidentStore, NewIncident } from './store.js';

/** Who opens and suspends automatically, in records. */
export const PORTCULLIS_BY = 'portcullis';

/** A recurrence of an open incident is recorded at most this often (the count still goes up every time). */
const RECURRED_RECORD_MS = 60_000;

/** Occurrences are kept at least this long, whatever the windows (for a policy reloaded with a longer one). */
const OCCURRENCES_KEPT_MS = 24 * 3_600_000;

export interface ManualIncident {
  agent: string | null;
  type: string;
  severity: Severity;
  description: string;
  /** With a critical severity: suspend the agent at once. */
  autoSuspend: boolean;
  by: string;
}

export interface IncidentsOptions {
  store: IncidentStore;
  policy: () => Pick<CompiledPolicy, 'severityOf' | 'suspend' | 'incidents'>;
  audit: AuditSink;
  /** The agent's standing changed (suspended, reinstated): its sessions list again. */
  changed?: ((agent: string) => void) | undefined;
  /** The agent was suspended: its held approvals are withdrawn with this reason. */
  withdraw?: ((agent: string, reason: string) => void) | undefined;
  log?: ((line: string) => void) | undefined;
  now?: (() => number) | undefined;
  /** How often the database is looked at for suspensions made by other processes (0: never). */
  pollIntervalMs?: number | undefined;
}

/** What a suspended agent's calls are denied with. */
export function suspendedReason(s: Suspension): string {
  return `agent suspended: ${s.incident ?? `by ${s.by}`}: ${s.reason}`;
}

export class Incidents implements StandingPart, DecisionListener, IncidentLog {
  private readonly store: IncidentStore;
  private readonly options: IncidentsOptions;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  /** Suspensions in force by agent, as of `cachedVersion` of the database. */
  private cache: Map<string, AgentSuspension> | undefined;
  private cachedVersion = -1;
  /** When each incident's recurrence was last recorded. */
  private readonly recurredAt = new Map<string, number>();
  /** Events this part appended: their own failure opens no incident (it would only recurse). */
  private readonly own = new WeakSet<object>();
  private readonly poller: NodeJS.Timeout | undefined;
  private prunedAt = 0;
  private closed = false;

  constructor(options: IncidentsOptions) {
    this.options = options;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.refresh();
    const every = options.pollIntervalMs ?? 500;
    if (every > 0) {
      this.poller = setInterval(() => this.poll(), every);
      this.poller.unref();
    }
  }

  // ---- standing ----

  /** Cheap: the suspensions are read again only when another process committed (or this one wrote). */
  standing(agent: string): Standing {
    const suspension = this.suspensions().get(agent);
    return suspension ? { suspended: suspendedReason(suspension) } : {};
  }

  suspension(agent: string): Suspension | null {
    const s = this.suspensions().get(agent);
    return s ? { incident: s.incident, reason: s.reason, at: s.at, by: s.by } : null;
  }

  suspended(): AgentSuspension[] {
    return [...this.suspensions().values()];
  }

  private suspensions(): Map<string, AgentSuspension> {
    if (this.cache === undefined || this.store.version() !== this.cachedVersion) this.refresh();
    return this.cache as Map<string, AgentSuspension>;
  }

  /** Reads the suspensions again; agents whose standing differs from before are told of. */
  private refresh(): void {
    const version = this.store.version();
    const next = new Map(this.store.suspensions().map((s) => [s.agent, s]));
    const previous = this.cache;
    this.cache = next;
    this.cachedVersion = version;
    if (previous === undefined) return;
    const agents = new Set([...previous.keys(), ...next.keys()]);
    for (const agent of agents) {
      if (previous.get(agent)?.at !== next.get(agent)?.at) this.tellChanged(agent);
    }
  }

  private poll(): void {
    if (this.closed) return;
    try {
      if (this.store.version() !== this.cachedVersion) this.refresh();
    } catch (error) {
      this.log(`incidents: reading suspensions failed: ${(error as Error).message}`);
    }
  }

  private tellChanged(agent: string): void {
    try {
      this.options.changed?.(agent);
    } catch (error) {
      this.log(`incidents: telling sessions of ${agent} failed: ${(error as Error).message}`);
    }
  }

  // ---- opened automatically ----

  /** A recorded tools/call decision: a breach of a limit, or a denial by a rule with `severity:`. */
  decided(call: DecidedCall): void {
    if (this.closed) return;
    const policy = this.options.policy();
    const where = `${call.server}/${call.tool}`;
    if (call.breach) {
      const { kind, id, reason } = call.breach;
      this.automatic({
        agent: call.agent,
        type: kind === 'budget' ? 'budget_exceeded' : `${kind}_limit`,
        severity: policy.incidents.breaches,
        description: `${where}: ${reason}`,
        source: kind,
        rule: id,
        correlationId: call.correlationId,
        by: PORTCULLIS_BY,
      });
      return;
    }
    const { decision } = call;
    const severity = decision.decision === 'deny' ? policy.severityOf(decision.rule) : undefined;
    if (severity === undefined) return;
    this.automatic({
      agent: call.agent,
      type: 'policy_violation',
      severity,
      description: `${where} denied by rule ${decision.rule}: ${decision.reason}`,
      source: 'rule',
      rule: decision.rule,
      correlationId: call.correlationId,
      by: PORTCULLIS_BY,
    });
  }

  /** Every audit append: a failed one (calls go unrecorded, so they are denied) or a chain break opens an incident. */
  observe(observation: AuditObservation): void {
    if (this.closed) return;
    const { event, error, record } = observation;
    if (error !== undefined) {
      if (this.own.has(event)) return;
      // The log closing at shutdown is no integrity failure.
      if ((error as { failure?: unknown }).failure === 'closed') return;
      const message = error instanceof Error ? error.message : String(error);
      this.automatic({
        agent: null,
        type: 'audit_write_failed',
        severity: this.options.policy().incidents.audit,
        description: `an audit record (${event.event}${event.agent ? ` of agent ${event.agent}` : ''}) could not be written, so calls are denied: ${message}`,
        source: 'audit',
        rule: 'audit_write',
        correlationId: typeof event.correlation_id === 'string' ? event.correlation_id : null,
        by: PORTCULLIS_BY,
      });
    } else if (record?.event === 'chain_break') {
      this.chainBroken(record);
    }
  }

  /** A chain_break record (the log found its tail damaged when it opened or recovered). */
  chainBroken(record: AuditRecord): void {
    const reason = typeof record.reason === 'string' ? record.reason : String(record.problem ?? 'unknown');
    this.automatic({
      agent: null,
      type: 'audit_chain_break',
      severity: this.options.policy().incidents.audit,
      description: `the audit chain was broken (record ${record.seq}): ${reason}`,
      source: 'audit',
      rule: 'chain_break',
      correlationId: null,
      by: PORTCULLIS_BY,
    });
  }

  /**
   * Opens an incident, or counts one more occurrence of the same breach while its incident is
   * unresolved (one row, its count going up; recorded as `recurred` at most once a minute). Every
   * occurrence counts toward `suspend:`. Never throws: it runs inside the call path.
   */
  private automatic(input: NewIncident): void {
    try {
      const at = this.iso();
      const { incident, recurred } = this.store.openOrRecur(input, at);
      if (recurred) {
        const last = this.recurredAt.get(incident.id);
        if (last === undefined || this.now() - last >= RECURRED_RECORD_MS) {
          this.recurredAt.set(incident.id, this.now());
          this.recordQuietly(incidentEvent(incident, 'recurred', PORTCULLIS_BY, { count: incident.count }));
        }
      } else {
        this.recordQuietly(
          incidentEvent(incident, 'opened', input.by, { description: incident.description }),
        );
      }
      this.prune();
      if (input.agent !== null) this.checkThresholds(incident);
    } catch (error) {
      this.log(`incidents: opening an incident failed: ${(error as Error).message}`);
    }
  }

  /** At most once a minute: occurrences older than every window (and than a day) are forgotten, so a flood of denials does not grow the file for ever. */
  private prune(): void {
    const now = this.now();
    if (now - this.prunedAt < RECURRED_RECORD_MS) return;
    this.prunedAt = now;
    const longest = Math.max(OCCURRENCES_KEPT_MS, ...this.options.policy().suspend.map((s) => s.withinMs));
    this.store.pruneOccurrences(new Date(now - longest).toISOString());
  }

  /** `suspend:` thresholds: occurrences of the agent's incidents since the window began (and since its last reinstatement). */
  private checkThresholds(incident: Incident): void {
    const agent = incident.agent as string;
    if (this.suspensions().has(agent)) return;
    const now = this.now();
    const reinstated = this.store.lastReinstated(agent);
    for (const setting of this.options.policy().suspend) {
      if (SEVERITY_RANK[incident.severity] < SEVERITY_RANK[setting.severity]) continue;
      const windowStart = new Date(now - setting.withinMs).toISOString();
      const since = reinstated !== null && reinstated > windowStart ? reinstated : windowStart;
      const seen = this.store.occurrences(agent, setting.severity, since);
      if (seen < setting.after) continue;
      const reason = `${incident.description} (${seen} incidents of severity ${setting.severity} or above within ${humanMs(setting.withinMs)})`;
      this.suspendNow(agent, incident.id, reason, PORTCULLIS_BY);
      return;
    }
  }

  // ---- people ----

  list(filter?: IncidentFilter): Incident[] {
    return this.store.list(filter);
  }

  get(id: string): Incident | undefined {
    return this.store.get(id);
  }

  /** A person's report (POST /api/incidents, the form): recorded, counted, and with critical + autoSuspend, the agent suspended. */
  async report(input: ManualIncident): Promise<Incident> {
    if (input.autoSuspend && input.agent === null)
      throw new IncidentError('E_INCIDENT_INVALID', 400, 'auto_suspend needs an agent');
    if (input.autoSuspend && input.severity !== 'critical')
      throw new IncidentError(
        'E_INCIDENT_INVALID',
        400,
        'auto_suspend suspends at once only for a critical incident; raise the severity or suspend the agent directly',
      );
    const incident = this.store.open(
      {
        agent: input.agent,
        type: input.type,
        severity: input.severity,
        description: input.description,
        source: 'manual',
        rule: null,
        correlationId: null,
        by: input.by,
      },
      this.iso(),
    );
    await this.record(
      incidentEvent(incident, 'opened', input.by, {
        description: incident.description,
        auto_suspend: input.autoSuspend,
      }),
    );
    if (incident.agent !== null) {
      if (input.autoSuspend) this.suspendNow(incident.agent, incident.id, incident.description, input.by);
      else this.checkThresholds(incident);
    }
    return this.store.get(incident.id) as Incident;
  }

  async acknowledge(id: string, by: string): Promise<Incident> {
    return this.transition(id, 'acknowledged', by);
  }

  async resolve(id: string, by: string): Promise<Incident> {
    return this.transition(id, 'resolved', by);
  }

  /** Recorded first: a change no record shows must not happen. */
  private async transition(id: string, to: 'acknowledged' | 'resolved', by: string): Promise<Incident> {
    const current = this.store.get(id);
    if (!current) throw new IncidentError('E_INCIDENT_NOT_FOUND', 404, `no incident ${id}`);
    const allowed = to === 'acknowledged' ? current.status === 'open' : current.status !== 'resolved';
    if (!allowed)
      throw new IncidentError('E_INCIDENT_CONFLICT', 409, `incident ${id} is already ${current.status}`);
    await this.record(incidentEvent(current, to, by, {}));
    const changed = this.store.transition(id, to, by, this.iso());
    if (!changed) {
      const now = this.store.get(id);
      throw new IncidentError(
        'E_INCIDENT_CONFLICT',
        409,
        `incident ${id} is already ${now?.status ?? 'gone'}`,
      );
    }
    this.recurredAt.delete(id);
    return changed;
  }

  /** A person suspends an agent directly (no incident). */
  async suspend(agent: string, reason: string, by: string): Promise<Suspension> {
    if (this.suspensions().has(agent))
      throw new IncidentError('E_AGENT_SUSPENDED', 409, `agent ${agent} is already suspended`);
    await this.record(agentEvent(agent, 'suspended', by, { incident: null, reason }));
    if (!this.applySuspension(agent, null, reason, by))
      throw new IncidentError('E_AGENT_SUSPENDED', 409, `agent ${agent} is already suspended`);
    return this.suspension(agent) as Suspension;
  }

  /** A person's action only: the agent's calls run again from its next one, and its sessions list again. */
  async reinstate(agent: string, by: string): Promise<Suspension> {
    const current = this.suspension(agent);
    if (!current) throw new IncidentError('E_AGENT_NOT_SUSPENDED', 404, `agent ${agent} is not suspended`);
    await this.record(agentEvent(agent, 'reinstated', by, { incident: current.incident }));
    const ended = this.store.reinstate(agent, by, this.iso());
    if (!ended) throw new IncidentError('E_AGENT_NOT_SUSPENDED', 404, `agent ${agent} is not suspended`);
    this.refresh();
    return current;
  }

  /** Automatic or by a person's critical report: stored, recorded (not awaited: the call path is synchronous). */
  private suspendNow(agent: string, incident: string, reason: string, by: string): void {
    if (!this.applySuspension(agent, incident, reason, by)) return;
    this.recordQuietly(agentEvent(agent, 'suspended', by, { incident, reason }));
  }

  /** Stores the suspension, then: sessions re-list (empty), held approvals are withdrawn. False: already suspended. */
  private applySuspension(agent: string, incident: string | null, reason: string, by: string): boolean {
    const suspension: Suspension = { incident, reason, at: this.iso(), by };
    if (!this.store.suspend(agent, suspension)) return false;
    if (incident !== null) this.store.markSuspending(incident);
    this.log(`incidents: ${suspendedReason(suspension)}`);
    this.refresh();
    try {
      this.options.withdraw?.(agent, suspendedReason(suspension));
    } catch (error) {
      this.log(`incidents: withdrawing the held approvals of ${agent} failed: ${(error as Error).message}`);
    }
    return true;
  }

  // ---- records ----

  private async record(event: Parameters<AuditSink['append']>[0]): Promise<void> {
    this.own.add(event);
    await this.options.audit.append(event);
  }

  private recordQuietly(event: Parameters<AuditSink['append']>[0]): void {
    this.record(event).catch((error: unknown) =>
      this.log(`AUDIT LOG WRITE FAILED for an ${event.event} event: ${(error as Error).message}`),
    );
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poller) clearInterval(this.poller);
  }
}

function incidentEvent(
  incident: Incident,
  action: 'opened' | 'acknowledged' | 'resolved' | 'recurred',
  by: string,
  extra: Record<string, unknown>,
) {
  return {
    event: 'incident' as const,
    action,
    incident: incident.id,
    severity: incident.severity,
    type: incident.type,
    by,
    agent: incident.agent,
    source: incident.source,
    rule: incident.rule,
    ...(incident.correlation_id !== null && { correlation_id: incident.correlation_id }),
    ...extra,
  };
}

function agentEvent(
  agent: string,
  action: 'suspended' | 'reinstated',
  by: string,
  extra: Record<string, unknown>,
) {
  return { event: 'agent' as const, action, agent, by, ...extra };
}

function humanMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
