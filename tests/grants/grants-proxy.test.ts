// Standing grants from outside: real SDK clients over HTTP through the real proxy to a recording upstream, grants made on the admin API.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { canonicalJson } from '../../src/util/index.js';
import type { WebServer } from '../../src/web/index.js';
import { cli } from '../helpers/cli.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'grants-proxy-test-token-0123456789abcdef';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const POLICY = `version: 2
agents:
  - { id: support-bot, key_sha256: "${sha('support-key')}", trust: medium }
  - { id: billing-bot, key_sha256: "${sha('billing-key')}", trust: medium }
rules:
  - id: never-the-ceo
    match: echo
    args: { to: { eq: "ceo@example.com" } }
    decision: deny
    reason: "Nobody emails the CEO through an agent"
  - id: echo-review
    match: echo
    cap: { arg: amount_cents, max: 10000 }
    decision: review
    reason: "Echo goes to a person"
  - id: env-review
    match: env
    decision: review
    reason: "Env goes to a person"
`;

let proxy: TestProxy;
let support: Client;
let billing: Client;
let web: WebServer;
let fixtureLog: string;

type Text = { content: { type: string; text: string }[]; isError?: boolean; _meta?: Record<string, unknown> };
const call = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as Text;
const ran = (args: Record<string, unknown>) =>
  existsSync(fixtureLog) &&
  readFileSync(fixtureLog, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { method?: string; args?: unknown })
    .some((e) => e.method === 'tools/call' && canonicalJson(e.args) === canonicalJson(args));
const pending = () => proxy.app.approvals.queue.store.list({ status: 'pending' });
const api = (route: string, body?: unknown) =>
  fetch(`${web.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** The first call of a kind goes to a person; the reviewer approves it with a grant (body: any value). */
async function grantFrom(args: Record<string, unknown>, choice: Record<string, unknown> = {}) {
  const first = await call(support, 'echo', args);
  expect(first.content[0]?.text).toMatch(/waiting for a person/);
  const approval = pending().find((a) => a.argsCanonical.includes(String(args.body)));
  expect(approval?.grantable).toBe(true);
  const res = await api(`/api/approvals/${approval?.id}/grant`, {
    duration_ms: 3_600_000,
    args: { body: 'any' },
    ...choice,
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { status: string; grant: { id: string } };
  expect(json.status).toBe('approved');
  return json.grant.id;
}

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: fixtureLog, PORTCULLIS_UI_TOKEN: TOKEN },
    upstreamTransport: inProcessFixtures(),
    ui: 0,
  });
  web = proxy.app.web as WebServer;
  support = await httpClient(proxy.url, { headers: { authorization: 'Bearer support-key' } });
  billing = await httpClient(proxy.url, { headers: { authorization: 'Bearer billing-key' } });
});

afterEach(async () => {
  for (const a of pending()) await api(`/api/approvals/${a.id}/deny`, {});
  for (const g of (await (await api('/api/grants')).json()) as { id: string }[])
    await api(`/api/grants/${g.id}/revoke`, {});
});

afterAll(async () => {
  await support?.close();
  await billing?.close();
  await proxy?.close();
});

describe('a standing grant through the proxy', () => {
  it('covers the next same-scope call: it runs without a person, audited as granted with the grant id', async () => {
    const grantId = await grantFrom({ to: 'ann@example.com', amount_cents: 500, body: 'first' });
    const args = { to: 'ann@example.com', amount_cents: 500, body: 'second, different body' };
    const next = await call(support, 'echo', args);
    expect(next.isError).toBeUndefined();
    expect(ran(args)).toBe(true);
    expect(pending()).toEqual([]);
    const records = (await queryAudit(proxy.app.audit.root, { q: grantId, limit: 100 })).records;
    expect(records.find((r) => r.status === 'granted')).toMatchObject({
      grant_id: grantId,
      agent: 'support-bot',
    });
    expect(records.find((r) => r.event === 'grant')).toMatchObject({ action: 'created', grant: grantId });
    const listed = (await (await api('/api/grants')).json()) as { id: string; uses: number }[];
    expect(listed.find((g) => g.id === grantId)?.uses).toBe(1);
  });

  it('outside its scope (another agent, another tool, another value of an exact argument) the call goes to review', async () => {
    await grantFrom({ to: 'bob@example.com', amount_cents: 700, body: 'b1' });
    const other = { to: 'bob@example.com', amount_cents: 700, body: 'b2' };
    expect((await call(billing, 'echo', other)).content[0]?.text).toMatch(/waiting for a person/);
    expect((await call(support, 'env', other)).content[0]?.text).toMatch(/waiting for a person/);
    const more = { to: 'bob@example.com', amount_cents: 701, body: 'b3' };
    expect((await call(support, 'echo', more)).content[0]?.text).toMatch(/waiting for a person/);
    expect(ran(other) || ran(more)).toBe(false);
    expect(pending()).toHaveLength(3);
  });

  it('"at most" covers smaller amounts and sends a larger one to review', async () => {
    await grantFrom(
      { to: 'max@example.com', amount_cents: 5000, body: 'm1' },
      { args: { body: 'any', amount_cents: 'max' } },
    );
    const small = { to: 'max@example.com', amount_cents: 4000, body: 'm2' };
    expect((await call(support, 'echo', small)).isError).toBeUndefined();
    const large = { to: 'max@example.com', amount_cents: 6000, body: 'm3' };
    expect((await call(support, 'echo', large)).content[0]?.text).toMatch(/waiting for a person/);
    expect(ran(large)).toBe(false);
  });

  it('never past a deny rule, never past a cap', async () => {
    await grantFrom(
      { to: 'ceo-adjacent@example.com', amount_cents: 500, body: 'c1' },
      { args: { to: 'any', body: 'any', amount_cents: 'any' } },
    );
    const ceo = { to: 'ceo@example.com', amount_cents: 500, body: 'c2' };
    const denied = await call(support, 'echo', ceo);
    expect(denied.isError).toBe(true);
    expect(denied.content[0]?.text).toContain('never-the-ceo');
    const over = { to: 'x@example.com', amount_cents: 20000, body: 'c3' };
    expect((await call(support, 'echo', over)).content[0]?.text).toMatch(/waiting for a person/);
    expect(ran(ceo) || ran(over)).toBe(false);
    const grants = (await (await api('/api/grants')).json()) as { uses: number }[];
    expect(grants[0]?.uses).toBe(0);
  });

  it('revoked: the next call goes to review again', async () => {
    const grantId = await grantFrom({ to: 'rev@example.com', amount_cents: 500, body: 'r1' });
    expect((await api(`/api/grants/${grantId}/revoke`, {})).status).toBe(200);
    expect((await api(`/api/grants/${grantId}/revoke`, {})).status).toBe(409);
    const args = { to: 'rev@example.com', amount_cents: 500, body: 'r2' };
    expect((await call(support, 'echo', args)).content[0]?.text).toMatch(/waiting for a person/);
    expect(ran(args)).toBe(false);
  });

  it('a grant is refused (409) for an approval that is no longer pending or that a cap sent to review', async () => {
    await call(support, 'echo', { to: 'z@example.com', amount_cents: 50000, body: 'z1' });
    const capped = pending()[0];
    expect(capped?.grantable).toBe(false);
    expect((await api(`/api/approvals/${capped?.id}/grant`, { duration_ms: 3_600_000 })).status).toBe(409);
    expect(proxy.app.approvals.queue.store.get(capped?.id as string)?.status).toBe('pending');
    expect((await api(`/api/approvals/${capped?.id}/deny`, {})).status).toBe(200);
    expect((await api(`/api/approvals/${capped?.id}/grant`, { duration_ms: 3_600_000 })).status).toBe(409);
    expect((await api(`/api/approvals/${capped?.id}/grant`, {})).status).toBe(409);
  });

  it('the CLI lists the grant and revokes it; the next call then goes to review', async () => {
    const grantId = await grantFrom({ to: 'cli@example.com', amount_cents: 500, body: 'l1' });
    const listed = await cli('grants', 'list', '--json', '--data-dir', proxy.dataDir);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { id: grantId, agent: 'support-bot', tool: 'echo', state: 'active' },
    ]);
    const text = await cli('grants', 'list', '--data-dir', proxy.dataDir);
    expect(text.stdout).toContain('body: any value');
    const revoked = await cli('grants', 'revoke', grantId, '--data-dir', proxy.dataDir);
    expect(revoked.code).toBe(0);
    expect((await cli('grants', 'revoke', grantId, '--data-dir', proxy.dataDir)).code).toBe(2);
    const args = { to: 'cli@example.com', amount_cents: 500, body: 'l2' };
    expect((await call(support, 'echo', args)).content[0]?.text).toMatch(/waiting for a person/);
  });
});

describe('a grant past its expiry', () => {
  it('covers nothing: the next call of its scope goes to a person again, and the Grants API says expired', async () => {
    // grant_max of 1.5 s makes the only duration on offer 1.5 s, so the grant runs out within the test.
    const shortLived = await startHttpProxy({
      policy: POLICY.replace('rules:\n', 'approval: { grant_max: 1500ms }\nrules:\n'),
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      env: { ...process.env, FIXTURE_LOG: fixtureLog, PORTCULLIS_UI_TOKEN: TOKEN },
      upstreamTransport: inProcessFixtures(),
      ui: 0,
    });
    const client = await httpClient(shortLived.url, { headers: { authorization: 'Bearer support-key' } });
    try {
      const url = (shortLived.app.web as WebServer).url;
      const post = (route: string, body: unknown) =>
        fetch(`${url}${route}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      await call(client, 'echo', { to: 'exp@example.com', amount_cents: 500, body: 'e1' });
      const approval = shortLived.app.approvals.queue.store.list({ status: 'pending' })[0];
      const made = await post(`/api/approvals/${approval?.id}/grant`, {
        duration_ms: 1500,
        args: { body: 'any' },
      });
      expect(made.status).toBe(200);
      const { grant } = (await made.json()) as { grant: { id: string; expires_at: number | string } };
      const expiresAt =
        typeof grant.expires_at === 'number' ? grant.expires_at : Date.parse(grant.expires_at);
      await waitFor(() => Date.now() > expiresAt + 50, 'the grant to run out', 10_000);
      const args = { to: 'exp@example.com', amount_cents: 500, body: 'e2' };
      expect((await call(client, 'echo', args)).content[0]?.text).toMatch(/waiting for a person/);
      expect(ran(args)).toBe(false);
      const listed = (await (
        await fetch(`${url}/api/grants?state=all`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as { id: string; state: string }[];
      expect(listed.find((g) => g.id === grant.id)?.state).toBe('expired');
    } finally {
      await client.close();
      await shortLived.close();
    }
  });
});
