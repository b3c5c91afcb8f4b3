// The governance series (limits, budgets, incidents, suspensions) from the parts the lead connects:
// a real Governance, a real audit log and registry; the registry, limits and incident stores are
// other branches' work, so small stand-ins implementing their read interfaces take their place here.

import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import {
  type AgentDirectory,
  type AgentRecord,
  type BudgetUsage,
  Governance,
  type Incident,
  type IncidentLog,
} from '../../src/governance/index.js';
import { createProxyMetrics } from '../../src/metrics/index.js';
import type { DecidedCall } from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';
import { type Sample, samples, sum } from './scrape.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const value = (all: Sample[], name: string, labels: Record<string, string> = {}): number =>
  sum(all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)));

function agent(id: string, suspended: boolean): AgentRecord {
  return {
    id,
    source: 'auto',
    trust: 'low',
    owner: null,
    env: null,
    created_at: null,
    last_seen: null,
    keys: [],
    suspension: suspended
      ? { incident: 'inc-1', reason: 'three high denials', at: '', by: 'portcullis' }
      : null,
  };
}

async function setup(parts: {
  budgets?: () => BudgetUsage[];
  incidents?: IncidentLog;
  agents?: AgentDirectory;
}) {
  const registry = new Registry();
  const audit = await AuditLog.open({ dataDir: tempDir().dir });
  closers.push(() => audit.close());
  const governance = new Governance();
  const metrics = createProxyMetrics({
    registry,
    audit,
    queue: { subscribe: () => () => {} },
    sessions: () => 0,
    governance,
    ...parts,
  });
  closers.push(() => metrics.close());
  return { registry, audit, governance, scrape: async () => samples(await registry.metrics()) };
}

const call = (breach?: DecidedCall['breach']): DecidedCall => ({
  agent: 'support-bot',
  server: 'payments',
  tool: 'refund',
  args: {},
  correlationId: 'c',
  decision: { decision: 'deny', rule: null, reason: 'over', policySha256: 'x' },
  breach,
});

describe('governance metrics', () => {
  it('counts rate-limited calls by limit and budget refusals by budget, from the decisions governance hears', async () => {
    const { governance, scrape } = await setup({});
    governance.decided(call({ kind: 'rate', id: 'per-agent', reason: 'over 1000/minute' }));
    governance.decided(call({ kind: 'concurrency', id: 'parallel', reason: 'over 4 at once' }));
    governance.decided(call({ kind: 'rate', id: 'per-agent', reason: 'over 1000/minute' }));
    governance.decided(call({ kind: 'budget', id: 'refunds-daily', reason: 'over $2000/day' }));
    governance.decided(call());
    const all = await scrape();
    expect(value(all, 'portcullis_rate_limited_total', { limit: 'per-agent' })).toBe(2);
    expect(value(all, 'portcullis_rate_limited_total', { limit: 'parallel' })).toBe(1);
    expect(value(all, 'portcullis_rate_limited_total')).toBe(3);
    expect(value(all, 'portcullis_budget_refusals_total', { budget: 'refunds-daily' })).toBe(1);
  });

  it('reports each budget at its most used agent, and no agent label', async () => {
    const usage: BudgetUsage[] = [
      { budget: 'refunds-daily', agent: 'a', tool: null, used: 500, max: 2000, window_ms: 86_400_000 },
      { budget: 'refunds-daily', agent: 'b', tool: null, used: 1900, max: 2000, window_ms: 86_400_000 },
      { budget: 'exports', agent: 'a', tool: 'export', used: 0, max: 10, window_ms: 3_600_000 },
    ];
    const { scrape } = await setup({ budgets: () => usage });
    const ratios = (await scrape()).filter((s) => s.name === 'portcullis_budget_used_ratio');
    expect(ratios).toEqual([
      { name: 'portcullis_budget_used_ratio', labels: { budget: 'refunds-daily' }, value: 0.95 },
      { name: 'portcullis_budget_used_ratio', labels: { budget: 'exports' }, value: 0 },
    ]);
    usage.splice(0);
    expect((await scrape()).filter((s) => s.name === 'portcullis_budget_used_ratio')).toEqual([]);
  });

  it('counts incidents opened by severity from the audit log, and reads open incidents and suspended agents now', async () => {
    const open: Incident[] = [];
    const agents = [agent('a', false), agent('b', true)];
    const { audit, scrape } = await setup({
      incidents: { list: (filter) => open.filter((i) => i.status === filter?.status), get: () => undefined },
      agents: { list: () => agents, get: (id) => agents.find((a) => a.id === id) },
    });
    const incident = (action: 'opened' | 'acknowledged', severity: 'high' | 'critical') =>
      audit.append({
        event: 'incident',
        action,
        incident: 'inc-1',
        severity,
        type: 'rule',
        by: 'portcullis',
      });
    await incident('opened', 'high');
    await incident('opened', 'high');
    await incident('acknowledged', 'high');
    await incident('opened', 'critical');
    open.push({ status: 'open' } as Incident, { status: 'acknowledged' } as Incident);
    const all = await scrape();
    expect(value(all, 'portcullis_incidents_total', { severity: 'high' })).toBe(2);
    expect(value(all, 'portcullis_incidents_total', { severity: 'critical' })).toBe(1);
    expect(value(all, 'portcullis_incidents_open')).toBe(1);
    expect(value(all, 'portcullis_agents_suspended')).toBe(1);
  });

  it('keeps a scrape working when a part cannot be read', async () => {
    const { scrape } = await setup({
      budgets: () => {
        throw new Error('limits store closed');
      },
      agents: {
        list: () => {
          throw new Error('registry closed');
        },
        get: () => undefined,
      },
    });
    const all = await scrape();
    expect(value(all, 'portcullis_agents_suspended')).toBe(0);
    expect(all.some((s) => s.name === 'portcullis_sessions')).toBe(true);
  });
});
