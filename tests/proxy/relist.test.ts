// No spurious "not listed": fresh sessions, calls after a miss, a rename or a restart find the tool; unknown names cannot make the proxy re-list at will.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING, FIXTURE } from '../helpers/peers.js';
import { startEverythingHttp } from '../helpers/ports.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MISS_INTERVAL_MS = 200;
const POLICY = `version: 2
default: deny
# 20 sessions of one (anonymous) agent at once: above the default cap of 16.
sessions: { max_per_agent: 32 }
rules:
  - { id: all, match: "*", decision: allow }
`;

let proxy: TestProxy;
/** A second proxy in front of one server-everything over HTTP: fresh sessions cost no child process each. */
let remoteProxy: TestProxy;
let remote: Awaited<ReturnType<typeof startEverythingHttp>>;
let fixtureLog: string;
const clients: Client[] = [];

type Entry = { pid: number; method?: string; event?: string; name?: string; args?: Record<string, unknown> };

async function entries(): Promise<Entry[]> {
  if (!existsSync(fixtureLog)) return [];
  return (await readFile(fixtureLog, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Entry);
}

async function remoteClient(): Promise<Client> {
  const client = await httpClient(remoteProxy.url);
  clients.push(client);
  return client;
}

async function connect(): Promise<Client> {
  const client = await httpClient(proxy.url);
  clients.push(client);
  return client;
}

/** The pid of the fixture child serving this client's session (each HTTP session has its own). */
async function childOf(client: Client): Promise<number> {
  const marker = Math.random().toString(36).slice(2);
  const result = (await client.callTool({ name: 'echo', arguments: { marker } })) as CallToolResult;
  expect(result.isError).toBeFalsy();
  const entry = (await entries()).find((e) => e.method === 'tools/call' && e.args?.marker === marker);
  if (!entry) throw new Error('the echo call is not in the fixture log');
  return entry.pid;
}

const text = (result: unknown): string => JSON.stringify((result as CallToolResult).content);

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    // Each session its own child (share: per_session): a rename in one test must not reach the next.
    policy: POLICY.replace(
      'rules:',
      `servers:\n  fixture:\n    command: node\n    args: [${JSON.stringify(FIXTURE)}]\n    env: { FIXTURE_LOG: ${JSON.stringify(fixtureLog)} }\n    share: per_session\nrules:`,
    ),
    // Misses wait for the next spaced listing; the default second would make this file slow.
    routing: { missIntervalMs: MISS_INTERVAL_MS },
  });
  remote = await startEverythingHttp(EVERYTHING);
  remoteProxy = await startHttpProxy({
    policy: `${POLICY.replace('rules:', `servers:\n  remote: { url: "${remote.url}" }\nrules:`)}`,
  });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await proxy?.close();
  await remoteProxy?.close();
  await remote?.stop();
});

describe('calls that must find their tool', () => {
  it('runs every parallel call of 20 fresh sessions that never listed tools', async () => {
    const fresh = await Promise.all(Array.from({ length: 20 }, () => remoteClient()));
    const calls = fresh.flatMap((client, i) =>
      [0, 1, 2].map((j) => client.callTool({ name: 'echo', arguments: { message: `s${i}c${j}` } })),
    );
    const results = (await Promise.all(calls)) as CallToolResult[];
    expect(results.map((r) => text(r))).toEqual(
      fresh.flatMap((_, i) =>
        [0, 1, 2].map((j) => text({ content: [{ type: 'text', text: `Echo: s${i}c${j}` }] })),
      ),
    );
  });

  it('runs 20 parallel calls of one fresh session, each exactly once', async () => {
    const client = await connect();
    const results = (await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'echo', arguments: { parallel: i } })),
    )) as CallToolResult[];
    for (const [i, result] of results.entries()) {
      expect(result.content, text(result)).toEqual([{ type: 'text', text: JSON.stringify({ parallel: i }) }]);
    }
    const ran = (await entries()).filter((e) => e.method === 'tools/call' && e.args?.parallel !== undefined);
    expect(ran.map((e) => e.args?.parallel).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('runs a call made right after a call to an unknown name', async () => {
    const client = await connect();
    const unknown = await client.callTool({ name: 'no_such_tool', arguments: {} });
    expect(text(unknown)).toContain('not listed');
    const known = await client.callTool({ name: 'echo', arguments: { after: 'miss' } });
    expect(known.isError, text(known)).toBeFalsy();
  });

  it('runs a call to a renamed tool made as soon as tools/list_changed arrives, even right after a miss', async () => {
    const client = await connect();
    await client.listTools();
    // A miss just before: the old one-second limiter then denied the renamed tool as "not listed".
    expect(text(await client.callTool({ name: 'not_yet_there', arguments: {} }))).toContain('not listed');
    let renamedCall: Promise<unknown> | undefined;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      renamedCall ??= client.callTool({ name: 'echo_renamed', arguments: { renamed: true } });
    });
    await client.callTool({ name: 'rename', arguments: { from: 'echo', to: 'echo_renamed' } });
    const result = (await waitFor(() => renamedCall, 'tools/list_changed')) as CallToolResult;
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: '{"renamed":true}' }]);
    // The old name is gone with the rename and is not forwarded.
    expect(text(await client.callTool({ name: 'echo', arguments: {} }))).toContain('not listed');
  });

  it('runs a call made while a killed upstream restarts, once it is back', async () => {
    const client = await connect();
    const pid = await childOf(client);
    const drops = proxy.logs.filter((l) => l.includes('disconnected; restarting')).length;
    process.kill(pid, 'SIGKILL');
    await waitFor(
      () => proxy.logs.filter((l) => l.includes('disconnected; restarting')).length > drops,
      'the proxy to see the drop',
    );
    // The proxy is restarting the upstream right now: the call waits for it instead of failing.
    const result = (await client.callTool({
      name: 'echo',
      arguments: { during: 'restart' },
    })) as CallToolResult;
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: '{"during":"restart"}' }]);
    expect(await childOf(client)).not.toBe(pid);
  });
});

describe('unknown names', () => {
  it('cannot make the proxy re-list the upstream at will: concurrent and repeated misses share bounded listings', async () => {
    const client = await connect();
    const pid = await childOf(client);
    const lists = async () =>
      (await entries()).filter((e) => e.pid === pid && e.method === 'tools/list').length;
    const before = await lists();
    const floodStart = performance.now();
    const flood = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.callTool({ name: `flood_${i}`, arguments: {} })),
    );
    const floodTime = performance.now() - floodStart;
    for (const result of flood) expect(text(result)).toContain('not listed');
    const afterFlood = await lists();
    // Misses share listings, which start at most once per interval: the bound does not grow with the calls.
    expect(afterFlood - before).toBeLessThanOrEqual(1 + Math.ceil(floodTime / MISS_INTERVAL_MS));
    const sequential: unknown[] = [];
    const started = performance.now();
    for (let i = 0; i < 3; i++) sequential.push(await client.callTool({ name: `again_${i}`, arguments: {} }));
    for (const result of sequential) expect(text(result)).toContain('not listed');
    // Each miss waits for the next listing (one each), and listings start at least the interval apart.
    const listed = (await lists()) - afterFlood;
    expect(listed).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual((listed - 1) * MISS_INTERVAL_MS);
    const unknownCalls = (await entries()).filter(
      (e) => e.method === 'tools/call' && /^(flood|again)_/.test(e.name ?? ''),
    );
    expect(unknownCalls).toEqual([]);
  });
});
