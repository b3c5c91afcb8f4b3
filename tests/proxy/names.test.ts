// What reaches the upstream: only names it listed (exact case), arguments exactly as judged, hidden tools stay hidden.

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
default: deny
rules:
  - { id: no-env, match: env, decision: deny, reason: "environment is private" }
  - { id: small-echo, match: echo, args: { a: { lte: 10 } }, decision: allow }
  - { id: crash, match: crash, decision: allow }
`;

let proxy: TestProxy;
let client: Client;
let fixtureLog: string;
let listChanges = 0;

async function upstreamCalls(): Promise<{ name: string; args: unknown }[]> {
  if (!existsSync(fixtureLog)) return [];
  return (await readFile(fixtureLog, 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((e) => e.method === 'tools/call');
}

/** Sends one tools/call with a body written by hand (duplicate keys), on the client's own session. */
async function rawCall(id: string, body: string): Promise<Record<string, unknown>> {
  const transport = client.transport as StreamableHTTPClientTransport;
  const response = await fetch(proxy.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': transport.sessionId as string,
      'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25',
    },
    body: `{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":${body}}`,
  });
  const text = await response.text();
  const line = text.startsWith('{') ? text : (text.split('\n').find((l) => l.startsWith('data: {')) ?? '');
  return JSON.parse(line.replace(/^data: /, ''));
}

const MISS_INTERVAL_MS = 200;

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: fixtureLog },
    // Misses re-list at most this often: shorter than the default 1 s, so misses do not wait seconds.
    routing: { missIntervalMs: MISS_INTERVAL_MS },
  });
  client = await httpClient(proxy.url);
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    listChanges += 1;
  });
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

describe('tool names', () => {
  it('denies a case variant of a listed name and never forwards it, though the policy matches it', async () => {
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    for (const name of ['Echo', 'ECHO', 'echO']) {
      const result = await client.callTool({ name, arguments: { a: 1 } });
      expect(result.isError, name).toBe(true);
      expect(JSON.stringify(result.content), name).toContain('not listed');
    }
    expect(await upstreamCalls()).toEqual([]);
    const listed = await client.callTool({ name: 'echo', arguments: { a: 1 } });
    expect(listed.content).toEqual([{ type: 'text', text: '{"a":1}' }]);
    expect((await upstreamCalls()).map((c) => c.name)).toEqual(['echo']);
  });
});

describe('unknown names', () => {
  it('cannot make the proxy re-list the upstream once per call', async () => {
    const lists = async () =>
      (await readFile(fixtureLog, 'utf8')).split('\n').filter((line) => line.includes('"tools/list"')).length;
    const before = await lists();
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.callTool({ name: `no_such_tool_${i}`, arguments: {} })),
    );
    const elapsed = performance.now() - started;
    expect(results.every((r) => r.isError === true)).toBe(true);
    // Misses share one re-listing at a time, at most one per interval, however many unknown names arrive.
    expect((await lists()) - before).toBeLessThanOrEqual(1 + Math.floor(elapsed / MISS_INTERVAL_MS));
  });
});

describe('duplicate argument keys', () => {
  it('judges the value that was parsed (last key wins) and forwards exactly that value', async () => {
    const before = (await upstreamCalls()).length;
    const denied = await rawCall('dup-deny', '{"name":"echo","arguments":{"a":1,"a":1000}}');
    expect(denied).toMatchObject({ result: { isError: true } });
    expect(await upstreamCalls()).toHaveLength(before);

    const allowed = await rawCall('dup-allow', '{"name":"echo","arguments":{"a":1000,"a":2}}');
    expect(allowed).toMatchObject({ result: { content: [{ type: 'text', text: '{"a":2}' }] } });
    const calls = await upstreamCalls();
    expect(calls).toHaveLength(before + 1);
    expect(calls.at(-1)).toEqual({
      pid: expect.any(Number),
      method: 'tools/call',
      name: 'echo',
      args: { a: 2 },
    });
  });
});

describe('hidden tools', () => {
  const names = async () => (await client.listTools()).tools.map((t) => t.name);

  it('stay hidden after a policy reload', async () => {
    expect(await names()).not.toContain('env');
    const changes = listChanges;
    const sha = proxy.app.policy.current.sha256;
    await writeFile(proxy.policyFile, `${POLICY}  - { id: hang, match: hang, decision: allow }\n`);
    await waitFor(() => proxy.app.policy.current.sha256 !== sha, 'the reload');
    await waitFor(() => listChanges > changes, 'tools/list_changed after the reload');
    const after = await names();
    expect(after).toContain('hang');
    expect(after).not.toContain('env');
  });

  it('stay hidden after the upstream restarts', async () => {
    const changes = listChanges;
    await expect(client.callTool({ name: 'crash', arguments: {} })).rejects.toMatchObject({ code: -32000 });
    await waitFor(() => listChanges > changes, 'tools/list_changed after the restart');
    const after = await waitFor(async () => {
      const listed = await names().catch((): string[] => []);
      return listed.includes('echo') ? listed : undefined;
    }, 'the restarted upstream to list its tools');
    expect(after).not.toContain('env');
    const denied = await client.callTool({ name: 'env', arguments: { keys: ['PATH'] } });
    expect(denied.isError).toBe(true);
    expect(JSON.stringify(denied.content)).toContain('environment is private');
  });
});
