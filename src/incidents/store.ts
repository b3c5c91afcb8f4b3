// Where incidents and suspensions are kept: an interface (a Postgres store comes next) and its SQLite store in governance.db.
import { randomBytes } from 'node:crypto';
import { dataVersionReader, migrateModule, openSqlite, type SqliteDatabase } from '../util/index.js';
import type {
  Incident,
  IncidentFilter,
  IncidentLog,
  IncidentSource,
  IncidentStatus,
  Severity,
  Suspension,
} from './deps.js';
import { SEVERITY_RANK } from './severity.js';

export interface NewIncident {
  agent: string | null;
  type: string;
  severity: Severity;
  description: string;
  source: IncidentSource;
  rule: string | null;
  correlationId: string | null;
  by: string;
}

/** A suspension in force, with the agent it holds. */
export interface AgentSuspension extends Suspension {
  agent: string;
}

export interface IncidentStore extends IncidentLog {
  /** Changes whenever another connection (another process) commits: the cue to read again. */
  version(): number;
  /** Inserts the incident and its first occurrence. */
  open(input: NewIncident, at: string): Incident;
  /**
   * The same breach (agent, source and rule) while its incident is unresolved: one more occurrence
   * (count + 1); otherwise a new incident. One transaction, so processes sharing the file open one.
   */
  openOrRecur(input: NewIncident, at: string): { incident: Incident; recurred: boolean };
  /** Forgets occurrences older than `before` (they no longer count toward any window). */
  pruneOccurrences(before: string): void;
  /** Occurrences of `agent`'s incidents of `severity` or above at or after `since`. */
  occurrences(agent: string, severity: Severity, since: string): number;
  /** open → acknowledged → resolved (an open one may be resolved at once); undefined: not in a state that allows it. */
  transition(id: string, to: 'acknowledged' | 'resolved', by: string, at: string): Incident | undefined;
  markSuspending(id: string): void;
  /** Every suspension in force. */
  suspensions(): AgentSuspension[];
  /** False when the agent is suspended already (the first suspension stands). */
  suspend(agent: string, suspension: Suspension): boolean;
  /** Ends the agent's suspension; undefined when it was not suspended. */
  reinstate(agent: string, by: string, at: string): AgentSuspension | undefined;
  /** When the agent was last reinstated (occurrences before it no longer count), or null. */
  lastReinstated(agent: string): string | null;
  close(): void;
}

/** Each step takes the incidents tables one version up; never edit a step once released. */
const MIGRATIONS = [
  `CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     agent TEXT,
     type TEXT NOT NULL,
     severity TEXT NOT NULL CHECK (severity IN ('low','medium','high','critical')),
     description TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('open','acknowledged','resolved')),
     source TEXT NOT NULL,
     rule TEXT,
     correlation_id TEXT,
     count INTEGER NOT NULL DEFAULT 1,
     opened_at TEXT NOT NULL,
     opened_by TEXT NOT NULL,
     acknowledged_at TEXT,
     acknowledged_by TEXT,
     resolved_at TEXT,
     resolved_by TEXT,
     suspended INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX incidents_opened ON incidents (opened_at DESC);
   CREATE INDEX incidents_unresolved ON incidents (agent, source, rule) WHERE status != 'resolved';
   CREATE TABLE incident_occurrences (
     incident TEXT NOT NULL REFERENCES incidents (id),
     agent TEXT,
     severity_rank INTEGER NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX incident_occurrences_agent ON incident_occurrences (agent, at);
   CREATE TABLE suspensions (
     agent TEXT NOT NULL,
     incident TEXT,
     reason TEXT NOT NULL,
     at TEXT NOT NULL,
     by TEXT NOT NULL,
     reinstated_at TEXT,
     reinstated_by TEXT
   );
   CREATE UNIQUE INDEX suspensions_in_force ON suspensions (agent) WHERE reinstated_at IS NULL;`,
];

interface IncidentRow extends Omit<Incident, 'suspended'> {
  suspended: number;
}

function toIncident(row: IncidentRow): Incident {
  return { ...row, suspended: row.suspended === 1 };
}

function newId(): string {
  return `inc_${randomBytes(8).toString('hex')}`;
}

export class SqliteIncidentStore implements IncidentStore {
  readonly db: SqliteDatabase;
  private closed = false;
  /** Read on every call (the standing). */
  private readonly dataVersion: () => number;

  constructor(file: string) {
    this.db = openSqlite(file);
    try {
      migrateModule(this.db, 'incidents', MIGRATIONS);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.dataVersion = dataVersionReader(this.db);
  }

  version(): number {
    return this.dataVersion();
  }

  get(id: string): Incident | undefined {
    const row = this.db.prepare('SELECT * FROM incidents WHERE id = ?').get(id) as IncidentRow | undefined;
    return row ? toIncident(row) : undefined;
  }

  list(filter: IncidentFilter = {}): Incident[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, value: unknown): void => {
      where.push(clause);
      params.push(value);
    };
    if (filter.agent !== undefined) add('agent = ?', filter.agent);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.severity !== undefined) add('severity = ?', filter.severity);
    if (filter.since !== undefined) add('opened_at >= ?', filter.since);
    const limit = Math.min(Math.max(1, Math.floor(filter.limit ?? 200)), 1000);
    const rows = this.db
      .prepare(
        `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY opened_at DESC, id LIMIT ?`,
      )
      .all(...params, limit) as IncidentRow[];
    return rows.map(toIncident);
  }

  open(input: NewIncident, at: string): Incident {
    const tx = this.db.transaction(() => this.insert(input, at));
    return tx.immediate();
  }

  openOrRecur(input: NewIncident, at: string): { incident: Incident; recurred: boolean } {
    const tx = this.db.transaction(() => {
      const existing = this.findUnresolved(input.agent, input.source, input.rule);
      const recurred = existing ? this.recur(existing.id, at) : undefined;
      return recurred
        ? { incident: recurred, recurred: true }
        : { incident: this.insert(input, at), recurred: false };
    });
    return tx.immediate();
  }

  pruneOccurrences(before: string): void {
    this.db.prepare('DELETE FROM incident_occurrences WHERE at < ?').run(before);
  }

  /** Inside a transaction. */
  private insert(input: NewIncident, at: string): Incident {
    const id = newId();
    this.db
      .prepare(
        `INSERT INTO incidents (id, agent, type, severity, description, status, source, rule, correlation_id,
             count, opened_at, opened_by)
           VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, 1, ?, ?)`,
      )
      .run(
        id,
        input.agent,
        input.type,
        input.severity,
        input.description,
        input.source,
        input.rule,
        input.correlationId,
        at,
        input.by,
      );
    this.occurred(id, input.agent, input.severity, at);
    return this.get(id) as Incident;
  }

  private findUnresolved(
    agent: string | null,
    source: IncidentSource,
    rule: string | null,
  ): Incident | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM incidents WHERE agent IS ? AND source = ? AND rule IS ? AND status != 'resolved'
          ORDER BY opened_at DESC LIMIT 1`,
      )
      .get(agent, source, rule) as IncidentRow | undefined;
    return row ? toIncident(row) : undefined;
  }

  /** Inside a transaction. */
  private recur(id: string, at: string): Incident | undefined {
    const row = this.db
      .prepare("UPDATE incidents SET count = count + 1 WHERE id = ? AND status != 'resolved' RETURNING *")
      .get(id) as IncidentRow | undefined;
    if (!row) return undefined;
    this.occurred(id, row.agent, row.severity, at);
    return toIncident(row);
  }

  private occurred(id: string, agent: string | null, severity: Severity, at: string): void {
    this.db
      .prepare('INSERT INTO incident_occurrences (incident, agent, severity_rank, at) VALUES (?, ?, ?, ?)')
      .run(id, agent, SEVERITY_RANK[severity], at);
  }

  occurrences(agent: string, severity: Severity, since: string): number {
    const row = this.db
      .prepare(
        'SELECT count(*) AS n FROM incident_occurrences WHERE agent = ? AND severity_rank >= ? AND at >= ?',
      )
      .get(agent, SEVERITY_RANK[severity], since) as { n: number };
    return row.n;
  }

  transition(id: string, to: 'acknowledged' | 'resolved', by: string, at: string): Incident | undefined {
    const from: IncidentStatus[] = to === 'acknowledged' ? ['open'] : ['open', 'acknowledged'];
    const row = this.db
      .prepare(
        `UPDATE incidents SET status = ?, ${to}_at = ?, ${to}_by = ?
          WHERE id = ? AND status IN (${from.map(() => '?').join(', ')}) RETURNING *`,
      )
      .get(to, at, by, id, ...from) as IncidentRow | undefined;
    return row ? toIncident(row) : undefined;
  }

  markSuspending(id: string): void {
    this.db.prepare('UPDATE incidents SET suspended = 1 WHERE id = ?').run(id);
  }

  suspensions(): AgentSuspension[] {
    return this.db
      .prepare(
        'SELECT agent, incident, reason, at, by FROM suspensions WHERE reinstated_at IS NULL ORDER BY at, agent',
      )
      .all() as AgentSuspension[];
  }

  suspend(agent: string, s: Suspension): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO suspensions (agent, incident, reason, at, by) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (agent) WHERE reinstated_at IS NULL DO NOTHING`,
      )
      .run(agent, s.incident, s.reason, s.at, s.by);
    return result.changes === 1;
  }

  reinstate(agent: string, by: string, at: string): AgentSuspension | undefined {
    return this.db
      .prepare(
        `UPDATE suspensions SET reinstated_at = ?, reinstated_by = ?
          WHERE agent = ? AND reinstated_at IS NULL RETURNING agent, incident, reason, at, by`,
      )
      .get(at, by, agent) as AgentSuspension | undefined;
  }

  lastReinstated(agent: string): string | null {
    const row = this.db
      .prepare('SELECT max(reinstated_at) AS at FROM suspensions WHERE agent = ?')
      .get(agent) as { at: string | null };
    return row.at;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
