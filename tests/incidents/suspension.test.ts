// Incidents and suspension end to end: a real SDK client through the real proxy to the recording fixture; denials by severe rules suspend the agent mid-session, a person reinstates it.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import type { Incident } from '../../src/governance/index.js';
import type { WebServer } from '../../src/web/index.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'incidents-test-token-0123456789abcdef';

const POLICY = `version: 2
approval: { max_hold: 60s }
suspend: { after: 3, severity: high, within: 10m }
rules:
  - { id: no-crash, match: crash, decision: deny, severity: high, reason: "crash is forbidden" }
  - { id: no-env, match: env, decision: deny, severity: low }
  - { id: hold-returns, match: returns, decision: review }
  - { match: "*", decision: allow }
`;

let proxy: FixtureProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await proxy?.close();
  proxy = undefined;
});

async function start(policy = POLICY) {
  proxy = await startFixtureProxy({
    policy,
    upstream: 'in-process',
    ui: 0,
    env: { PORTCULLIS_UI_TOKEN: TOKEN },
  });
  const client = await httpClient(proxy.url);
  clients.push(client);
  const listChanged = { count: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged.count += 1;
  });
  return { proxy, client, listChanged };
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;

/** The admin API with the admin token (no CSRF: a browser never sends this header on its own). */
async function api(p: FixtureProxy, method: 'GET' | 'POST', path: string, body?: unknown) {
  const web = p.app.web as WebServer;
  const res = await fetch(`${web.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> & Incident };
}

describe('auto-suspension', () => {
  it('three high-severity denials suspend the agent mid-session; a person reinstates it', async () => {
    const { proxy: p, client, listChanged } = await start();
    expect(resultText(await call(client, 'echo', { message: 'before' }))).toContain('before');
    const toolsBefore = (await client.listTools()).tools.length;
    expect(toolsBefore).toBeGreaterThan(0);

    // A call held for a person while the agent misbehaves.
    const held = client.callTool({ name: 'returns', arguments: { result: { content: [] } } }, undefined, {
      onprogress: () => {},
      timeout: 30_000,
    }) as Promise<CallToolResult>;
    await waitFor(() => p.app.approvals.store.countPending() === 1, 'the held approval');

    // A low-severity denial does not count toward `severity: high`.
    for (let i = 0; i < 2; i++) expect((await call(client, 'env')).isError).toBe(true);
    for (let i = 0; i < 2; i++) {
      const denied = await call(client, 'crash');
      expect(resultText(denied)).toContain('crash is forbidden');
    }
    // Two high ones: not yet suspended, the next allowed call still runs.
    expect(resultText(await call(client, 'echo', { message: 'still' }))).toContain('still');
    expect(listChanged.count).toBe(0);
    const third = await call(client, 'crash');
    expect(third.isError).toBe(true);

    // The held call is answered at once: withdrawn, naming the suspension.
    const withdrawn = await held;
    expect(withdrawn.isError).toBe(true);
    expect(resultText(withdrawn)).toMatch(/withdrawn: agent suspended: inc_[0-9a-f]+: /);
    expect(p.app.approvals.store.list({ status: 'withdrawn' })).toHaveLength(1);

    // Every call now is denied, whatever the policy says; its list is empty and it was told.
    const refused = await call(client, 'echo', { message: 'while suspended' });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(
      /agent suspended: inc_[0-9a-f]+: fixture\/crash denied by rule no-crash/,
    );
    await waitFor(() => listChanged.count > 0, 'tools/list_changed');
    expect((await client.listTools()).tools).toEqual([]);

    // A second client of the same agent is suspended too.
    const second = await httpClient(p.url);
    clients.push(second);
    expect(resultText(await call(second, 'echo', { message: 'x' }))).toContain('agent suspended');

    // One incident for the repeated breach (count 3), one for the low ones (count 2).
    const list = await api(p, 'GET', '/api/incidents');
    const incidents = list.json as unknown as Incident[];
    const crash = incidents.find((i) => i.rule === 'no-crash');
    expect(crash).toMatchObject({
      count: 3,
      severity: 'high',
      status: 'open',
      suspended: true,
      agent: 'anonymous',
    });
    expect(incidents.find((i) => i.rule === 'no-env')).toMatchObject({ count: 2, severity: 'low' });
    expect((await api(p, 'GET', '/api/suspensions')).json).toEqual([
      expect.objectContaining({ agent: 'anonymous', incident: crash?.id, by: 'portcullis' }),
    ]);

    // Reinstating is a person's action.
    const before = listChanged.count;
    const reinstated = await api(p, 'POST', '/api/agents/anonymous/reinstate');
    expect(reinstated.status).toBe(200);
    await waitFor(() => listChanged.count > before, 'tools/list_changed after reinstatement');
    expect((await client.listTools()).tools.length).toBe(toolsBefore);
    expect(resultText(await call(client, 'echo', { message: 'after' }))).toContain('after');
    // Reinstating twice is a conflict the caller hears about.
    expect((await api(p, 'POST', '/api/agents/anonymous/reinstate')).status).toBe(404);

    // The upstream never saw a call while suspended, nor the forbidden or withdrawn ones.
    const log = p.fixtureLog;
    expect(await callsOf(log, 'echo')).toBe(3);
    expect(await callsOf(log, 'crash')).toBe(0);
    expect(await callsOf(log, 'returns')).toBe(0);

    // Everything is audited: opened, recurred (once a minute at most), suspended, withdrawn, reinstated.
    await waitFor(async () => {
      const { records } = await queryAudit(p.app.audit.root, { event: 'agent' });
      return records.some((r) => r.action === 'reinstated');
    }, 'the reinstated record');
    // Newest first from the query: in order of writing here.
    const records = (await queryAudit(p.app.audit.root, {})).records.reverse();
    const incidentRecords = records.filter((r) => r.event === 'incident' && r.incident === crash?.id);
    expect(incidentRecords.map((r) => r.action)).toEqual(['opened', 'recurred']);
    const agentRecords = records.filter((r) => r.event === 'agent').map((r) => [r.action, r.by]);
    expect(agentRecords).toEqual([
      // The registry records the agent it first saw (at the policy's default_trust).
      ['registered', 'portcullis'],
      ['suspended', 'portcullis'],
      ['reinstated', 'admin (API token)'],
    ]);
    expect(records.some((r) => r.event === 'approval' && r.status === 'withdrawn')).toBe(true);
  });

  it('after reinstatement the old denials no longer count: it takes three new ones', async () => {
    const { proxy: p, client } = await start();
    for (let i = 0; i < 3; i++) await call(client, 'crash');
    expect(resultText(await call(client, 'echo'))).toContain('agent suspended');
    await api(p, 'POST', '/api/agents/anonymous/reinstate');
    // The incident is still open: a repeat bumps it and counts, but from the reinstatement on.
    await call(client, 'crash');
    expect(resultText(await call(client, 'echo', { message: 'ok' }))).toContain('ok');
    await call(client, 'crash');
    await call(client, 'crash');
    expect(resultText(await call(client, 'echo'))).toContain('agent suspended');
  });

  it('without suspend: in the policy, denials open incidents but suspend no one', async () => {
    const { proxy: p, client } = await start(POLICY.replace(/^suspend:.*\n/m, ''));
    for (let i = 0; i < 5; i++) await call(client, 'crash');
    expect(resultText(await call(client, 'echo', { message: 'fine' }))).toContain('fine');
    const incidents = (await api(p, 'GET', '/api/incidents')).json as unknown as Incident[];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ count: 5, suspended: false });
  });
});

describe('manual incidents and the lifecycle', () => {
  it('a critical incident with auto_suspend suspends at once; ack and resolve record who and when', async () => {
    const { proxy: p, client } = await start();
    expect(resultText(await call(client, 'echo', { message: 'a' }))).toContain('a');
    const reported = await api(p, 'POST', '/api/incidents', {
      agent: 'anonymous',
      type: 'data_exfiltration',
      severity: 'critical',
      description: 'sent customer data to a pastebin',
      auto_suspend: true,
    });
    expect(reported.status).toBe(201);
    const id = reported.json.id;
    expect(reported.json).toMatchObject({
      source: 'manual',
      suspended: true,
      opened_by: 'admin (API token)',
    });
    expect(resultText(await call(client, 'echo', { message: 'b' }))).toBe(
      `Denied by Portcullis: agent suspended: ${id}: sent customer data to a pastebin`,
    );

    const acked = await api(p, 'POST', `/api/incidents/${id}/acknowledge`);
    expect(acked.json).toMatchObject({ status: 'acknowledged', acknowledged_by: 'admin (API token)' });
    expect(Date.parse(acked.json.acknowledged_at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect((await api(p, 'POST', `/api/incidents/${id}/acknowledge`)).status).toBe(409);
    const resolved = await api(p, 'POST', `/api/incidents/${id}/resolve`);
    expect(resolved.json).toMatchObject({ status: 'resolved', resolved_by: 'admin (API token)' });
    expect((await api(p, 'POST', `/api/incidents/${id}/resolve`)).status).toBe(409);
    // Resolving the incident does not reinstate the agent: that is its own decision.
    expect(resultText(await call(client, 'echo'))).toContain('agent suspended');
    expect((await api(p, 'GET', '/api/incidents/inc_nope')).status).toBe(404);

    await waitFor(async () => {
      const { records } = await queryAudit(p.app.audit.root, { event: 'incident' });
      return records.some((r) => r.action === 'resolved');
    }, 'the resolved record');
    const records = (await queryAudit(p.app.audit.root, { event: 'incident' })).records.reverse();
    expect(records.map((r) => [r.action, r.by])).toEqual([
      ['opened', 'admin (API token)'],
      ['acknowledged', 'admin (API token)'],
      ['resolved', 'admin (API token)'],
    ]);
    expect(await callsOf(p.fixtureLog, 'echo')).toBe(1);
  });

  it('refuses reports it cannot act on, and bad input', async () => {
    const { proxy: p } = await start();
    const bad = [
      { agent: 'a', type: 't', severity: 'high', description: 'd', auto_suspend: true },
      { type: 't', severity: 'critical', description: 'd', auto_suspend: true },
      { agent: 'a', severity: 'urgent', description: 'd' },
      { agent: 'a', severity: 'low' },
      { agent: 'a b', severity: 'low', description: 'd' },
      { agent: 'a', severity: 'low', description: 'd', auto_suspend: 'yes' },
    ];
    for (const body of bad) expect((await api(p, 'POST', '/api/incidents', body)).status).toBe(400);
    expect((await api(p, 'GET', '/api/incidents')).json).toEqual([]);
    // A manual suspension needs no incident; a second one is a conflict.
    expect((await api(p, 'POST', '/api/agents/bot-1/suspend', { reason: 'looks off' })).status).toBe(200);
    expect((await api(p, 'POST', '/api/agents/bot-1/suspend', {})).status).toBe(409);
    expect(p.app.web && (await api(p, 'GET', '/api/suspensions')).json).toEqual([
      expect.objectContaining({ agent: 'bot-1', incident: null, reason: 'looks off' }),
    ]);
    // Without the token nothing changes.
    const web = p.app.web as WebServer;
    const anon = await fetch(`${web.url}/api/agents/bot-1/reinstate`, { method: 'POST' });
    expect(anon.status).toBe(401);
  });
});
