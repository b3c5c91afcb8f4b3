// `portcullis incidents list|show|ack|resolve|suspend|reinstate`: incidents and suspensions from a shell; the same store and audit records as the UI.
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { ApprovalQueue, ApprovalStore } from '../approvals/index.js';
import { AuditLog } from '../audit/index.js';
import type { Incident, IncidentStatus } from '../governance/index.js';
import { IncidentError, Incidents, isSeverity, SqliteIncidentStore } from '../incidents/index.js';
import { GOVERNANCE_DB } from '../util/index.js';
import { EXIT_OK, type Io, UsageError } from './io.js';

interface IncidentsOptions {
  dataDir: string;
}

/** A shell has no policy in hand: it opens nothing automatically and applies no thresholds. */
const NO_POLICY = {
  severityOf: () => undefined,
  suspend: [],
  incidents: { breaches: 'medium', audit: 'high' },
} as const;

function person(by: string | undefined): string {
  if (by !== undefined && by.trim() !== '') return `${by.trim()} (command line)`;
  try {
    return `${userInfo().username} (command line)`;
  } catch {
    return 'command line';
  }
}

/** Opens the incidents of the data dir (and, to write, its audit log and approvals); closes them all after `run`. */
async function withIncidents<T>(
  dataDir: string,
  write: boolean,
  run: (incidents: Incidents) => Promise<T> | T,
): Promise<T> {
  const file = join(dataDir, GOVERNANCE_DB);
  // Opening would create an empty database: a mistyped --data-dir must say so instead.
  if (!existsSync(file)) throw new UsageError(`no incidents in ${dataDir} (no ${GOVERNANCE_DB} there)`);
  const store = new SqliteIncidentStore(file);
  let audit: AuditLog | undefined;
  let approvals: ApprovalStore | undefined;
  let queue: ApprovalQueue | undefined;
  let incidents: Incidents | undefined;
  try {
    if (write) {
      audit = await AuditLog.open({ dataDir });
      const approvalsFile = join(dataDir, 'approvals.db');
      if (existsSync(approvalsFile)) {
        approvals = new ApprovalStore(approvalsFile);
        queue = new ApprovalQueue({ store: approvals, audit });
      }
    }
    const sink = audit ?? { append: () => Promise.reject(new Error('read only')) };
    incidents = new Incidents({
      store,
      policy: () => NO_POLICY,
      audit: sink,
      // The running proxy sees the change at its next look at the database and withdraws nothing twice.
      withdraw: (agent, reason) => void queue?.withdrawAgent(agent, reason),
      pollIntervalMs: 0,
    });
    return await run(incidents);
  } catch (error) {
    if (error instanceof IncidentError) throw new UsageError(error.message);
    throw error;
  } finally {
    incidents?.close();
    queue?.close();
    // The records are on disk before the command says it is done.
    await audit?.close();
    approvals?.close();
    store.close();
  }
}

function line(i: Incident): string {
  const agent = i.agent ?? '-';
  const count = i.count > 1 ? ` x${i.count}` : '';
  return `${i.id}  ${i.status}  ${i.severity}  agent=${agent}  ${i.type}${count}  ${i.description}`;
}

function details(i: Incident): string[] {
  return [
    line(i),
    `  source: ${i.source}${i.rule ? ` (${i.rule})` : ''}${i.correlation_id ? `  correlation_id=${i.correlation_id}` : ''}`,
    `  opened ${i.opened_at} by ${i.opened_by}`,
    ...(i.acknowledged_at ? [`  acknowledged ${i.acknowledged_at} by ${i.acknowledged_by}`] : []),
    ...(i.resolved_at ? [`  resolved ${i.resolved_at} by ${i.resolved_by}`] : []),
    ...(i.suspended ? ['  suspended its agent'] : []),
  ];
}

const STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];

export async function incidentsList(
  opts: IncidentsOptions & { status?: string; severity?: string; agent?: string },
  io: Io,
): Promise<number> {
  if (opts.status !== undefined && !STATUSES.includes(opts.status as IncidentStatus))
    throw new UsageError('--status must be open, acknowledged or resolved');
  if (opts.severity !== undefined && !isSeverity(opts.severity))
    throw new UsageError('--severity must be low, medium, high or critical');
  return withIncidents(opts.dataDir, false, (incidents) => {
    const list = incidents.list({
      status: opts.status as IncidentStatus | undefined,
      severity: isSeverity(opts.severity) ? opts.severity : undefined,
      agent: opts.agent,
    });
    for (const s of incidents.suspended())
      io.out(`SUSPENDED ${s.agent}  since ${s.at} by ${s.by}: ${s.incident ?? '-'}: ${s.reason}`);
    if (list.length === 0) io.out('no incidents');
    for (const i of list) io.out(line(i));
    return EXIT_OK;
  });
}

export async function incidentsShow(opts: IncidentsOptions & { id: string }, io: Io): Promise<number> {
  return withIncidents(opts.dataDir, false, (incidents) => {
    const incident = incidents.get(opts.id);
    if (!incident) throw new UsageError(`no incident ${opts.id}`);
    for (const l of details(incident)) io.out(l);
    return EXIT_OK;
  });
}

async function transition(
  opts: IncidentsOptions & { id: string; by?: string | undefined },
  io: Io,
  verb: 'acknowledge' | 'resolve',
): Promise<number> {
  return withIncidents(opts.dataDir, true, async (incidents) => {
    const incident = await incidents[verb](opts.id, person(opts.by));
    io.out(line(incident));
    return EXIT_OK;
  });
}

export const incidentsAck = (opts: Parameters<typeof transition>[0], io: Io) =>
  transition(opts, io, 'acknowledge');
export const incidentsResolve = (opts: Parameters<typeof transition>[0], io: Io) =>
  transition(opts, io, 'resolve');

export async function incidentsSuspend(
  opts: IncidentsOptions & { agent: string; reason?: string | undefined; by?: string | undefined },
  io: Io,
): Promise<number> {
  const reason = opts.reason?.trim() || 'suspended by a person';
  return withIncidents(opts.dataDir, true, async (incidents) => {
    await incidents.suspend(opts.agent, reason, person(opts.by));
    io.out(`${opts.agent} suspended: ${reason}`);
    return EXIT_OK;
  });
}

export async function incidentsReinstate(
  opts: IncidentsOptions & { agent: string; by?: string | undefined },
  io: Io,
): Promise<number> {
  return withIncidents(opts.dataDir, true, async (incidents) => {
    await incidents.reinstate(opts.agent, person(opts.by));
    io.out(`${opts.agent} reinstated: its calls run again`);
    return EXIT_OK;
  });
}
