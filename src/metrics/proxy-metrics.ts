// The proxy's Prometheus metrics: what it decided, how long that took, its upstreams, sessions,
// audit writes, approvals and governance (limits, budgets, incidents, suspensions), on one registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ApprovalQueue } from '../approvals/index.js';
import { type AuditObservation, AuditWriteError } from '../audit/index.js';
import {
  type AgentDirectory,
  type BudgetUsage,
  type DecisionListener,
  type IncidentLog,
  SEVERITIES,
} from '../governance/index.js';
import type { GateObserver } from '../proxy/index.js';
import { LabelCap, OTHER } from './labels.js';

/** Every metric this module exports (the approvals pending gauge is src/web's): the README and the alert rules name them. */
export const METRIC_NAMES = [
  'portcullis_calls_total',
  'portcullis_policy_evaluation_seconds',
  'portcullis_upstream_seconds',
  'portcullis_proxy_overhead_seconds',
  'portcullis_upstream_up',
  'portcullis_upstream_restarts_total',
  'portcullis_sessions',
  'portcullis_audit_write_seconds',
  'portcullis_audit_write_failures_total',
  'portcullis_approvals_decided_total',
  'portcullis_approval_wait_seconds',
  'portcullis_rate_limited_total',
  'portcullis_budget_refusals_total',
  'portcullis_budget_used_ratio',
  'portcullis_incidents_total',
  'portcullis_incidents_open',
  'portcullis_agents_suspended',
] as const;

/** How many distinct values each label may take (the rest are "other"). */
const CAPS = { server: 50, tool: 200, rule: 200, limit: 50, budget: 50 } as const;

/** How many open incidents are counted at most per scrape (a bounded query, not a table scan). */
const INCIDENTS_COUNTED = 10_000;

const DECISIONS = new Set(['allow', 'deny', 'review']);
const APPROVAL_OUTCOMES = new Set(['approved', 'denied', 'expired', 'withdrawn']);
const KNOWN_SEVERITIES = new Set<string>(SEVERITIES);

export interface ProxyMetricsDeps {
  registry: Registry;
  /** The audit log's appends: decisions (calls), upstream lifecycle, incidents, write latency and failures. */
  audit: { observe(listener: (observation: AuditObservation) => void): () => void };
  queue: Pick<ApprovalQueue, 'subscribe'>;
  /** Open downstream sessions now. */
  sessions: () => number;
  /** Told of every recorded decision (rate limits, budget refusals): `Governance.listen`. */
  governance?: { listen(listener: DecisionListener): () => void } | undefined;
  /** The limits part's budget usage now (all agents); none: no budget series. */
  budgets?: (() => readonly BudgetUsage[]) | undefined;
  incidents?: IncidentLog | undefined;
  agents?: AgentDirectory | undefined;
  now?: (() => number) | undefined;
}

export interface ProxyMetrics {
  /** For the gate (`GateDeps.observer`): evaluation, upstream and overhead timings. */
  observer: GateObserver;
  /** An upstream could not be started or reached: it is down until one connects. */
  upstreamFailed(server: string): void;
  close(): void;
}

export function createProxyMetrics(deps: ProxyMetricsDeps): ProxyMetrics {
  const { registry } = deps;
  const registers = [registry];
  const now = deps.now ?? Date.now;
  const caps = {
    server: new LabelCap(CAPS.server),
    tool: new LabelCap(CAPS.tool),
    rule: new LabelCap(CAPS.rule),
    limit: new LabelCap(CAPS.limit),
    budget: new LabelCap(CAPS.budget),
  };

  const calls = new Counter({
    name: 'portcullis_calls_total',
    help: 'tools/call decisions recorded, by decision (allow, deny, review), server, tool and rule ("none": no rule; "other": past the label cap or not a listed tool)',
    labelNames: ['decision', 'server', 'tool', 'rule'],
    registers,
  });
  const evaluation = new Histogram({
    name: 'portcullis_policy_evaluation_seconds',
    help: 'Time the policy took to decide one tools/call',
    buckets: [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers,
  });
  const upstreamSeconds = new Histogram({
    name: 'portcullis_upstream_seconds',
    help: 'Time an upstream took to answer a forwarded call, by server',
    labelNames: ['server'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const overhead = new Histogram({
    name: 'portcullis_proxy_overhead_seconds',
    help: 'Time the proxy added to an allowed tools/call (checks, policy, audit records, result scan), upstream time excluded',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers,
  });
  const upstreamUp = new Gauge({
    name: 'portcullis_upstream_up',
    help: '1 while the last connection seen to the upstream is up, 0 once it exited or could not be started or reached',
    labelNames: ['server'],
    registers,
  });
  const restarts = new Counter({
    name: 'portcullis_upstream_restarts_total',
    help: 'Times an upstream connection came back after it dropped, by server',
    labelNames: ['server'],
    registers,
  });
  new Gauge({
    name: 'portcullis_sessions',
    help: 'Open downstream sessions (MCP clients connected to this process)',
    registers,
    collect() {
      this.set(deps.sessions());
    },
  });
  const auditWrite = new Histogram({
    name: 'portcullis_audit_write_seconds',
    help: 'Time from appending an audit record to it being written (batched writes included)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers,
  });
  const auditFailures = new Counter({
    name: 'portcullis_audit_write_failures_total',
    help: 'Audit records that could not be written (calls are denied while the log cannot be written)',
    registers,
  });
  const decided = new Counter({
    name: 'portcullis_approvals_decided_total',
    help: 'Approvals that ended in this process, by outcome (approved, denied, expired, withdrawn)',
    labelNames: ['outcome'],
    registers,
  });
  const wait = new Histogram({
    name: 'portcullis_approval_wait_seconds',
    help: 'Time from an approval being created to its end (decided, expired or withdrawn), by outcome',
    labelNames: ['outcome'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14_400, 86_400],
    registers,
  });
  const rateLimited = new Counter({
    name: 'portcullis_rate_limited_total',
    help: 'Calls a rate or concurrency limit denied or sent to review, by the limit id in the policy',
    labelNames: ['limit'],
    registers,
  });
  const budgetRefusals = new Counter({
    name: 'portcullis_budget_refusals_total',
    help: 'Calls a spend budget denied or sent to review, by the budget id in the policy',
    labelNames: ['budget'],
    registers,
  });
  new Gauge({
    name: 'portcullis_budget_used_ratio',
    help: 'How much of each budget is used in its window now (used / max), the highest over agents (and tools)',
    labelNames: ['budget'],
    registers,
    collect() {
      if (!deps.budgets) return;
      this.reset();
      const highest = new Map<string, number>();
      for (const usage of quietly(deps.budgets, [])) {
        const ratio = usage.max > 0 ? usage.used / usage.max : usage.used > 0 ? 1 : 0;
        const label = caps.budget.label(usage.budget);
        highest.set(label, Math.max(highest.get(label) ?? 0, ratio));
      }
      for (const [budget, ratio] of highest) this.set({ budget }, ratio);
    },
  });
  const incidents = new Counter({
    name: 'portcullis_incidents_total',
    help: 'Incidents opened (recorded by this process), by severity',
    labelNames: ['severity'],
    registers,
  });
  new Gauge({
    name: 'portcullis_incidents_open',
    help: 'Incidents open now (not yet acknowledged or resolved)',
    registers,
    collect() {
      const log = deps.incidents;
      if (log) this.set(quietly(() => log.list({ status: 'open', limit: INCIDENTS_COUNTED }).length, 0));
      else this.set(0);
    },
  });
  new Gauge({
    name: 'portcullis_agents_suspended',
    help: 'Agents suspended now (their calls are all denied until a person reinstates them)',
    registers,
    collect() {
      const agents = deps.agents;
      if (agents) this.set(quietly(() => agents.list().filter((a) => a.suspension !== null).length, 0));
      else this.set(0);
    },
  });

  const server = (name: string | null | undefined): string =>
    typeof name === 'string' ? caps.server.label(name) : 'none';

  const stopAudit = deps.audit.observe((observation) => {
    const { event } = observation;
    if (observation.error !== undefined) {
      // A write after close is the shutdown, not a failing disk.
      if (!(observation.error instanceof AuditWriteError && observation.error.failure === 'closed'))
        auditFailures.inc();
    } else {
      auditWrite.observe(observation.ms / 1000);
    }
    if (event.event === 'decision' && typeof event.tool === 'string') {
      // Unrecorded, the call was denied whatever the policy said.
      const decision = observation.error !== undefined ? 'deny' : String(event.decision);
      const routed = typeof event.server === 'string';
      calls.inc({
        decision: DECISIONS.has(decision) ? decision : OTHER,
        server: server(event.server),
        // Only a routed call's tool is a name an upstream listed; an unlisted name is the client's own text.
        tool: routed ? caps.tool.label(event.tool) : OTHER,
        rule: typeof event.rule === 'string' ? caps.rule.label(event.rule) : 'none',
      });
    } else if (event.event === 'upstream' && observation.error === undefined) {
      const name = server(event.server);
      if (event.action === 'exited') upstreamUp.set({ server: name }, 0);
      else upstreamUp.set({ server: name }, 1);
      if (event.action === 'restarted') restarts.inc({ server: name });
    } else if (event.event === 'incident' && event.action === 'opened') {
      const severity = String(event.severity);
      incidents.inc({ severity: KNOWN_SEVERITIES.has(severity) ? severity : OTHER });
    }
  });

  const stopQueue = deps.queue.subscribe((change) => {
    if (change.kind === 'external' || change.kind === 'refused' || !APPROVAL_OUTCOMES.has(change.kind))
      return;
    const { approval } = change;
    decided.inc({ outcome: change.kind });
    const ended = approval.decidedAt ?? now();
    wait.observe({ outcome: change.kind }, Math.max(0, (ended - approval.createdAt) / 1000));
  });

  const stopGovernance = deps.governance?.listen({
    decided(call) {
      const breach = call.breach;
      if (breach === undefined) return;
      if (breach.kind === 'budget') budgetRefusals.inc({ budget: caps.budget.label(breach.id) });
      else rateLimited.inc({ limit: caps.limit.label(breach.id) });
    },
  });

  // One child per server, kept: the hot path then makes no label object per call.
  const upstreamOf = new Map<string, ReturnType<typeof upstreamSeconds.labels>>();
  const observer: GateObserver = {
    evaluated(seconds) {
      evaluation.observe(seconds);
    },
    forwarded(name, upstream, added) {
      let child = upstreamOf.get(name);
      if (child === undefined) {
        child = upstreamSeconds.labels({ server: server(name) });
        if (upstreamOf.size < CAPS.server * 2) upstreamOf.set(name, child);
      }
      child.observe(upstream);
      if (added !== undefined) overhead.observe(added);
    },
  };

  return {
    observer,
    upstreamFailed(name) {
      upstreamUp.set({ server: server(name) }, 0);
    },
    close() {
      stopAudit();
      stopQueue();
      stopGovernance?.();
      for (const name of METRIC_NAMES) registry.removeSingleMetric(name);
    },
  };
}

/** A part's read for a gauge; one that throws leaves the fallback (a scrape must not fail for it). */
function quietly<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}
