// Compliance numbers match the audit log for a scripted run: real SDK clients through the real proxy, decisions via the API.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../src/web/compliance/index.js';
import type { WebServer } from '../../src/web/index.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN = 'compliance-e2e-token-0123456789abcdef';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const POLICY = `version: 2
agents:
  - { id: alpha, key_sha256: "${sha('alpha-key')}", trust: medium }
  - { id: beta, key_sha256: "${sha('beta-key')}", trust: medium }
rules:
  - { id: echo-ok, match: echo, decision: allow, reason: "harmless" }
  - { id: no-env, match: env, decision: deny, reason: "no env" }
  - { id: no-crash, match: crash, decision: deny, reason: "no crash" }
  - { id: rename-review, match: rename, decision: review, reason: "a person renames" }
`;

let proxy: TestProxy;
let alpha: Client;
let beta: Client;
let web: WebServer;

type Text = { content: { type: string; text: string }[]; isError?: boolean };
const call = async (client: Client, name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as Text;

function auditRecords(dir: string): Record<string, unknown>[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
    /audit-\d+\.jsonl$/.test(f),
  );
  return files.flatMap((f) =>
    readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

const api = async (pathname: string) =>
  fetch(`${web.url}${pathname}`, { headers: { authorization: `Bearer ${TOKEN}` } });

beforeAll(async () => {
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: {
      ...process.env,
      FIXTURE_LOG: path.join(tempDir().dir, 'fixture.jsonl'),
      PORTCULLIS_UI_TOKEN: TOKEN,
    },
    upstreamTransport: inProcessFixtures(),
    ui: 0,
  });
  web = proxy.app.web as WebServer;
  alpha = await httpClient(proxy.url, { headers: { authorization: 'Bearer alpha-key' } });
  beta = await httpClient(proxy.url, { headers: { authorization: 'Bearer beta-key' } });
});

afterAll(async () => {
  await alpha?.close();
  await beta?.close();
  await proxy?.close();
});

describe('GET /api/compliance after a scripted run', () => {
  it('counts what the audit JSONL holds: decisions, agents, denied tools and rules, approval outcomes and waits', async () => {
    // 5 allowed (3 alpha, 2 beta), 3 denied (2 env by alpha, 1 crash by beta), 3 reviewed (alpha).
    for (let i = 0; i < 3; i++) expect((await call(alpha, 'echo', { i })).isError).not.toBe(true);
    for (let i = 0; i < 2; i++) expect((await call(beta, 'echo', { i })).isError).not.toBe(true);
    for (let i = 0; i < 2; i++) expect((await call(alpha, 'env', { i })).isError).toBe(true);
    expect((await call(beta, 'crash')).isError).toBe(true);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const held = await call(alpha, 'rename', { to: `name-${i}` });
      const id = /Approval (ap_[0-9a-f]{16})/.exec(held.content[0]?.text ?? '')?.[1];
      expect(id).toBeDefined();
      ids.push(id as string);
    }
    const decide = (id: string, verb: string) =>
      fetch(`${web.url}/api/approvals/${id}/${verb}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await decide(ids[0] as string, 'approve')).status).toBe(200);
    expect((await decide(ids[1] as string, 'deny')).status).toBe(200);

    const res = await api('/api/compliance?window=24h');
    expect(res.status).toBe(200);
    const report = (await res.json()) as ComplianceReport;

    // Counted independently from the files on disk.
    const records = auditRecords(path.join(proxy.dataDir, 'audit'));
    const decisions = records.filter((r) => r.event === 'decision');
    const count = (pred: (r: Record<string, unknown>) => boolean) => decisions.filter(pred).length;
    expect(report.decisions.allow).toBe(count((r) => r.decision === 'allow'));
    expect(report.decisions.deny).toBe(count((r) => r.decision === 'deny'));
    expect(report.decisions.review).toBe(count((r) => r.decision === 'review'));
    expect([report.decisions.allow, report.decisions.deny, report.decisions.review]).toEqual([5, 3, 3]);
    expect(report.decisions.buckets.reduce((s, b) => s + b.allow + b.deny + b.review, 0)).toBe(
      decisions.length,
    );

    for (const agent of ['alpha', 'beta']) {
      const row = report.agents.find((a) => a.agent === agent);
      expect(row).toMatchObject({
        allow: count((r) => r.agent === agent && r.decision === 'allow'),
        deny: count((r) => r.agent === agent && r.decision === 'deny'),
        review: count((r) => r.agent === agent && r.decision === 'review'),
      });
    }
    expect(report.active_agents).toBe(new Set(decisions.map((r) => r.agent)).size);

    const deniedBy = (key: string) => {
      const m = new Map<string, number>();
      for (const r of decisions.filter((d) => d.decision === 'deny'))
        m.set(String(r[key]), (m.get(String(r[key])) ?? 0) + 1);
      return Object.fromEntries(m);
    };
    expect(Object.fromEntries(report.top_denied_tools.map((t) => [t.name, t.count]))).toEqual(
      deniedBy('tool'),
    );
    expect(Object.fromEntries(report.top_denying_rules.map((t) => [t.rule, t.count]))).toEqual(
      deniedBy('rule'),
    );
    expect(report.top_denied_tools[0]).toMatchObject({ name: 'env', count: 2 });

    const approvals = records.filter((r) => r.event === 'approval');
    expect(report.approvals.outcomes.approved).toBe(approvals.filter((r) => r.status === 'approved').length);
    expect(report.approvals.outcomes.denied).toBe(approvals.filter((r) => r.status === 'denied').length);
    expect(report.approvals.outcomes.pending).toBe(approvals.filter((r) => r.status === 'pending').length);
    expect(report.approvals.outcomes).toMatchObject({ approved: 1, denied: 1, pending: 3 });
    expect(report.approvals.wait.count).toBe(2);
    expect(report.approvals.pending.count).toBe(1);
    expect(report.approvals.pending.histogram.bins.reduce((s, b) => s + b.count, 0)).toBe(1);

    expect(report.policies).toMatchObject({ rules: 4 });
    expect(report.audit).toMatchObject({ available: true, capped: false });
    expect(report.audit.integrity.state).toBe('verified');
    // The registry knows the policy's two agents; no rule has a severity, so no incident was opened.
    expect(report.total_agents).toBe(2);
    expect(report.suspended_agents).toBe(0);
    expect(report.recent_violations).toBe(0);
    // 3 of 11 denied → 0.5 · 27.3 = 13.6 points; nothing else costs.
    expect(report.score.terms.find((t) => t.key === 'denials')?.penalty).toBe(13.6);
    expect(report.compliance_score).toBe(86);
  });

  it('refuses an unknown window and a caller without the admin token', async () => {
    const bad = await api('/api/compliance?window=1y');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'E_COMPLIANCE_WINDOW' });
    expect((await fetch(`${web.url}/api/compliance`)).status).toBe(401);
    expect(
      (await fetch(`${web.url}/api/compliance`, { headers: { authorization: 'Bearer alpha-key' } })).status,
    ).toBe(401);
  });

  it('says when the cap on records read stopped it', async () => {
    const { complianceReport } = await import('../../src/web/compliance/index.js');
    const report = await complianceReport(
      { auditDir: path.join(proxy.dataDir, 'audit'), maxRecords: 4 },
      '24h',
    );
    expect(report.audit).toMatchObject({ capped: true, records_read: 4 });
  });
});
