// The pending cap from outside: real SDK clients over HTTP through the real proxy to a recording upstream.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const POLICY = `version: 2
agents:
  - { id: support-bot, key_sha256: "${sha('support-key')}", trust: medium }
  - { id: billing-bot, key_sha256: "${sha('billing-key')}", trust: medium }
approval:
  max_pending_per_agent: 2
rules:
  - id: echo-needs-a-person
    match: echo
    decision: review
    reason: "Echo goes to a person in this test"
`;

let proxy: TestProxy;
let support: Client;
let billing: Client;
let fixtureLog: string;

type Text = { content: { type: string; text: string }[]; isError?: boolean; _meta?: Record<string, unknown> };
const echo = async (client: Client, args: Record<string, unknown>) =>
  (await client.callTool({ name: 'echo', arguments: args })) as Text;
const upstreamCalls = () =>
  existsSync(fixtureLog)
    ? readFileSync(fixtureLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { method?: string; args?: unknown })
        .filter((e) => e.method === 'tools/call')
    : [];

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: fixtureLog },
    upstreamTransport: inProcessFixtures(),
  });
  support = await httpClient(proxy.url, { headers: { authorization: 'Bearer support-key' } });
  billing = await httpClient(proxy.url, { headers: { authorization: 'Bearer billing-key' } });
});

afterAll(async () => {
  await support?.close();
  await billing?.close();
  await proxy?.close();
});

describe('max_pending_per_agent through the proxy', () => {
  it('denies the agent’s call over the cap as a tool error, records why, queues and forwards nothing', async () => {
    const first = await echo(support, { n: 1 });
    expect(first.isError).toBe(true);
    expect(first.content[0]?.text).toMatch(/^Approval ap_[0-9a-f]{16} is waiting for a person/);
    await echo(support, { n: 2 });

    const over = await echo(support, { n: 3, secret_note: 'must not run' });
    expect(over.isError).toBe(true);
    const text = over.content[0]?.text ?? '';
    expect(text).toContain('Denied by Portcullis, rule "echo-needs-a-person"');
    expect(text).toContain('agent support-bot already has 2 approvals pending');
    expect(text).toContain('approval.max_pending_per_agent allows (2)');
    expect(over._meta?.['portcullis/decision']).toMatchObject({
      decision: 'deny',
      rule: 'echo-needs-a-person',
    });
    const queue = proxy.app.approvals.queue;
    expect(queue.store.countPending()).toBe(2);

    // The audit log on disk: the policy's review decision, then the refusal with its reason, one correlation id.
    const correlation = (over._meta?.['portcullis/decision'] as { correlation_id?: string } | undefined)
      ?.correlation_id;
    expect(correlation).toBeDefined();
    await expect
      .poll(
        async () => (await queryAudit(proxy.app.audit.root, { correlation_id: correlation })).records.length,
      )
      .toBe(2);
    const records = (await queryAudit(proxy.app.audit.root, { correlation_id: correlation })).records;
    expect(records.map((r) => [r.event, r.decision, r.status])).toEqual([
      ['approval', 'deny', 'refused'],
      ['decision', 'review', undefined],
    ]);
    expect(records[0]).toMatchObject({
      agent: 'support-bot',
      tool: 'echo',
      pending: 2,
      max_pending_per_agent: 2,
    });
    expect(records[0]?.reason).toContain('agent support-bot already has 2 approvals pending');

    // Another agent is not held back.
    expect((await echo(billing, { invoice: 7 })).content[0]?.text).toMatch(/^Approval ap_/);
    expect(upstreamCalls()).toEqual([]);
  });

  it('still joins a pending retry and runs an approved retry while the agent is at its cap', async () => {
    const queue = proxy.app.approvals.queue;
    const pending = queue.list({ status: 'pending' }).filter((a) => a.agent === 'support-bot');
    expect(pending).toHaveLength(2);
    const firstId = pending.find((a) => a.argsCanonical === '{"n":1}')?.id as string;
    const joined = await echo(support, { n: 1 });
    expect(joined.content[0]?.text).toContain(`Approval ${firstId} is waiting`);

    queue.decide(firstId, { decision: 'approve', by: 'alice' });
    await echo(support, { n: 4 }); // back at the cap: {n: 2} and {n: 4}
    expect((await echo(support, { n: 5 })).content[0]?.text).toContain('already has 2 approvals pending');
    const ran = await echo(support, { n: 1 });
    expect(ran.isError).toBeUndefined();
    expect(ran.content[0]?.text).toBe('{"n":1}');
    expect(upstreamCalls().map((c) => c.args)).toEqual([{ n: 1 }]);
  });
});
