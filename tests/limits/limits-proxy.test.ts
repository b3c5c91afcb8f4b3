// Rate limits, concurrency limits and spend budgets end to end: real SDK clients over HTTP through the
// real proxy to a recording fixture upstream, with the app's clock moved by the test.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../src/app.js';
import { queryAudit } from '../../src/audit/index.js';
import { testClock } from '../helpers/clock.js';
import { fixtureLog } from '../helpers/fixture-log.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const POLICY = `version: 2
agents:
  - { id: support-bot, key_sha256: "${sha('support-key')}", trust: medium }
  - { id: billing-bot, key_sha256: "${sha('billing-key')}", trust: medium }
limits:
  - { id: echo-rate, agent: "*", tool: echo, rate: 3/minute }
  - { id: two-holds, agent: "*", tool: hold, concurrent: 2 }
  - { id: ask-rate, agent: "*", tool: ask, rate: 1/hour, over: review }
budgets:
  - { id: refunds-per-day, agent: support-bot, tool: refund, arg: amount_cents, max: 2000, window: 24h, unit: cents, over: deny }
  - { id: payouts, agent: support-bot, tool: payout, arg: "items[*].amount", max: 100, window: 1h, unit: EUR }
rules:
  - { id: no-huge-refunds, match: refund, args: { amount_cents: { gt: 100000 } }, decision: deny, reason: "never this much" }
  - { id: held-hold, match: hold, args: { key: { eq: needs-a-person } }, decision: review }
  - { id: small-refunds, match: refund, args: { amount_cents: { lte: 500 } }, decision: allow }
  - { id: large-refunds, match: refund, decision: review, reason: "a person approves large refunds" }
  - { id: everything-else, match: "*", decision: allow }
`;

type Text = { content: { type: string; text: string }[]; isError?: boolean; _meta?: Record<string, unknown> };

interface Running {
  app: App;
  support: Client;
  billing: Client;
  close(): Promise<void>;
}

const open: Running[] = [];
afterEach(async () => {
  for (const r of open.splice(0).reverse()) await r.close();
});

/** The proxy on `dataDir` (a restart passes the same one), with the fixture recording into `log`. */
async function start(dir: string, now: () => number): Promise<Running> {
  const policyFile = path.join(dir, 'policy.yml');
  await writeFile(policyFile, POLICY);
  const app = await startApp({
    policyFile,
    http: { host: '127.0.0.1', port: 0 },
    ui: 'off',
    dataDir: path.join(dir, 'data'),
    agent: 'anonymous',
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: {
      ...process.env,
      FIXTURE_LOG: path.join(dir, 'fixture.jsonl'),
      FIXTURE_EXTRA_TOOLS: 'refund,payout',
    },
    upstreamTransport: inProcessFixtures(),
    now,
    log: () => {},
  });
  const support = await httpClient(app.url as string, { headers: { authorization: 'Bearer support-key' } });
  const billing = await httpClient(app.url as string, { headers: { authorization: 'Bearer billing-key' } });
  const running: Running = {
    app,
    support,
    billing,
    async close() {
      open.splice(open.indexOf(running), 1);
      await support.close();
      await billing.close();
      await app.close();
    },
  };
  open.push(running);
  return running;
}

const call = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as Text;
const text = (r: Text) => r.content[0]?.text ?? '';
const ran = async (dir: string, name: string) =>
  (await fixtureLog(path.join(dir, 'fixture.jsonl'))).filter(
    (e) => e.method === 'tools/call' && e.name === name,
  );

describe('a rate limit', () => {
  it('trips at exactly the documented count, says when to retry, and resets one window after the first call', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const clock = testClock();
    const { support, billing } = await start(dir, clock.now);
    for (let n = 1; n <= 3; n++) expect((await call(support, 'echo', { n })).isError).toBeUndefined();
    clock.advance(20_000);
    const over = await call(support, 'echo', { n: 4 });
    expect(over.isError).toBe(true);
    expect(text(over)).toBe(
      'Denied by Portcullis: rate limit echo-rate: 3 calls per minute for agent support-bot; retry in 40 s',
    );
    // Per agent: another agent has its own count.
    expect((await call(billing, 'echo', { n: 1 })).isError).toBeUndefined();
    // A refused call costs nothing: one ms before the window ends it is still refused, then all three expire.
    clock.advance(39_999);
    expect(text(await call(support, 'echo', { n: 5 }))).toContain('retry in 1 s');
    clock.advance(1);
    for (let n = 6; n <= 8; n++) expect((await call(support, 'echo', { n })).isError).toBeUndefined();
    expect((await call(support, 'echo', { n: 9 })).isError).toBe(true);
    const forwarded = (await ran(dir, 'echo')).map((e) => (e.args as { n: number }).n);
    expect(forwarded).toEqual([1, 2, 3, 1, 6, 7, 8]);
  });

  it('records the numbers it used and the breach in the decision record', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const clock = testClock();
    const { app, support } = await start(dir, clock.now);
    for (let n = 1; n <= 4; n++) await call(support, 'echo', { n });
    await expect
      .poll(async () => (await queryAudit(app.audit.root, { event: 'decision' })).records.length)
      .toBe(4);
    const records = (await queryAudit(app.audit.root, { event: 'decision' })).records.reverse();
    expect(records.map((r) => r.decision)).toEqual(['allow', 'allow', 'allow', 'deny']);
    expect(records[2]?.limits).toEqual([{ id: 'echo-rate', kind: 'rate', used: 2, max: 3, window_s: 60 }]);
    expect(records[3]?.limits).toEqual([{ id: 'echo-rate', kind: 'rate', used: 3, max: 3, window_s: 60 }]);
    expect(records[3]?.rule).toBe('everything-else');
  });

  it('over: review sends the call to a person instead, and the approved call runs', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const clock = testClock();
    const { app, support } = await start(dir, clock.now);
    expect((await call(support, 'ask', { q: 1 })).isError).toBeFalsy();
    const held = await call(support, 'ask', { q: 2 });
    expect(text(held)).toMatch(/^Approval ap_[0-9a-f]{16} is waiting for a person/);
    const [pending] = app.approvals.queue.list({ status: 'pending' });
    expect(pending?.reason).toContain('rate limit ask-rate: 1 calls per hour for agent support-bot');
    app.approvals.queue.decide(pending?.id as string, { decision: 'approve', by: 'alice' });
    expect((await call(support, 'ask', { q: 2 })).isError).toBeFalsy();
    expect((await ran(dir, 'ask')).length).toBe(2);
  });
});

describe('a concurrency limit', () => {
  it('denies the third of three held calls, and frees a slot when one ends', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const { support, billing } = await start(dir, testClock().now);
    const a = call(support, 'hold', { key: 'a' });
    const b = call(support, 'hold', { key: 'b' });
    await expect.poll(async () => (await ran(dir, 'hold')).length).toBe(2);
    const third = await call(support, 'hold', { key: 'c' });
    expect(third.isError).toBe(true);
    expect(text(third)).toBe(
      'Denied by Portcullis: concurrency limit two-holds: agent support-bot already has 2 of 2 calls in flight; retry when one ends',
    );
    // Another agent's slots are its own.
    const other = call(billing, 'hold', { key: 'x' });
    await expect.poll(async () => (await ran(dir, 'hold')).length).toBe(3);
    await call(support, 'release', { key: 'a' });
    expect(text(await a)).toBe('released');
    const d = call(support, 'hold', { key: 'd' });
    await expect.poll(async () => (await ran(dir, 'hold')).length).toBe(4);
    // Each agent has its own fixture upstream (share: per_agent), so each releases its own.
    for (const key of ['b', 'd']) await call(support, 'release', { key });
    await call(billing, 'release', { key: 'x' });
    expect(text(await b)).toBe('released');
    expect(text(await d)).toBe('released');
    expect(text(await other)).toBe('released');
    expect((await ran(dir, 'hold')).map((e) => (e.args as { key: string }).key)).toEqual([
      'a',
      'b',
      'x',
      'd',
    ]);
  });
});

describe('an approved call released over a limit', () => {
  it('is refused at release (recorded as refused), not run, and the approval says why', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const { app, support } = await start(dir, testClock().now);
    const key = 'needs-a-person';
    expect(text(await call(support, 'hold', { key }))).toMatch(/^Approval ap_/);
    const id = app.approvals.queue.list({ status: 'pending' })[0]?.id as string;
    app.approvals.queue.decide(id, { decision: 'approve', by: 'alice' });
    // While it waited it held no slot; now both are taken.
    const a = call(support, 'hold', { key: 'a' });
    const b = call(support, 'hold', { key: 'b' });
    await expect.poll(async () => (await ran(dir, 'hold')).length).toBe(2);
    const refused = await call(support, 'hold', { key });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toBe(
      'Denied by Portcullis: concurrency limit two-holds: agent support-bot already has 2 of 2 calls in flight; retry when one ends',
    );
    const correlation = (refused._meta?.['portcullis/decision'] as { correlation_id?: string } | undefined)
      ?.correlation_id;
    await expect
      .poll(async () => (await queryAudit(app.audit.root, { correlation_id: correlation })).records.length)
      .toBe(2);
    const records = (await queryAudit(app.audit.root, { correlation_id: correlation })).records;
    expect(records.map((r) => [r.event, r.status ?? r.decision])).toEqual([
      ['approval', 'refused'],
      ['decision', 'review'],
    ]);
    for (const k of ['a', 'b']) await call(support, 'release', { key: k });
    await Promise.all([a, b]);
    expect((await ran(dir, 'hold')).map((e) => (e.args as { key: string }).key)).toEqual(['a', 'b']);
  });
});

describe('a spend budget', () => {
  it('sums allowed and approved calls, refuses the one that would overspend, and survives a restart', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const clock = testClock();
    let proxy = await start(dir, clock.now);
    const usage = () =>
      limitsOf(proxy)
        .usage()
        .map((u) => [u.agent, u.used]);
    expect((await call(proxy.support, 'refund', { amount_cents: 400 })).isError).toBeUndefined();
    expect(usage()).toEqual([['support-bot', 400]]);

    // A reviewed call books nothing while it waits; approved, it books when it runs.
    const held = await call(proxy.support, 'refund', { amount_cents: 900 });
    expect(text(held)).toMatch(/^Approval ap_/);
    expect(usage()).toEqual([['support-bot', 400]]);
    const queue = proxy.app.approvals.queue;
    queue.decide(queue.list({ status: 'pending' })[0]?.id as string, { decision: 'approve', by: 'alice' });
    expect((await call(proxy.support, 'refund', { amount_cents: 900 })).isError).toBeUndefined();
    expect(usage()).toEqual([['support-bot', 1300]]);

    // A call the policy denies books nothing.
    const huge = await call(proxy.support, 'refund', { amount_cents: 100001 });
    expect(text(huge)).toBe('Denied by Portcullis, rule "no-huge-refunds": never this much');
    expect(usage()).toEqual([['support-bot', 1300]]);

    // A call whose approval is denied books nothing.
    await call(proxy.support, 'refund', { amount_cents: 600 });
    queue.decide(queue.list({ status: 'pending' })[0]?.id as string, { decision: 'deny', by: 'alice' });
    expect((await call(proxy.support, 'refund', { amount_cents: 600 })).isError).toBe(true);
    expect(usage()).toEqual([['support-bot', 1300]]);

    // Restarted on the same data dir, the ledger still holds 1300 of 2000.
    await proxy.close();
    clock.advance(3_600_000);
    proxy = await start(dir, clock.now);
    expect(usage()).toEqual([['support-bot', 1300]]);
    const over = await call(proxy.support, 'refund', { amount_cents: 701 });
    expect(over.isError).toBe(true);
    expect(text(over)).toBe(
      "Denied by Portcullis: budget refunds-per-day: agent support-bot has used 1300 cents of 2000 cents in the last 24h; this call's 701 cents would make 2001 cents (amounts stop counting 24h after their call ran)",
    );
    // Exactly to the limit is within it.
    expect((await call(proxy.support, 'refund', { amount_cents: 500 })).isError).toBeUndefined();
    expect((await call(proxy.support, 'refund', { amount_cents: 200 })).isError).toBeUndefined();
    expect(usage()).toEqual([['support-bot', 2000]]);
    expect((await call(proxy.support, 'refund', { amount_cents: 1 })).isError).toBe(true);
    // 24h after the first hour's calls ran they no longer count; one ms before, they still do.
    clock.advance(23 * 3_600_000 - 1);
    expect(usage()).toEqual([['support-bot', 2000]]);
    clock.advance(1);
    expect(usage()).toEqual([['support-bot', 700]]);
    expect((await call(proxy.support, 'refund', { amount_cents: 400 })).isError).toBeUndefined();
    const amounts = (await ran(dir, 'refund')).map((e) => (e.args as { amount_cents: number }).amount_cents);
    expect(amounts).toEqual([400, 900, 500, 200, 400]);
  });

  it('denies a budgeted call whose amount cannot be read, naming the argument, and books nothing', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const proxy = await start(dir, testClock().now);
    for (const [args, problem] of [
      [{}, 'items[*].amount is missing'],
      [{ items: [] }, 'items[*].amount names no values'],
      [
        { items: [{ amount: 5 }, { amount: '100' }] },
        'items[*].amount element 1 is a string, not a JSON number',
      ],
      [{ items: [{ amount: -5 }] }, 'items[*].amount element 0 is negative'],
      [{ items: [{ amount: 1 }, {}] }, 'items[*].amount is missing'],
      [{ items: { amount: 5 } }, 'items[*].amount is missing'],
    ] as const) {
      const r = await call(proxy.support, 'payout', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(text(r)).toBe(
        `Denied by Portcullis: budget payouts: the amount cannot be read (${problem}), so the call is denied`,
      );
    }
    // Fractions are amounts where the unit is not cents; [*] sums them.
    expect(
      (await call(proxy.support, 'payout', { items: [{ amount: 0.5 }, { amount: 2.25 }] })).isError,
    ).toBeUndefined();
    expect(limitsOf(proxy).usage()).toEqual([
      { budget: 'payouts', agent: 'support-bot', tool: 'payout', used: 2.75, max: 100, window_ms: 3_600_000 },
    ]);
    // Over it (the default over: review): held for a person, not run.
    const held = await call(proxy.support, 'payout', { items: [{ amount: 98 }] });
    expect(text(held)).toMatch(/^Approval ap_/);
    expect(proxy.app.approvals.queue.list({ status: 'pending' })[0]?.reason).toContain(
      "budget payouts: agent support-bot has used 2.75 EUR of 100 EUR in the last 1h; this call's 98 EUR would make 100.75 EUR",
    );
    // Not budgeted for another agent: its calls are the rules' alone.
    expect((await call(proxy.billing, 'payout', { items: 'anything' })).isError).toBeUndefined();
    expect((await ran(dir, 'payout')).length).toBe(2);
  });
});

describe('a ledger that cannot be read', () => {
  it('denies budgeted calls (closed) and lets the others run', async () => {
    const dir = tempDir('portcullis-limits-').dir;
    const proxy = await start(dir, testClock().now);
    limitsOf(proxy).ledger.close();
    const r = await call(proxy.support, 'refund', { amount_cents: 100 });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('the limits check failed');
    expect((await call(proxy.support, 'echo', { n: 1 })).isError).toBeUndefined();
    expect(await ran(dir, 'refund')).toEqual([]);
  });
});

function limitsOf(r: Running) {
  return r.app.limits;
}
