// Registry keys over real HTTP: made once and kept as hashes only, rotated without downtime, revoked at once (open sessions too), trust applied to the next call.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN = 'admin-token-for-the-agents-tests-0123456789';

function policy(fixtureLog: string, extra = ''): string {
  return `version: 2
default: deny
servers:
  fixture: { command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_LOG: ${JSON.stringify(fixtureLog)} } }
${extra}rules:
  - { id: trusted-echo, match: echo, trust_at_least: medium, decision: allow }
`;
}

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close().catch(() => {});
});

async function start(extra = ''): Promise<{ proxy: TestProxy; fixtureLog: string }> {
  const fixtureLog = path.join(tempDir('portcullis-fixture-').dir, 'fixture.jsonl');
  const proxy = await startHttpProxy({
    policy: policy(fixtureLog, extra),
    ui: 0,
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
  });
  open.push(proxy);
  return { proxy, fixtureLog };
}

async function client(proxy: TestProxy, key?: string): Promise<Client> {
  const c = await httpClient(proxy.url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  open.push(c);
  return c;
}

function api(proxy: TestProxy, method: string, route: string, body?: unknown): Promise<Response> {
  return fetch(`${proxy.app.web?.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

const keyFrom = (stdout: string) => /\b(pcl_[A-Za-z0-9_-]{43})\b/.exec(stdout)?.[1] as string;

/** Every byte of the data dir's governance database (with its WAL). */
function governanceBytes(dataDir: string): string {
  return readdirSync(dataDir)
    .filter((f) => f.startsWith('governance.db'))
    .map((f) => readFileSync(path.join(dataDir, f)).toString('latin1'))
    .join('');
}

/** Every writer's chain: the CLI beside a running proxy writes its own (audit/writer-N). */
function auditRecords(dataDir: string): Array<Record<string, unknown>> {
  const dir = path.join(dataDir, 'audit');
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => path.basename(f).startsWith('audit-') && f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('registry keys over HTTP', () => {
  it('prints a key once, keeps only its hash, rotates without downtime and refuses a revoked key at once', async () => {
    const { proxy, fixtureLog } = await start();
    // Anonymous works while no agent has a key; registered when first seen, at low trust, which
    // the echo rule does not reach: the tool is hidden from it.
    const anonymous = await client(proxy);
    expect((await anonymous.listTools()).tools.map((t) => t.name)).not.toContain('echo');

    // The CLI, another connection on the same data dir, adds the agent while the proxy runs.
    const added = await cli(
      'agents',
      'add',
      'bot',
      '--trust',
      'medium',
      '--owner',
      'payments',
      '--data-dir',
      proxy.dataDir,
    );
    expect(added.code, added.stderr).toBe(0);
    const first = keyFrom(added.stdout);
    expect(first).toMatch(/^pcl_/);
    expect(added.stdout).toContain('shown only now');
    const bytes = governanceBytes(proxy.dataDir);
    expect(bytes).not.toContain(first);
    expect(bytes).not.toContain(first.slice(4));
    const { createHash } = await import('node:crypto');
    expect(bytes).toContain(createHash('sha256').update(first).digest('hex'));
    // Nor anywhere in the audit log.
    expect(JSON.stringify(auditRecords(proxy.dataDir))).not.toContain(first.slice(4));

    // Now a key is required: the open anonymous session and new keyless clients are refused.
    await expect(anonymous.listTools()).rejects.toThrow(/401|Unauthorized/);
    await expect(httpClient(proxy.url)).rejects.toThrow(/401|Unauthorized/);
    await expect(httpClient(proxy.url, { headers: { authorization: `Bearer ${first}x` } })).rejects.toThrow(
      /401|Unauthorized/,
    );

    const old = await client(proxy, first);
    const echo = { name: 'echo', arguments: { n: 1 } };
    expect((await old.callTool(echo)).isError).not.toBe(true);

    // Rotate through the API: the new key works, the old one still does.
    const rotated = await api(proxy, 'POST', '/api/agents/bot/keys');
    expect(rotated.status).toBe(201);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    const { key: second, agent } = (await rotated.json()) as {
      key: string;
      agent: { keys: { id: string; prefix: string }[] };
    };
    expect(agent.keys).toHaveLength(2);
    const fresh = await client(proxy, second);
    expect((await fresh.callTool(echo)).isError).not.toBe(true);
    expect((await old.callTool(echo)).isError).not.toBe(true);
    expect(await callsOf(fixtureLog, 'echo')).toBe(3);

    // Revoke the old key: its open session stops at the next request, and it cannot open a new one.
    const oldId = agent.keys.find((k) => first.startsWith(k.prefix))?.id as string;
    const revoked = await api(proxy, 'DELETE', `/api/agents/bot/keys/${oldId}`);
    expect(revoked.status).toBe(200);
    await expect(old.callTool(echo)).rejects.toThrow(/401|Unauthorized/);
    await expect(httpClient(proxy.url, { headers: { authorization: `Bearer ${first}` } })).rejects.toThrow(
      /401|Unauthorized/,
    );
    expect((await fresh.callTool(echo)).isError).not.toBe(true);
    expect(await callsOf(fixtureLog, 'echo')).toBe(4);

    // A revoke through the CLI (another process's connection) is refused at once too.
    const show = (await (await api(proxy, 'GET', '/api/agents/bot')).json()) as {
      keys: { id: string; revoked_at: string | null }[];
    };
    const secondId = show.keys.find((k) => k.revoked_at === null)?.id as string;
    const byCli = await cli('agents', 'revoke', 'bot', '--key', secondId, '--data-dir', proxy.dataDir);
    expect(byCli.code, byCli.stderr).toBe(0);
    await expect(fresh.callTool(echo)).rejects.toThrow(/401|Unauthorized/);
    expect(await callsOf(fixtureLog, 'echo')).toBe(4);

    const actions = auditRecords(proxy.dataDir)
      .filter((r) => r.event === 'agent')
      .map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['registered', 'added', 'key_added', 'key_revoked']));
  });

  it('applies a trust change through the API to the next call of an open session, audited with from and to', async () => {
    const { proxy, fixtureLog } = await start();
    const issued = (await (
      await api(proxy, 'POST', '/api/agents', { id: 'helper', trust: 'low' })
    ).json()) as {
      key: string;
    };
    const session = await client(proxy, issued.key);
    const echo = { name: 'echo', arguments: {} };
    const denied = await session.callTool(echo);
    expect(denied.isError).toBe(true);
    expect(resultText(denied)).toMatch(/denied|default/i);
    expect(await callsOf(fixtureLog, 'echo')).toBe(0);

    const raised = await api(proxy, 'PATCH', '/api/agents/helper', { trust: 'high' });
    expect(raised.status).toBe(200);
    expect((await session.callTool(echo)).isError).not.toBe(true);
    expect(await callsOf(fixtureLog, 'echo')).toBe(1);

    await api(proxy, 'PATCH', '/api/agents/helper', { trust: 'low' });
    expect((await session.callTool(echo)).isError).toBe(true);
    expect(await callsOf(fixtureLog, 'echo')).toBe(1);

    // From the CLI (another connection to governance.db): the running proxy reads it on the next call.
    expect((await cli('agents', 'set-trust', 'helper', 'medium', '--data-dir', proxy.dataDir)).code).toBe(0);
    expect((await session.callTool(echo)).isError).not.toBe(true);
    expect(await callsOf(fixtureLog, 'echo')).toBe(2);

    const changes = auditRecords(proxy.dataDir).filter(
      (r) => r.event === 'agent' && r.action === 'trust_changed',
    );
    expect(changes.map((r) => [r.from, r.trust])).toEqual([
      ['low', 'high'],
      ['high', 'low'],
      ['low', 'medium'],
    ]);
    expect(changes[0]?.by).toBe('admin (API token)');
  });

  it('answers bad input with 400, file agents with 409 and unknown ones with 404', async () => {
    const { proxy } = await start('agents:\n  - { id: file-bot, trust: high }\n');
    expect((await api(proxy, 'POST', '/api/agents', { id: 'x', trust: 'root' })).status).toBe(400);
    expect((await api(proxy, 'POST', '/api/agents', { id: 'bad id!' })).status).toBe(400);
    expect((await api(proxy, 'POST', '/api/agents', {})).status).toBe(400);
    const clash = await api(proxy, 'POST', '/api/agents', { id: 'file-bot' });
    expect(clash.status).toBe(409);
    expect(((await clash.json()) as { code: string }).code).toBe('E_AGENT_CLASH');
    const readOnly = await api(proxy, 'PATCH', '/api/agents/file-bot', { trust: 'low' });
    expect(readOnly.status).toBe(409);
    expect((await api(proxy, 'DELETE', '/api/agents/file-bot')).status).toBe(409);
    expect((await api(proxy, 'PATCH', '/api/agents/nobody', { trust: 'low' })).status).toBe(404);
    expect((await api(proxy, 'GET', '/api/agents/nobody')).status).toBe(404);
    expect((await api(proxy, 'POST', '/api/agents', { id: 'ok-bot' })).status).toBe(201);
    expect((await api(proxy, 'PATCH', '/api/agents/ok-bot', { trust: 'godlike' })).status).toBe(400);
    expect((await api(proxy, 'PATCH', '/api/agents/ok-bot', { source: 'file' })).status).toBe(400);
    expect((await api(proxy, 'DELETE', '/api/agents/ok-bot/keys/key_000000000000')).status).toBe(404);
    const list = (await (await api(proxy, 'GET', '/api/agents')).json()) as { id: string; source: string }[];
    expect(list.map((a) => [a.id, a.source])).toEqual(
      expect.arrayContaining([
        ['file-bot', 'file'],
        ['ok-bot', 'registry'],
      ]),
    );
    // Without the admin token: nothing.
    expect((await fetch(`${proxy.app.web?.url}/api/agents`)).status).toBe(401);
  });
});
