// A client that goes away is gone: its held approvals are withdrawn, its upstream calls cancelled, its session freed.

import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../src/approvals/index.js';
import type { WebServer } from '../../src/web/index.js';
import { callsOf, fixtureLog } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { openSession, postOpen } from '../helpers/raw-http.js';
import { spawnStdioProxy } from '../helpers/stdio-proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'client-gone-admin-token-0123456789abcdef';
const POLICY = `version: 2
default: deny
sessions: { idle_timeout: 300ms, resume_window: 300ms }
approval: { timeout: 2m }
rules:
  - { id: echo-waits, match: echo, decision: review, reason: "a person decides echo" }
  - { id: hang-runs, match: hang, decision: allow }
`;

const events = fixtureLog;
const calls = callsOf;

describe('an HTTP client that drops its connection', () => {
  let proxy: FixtureProxy;
  let log: string;
  let web: WebServer;

  beforeAll(async () => {
    proxy = await startFixtureProxy({ policy: POLICY, ui: 0, env: { PORTCULLIS_UI_TOKEN: TOKEN } });
    log = proxy.fixtureLog;
    web = proxy.app.web as WebServer;
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const pending = () => proxy.app.approvals.queue.store.list({ status: 'pending' });
  const decide = (id: string) =>
    fetch(`${web.url}/api/approvals/${id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });

  it('withdraws a held approval when the socket closes (no cancellation sent); approving it later runs nothing', async () => {
    const session = await openSession(proxy.url);
    const held = postOpen(proxy.url, session, {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { note: 'raw drop' }, _meta: { progressToken: 'p1' } },
    });
    const [approval] = await waitFor(() => (pending().length === 1 ? pending() : null), 'the held approval');
    held.req.destroy();
    await waitFor(
      () => proxy.app.approvals.queue.store.get(approval?.id as string)?.status === 'withdrawn',
      'the approval to be withdrawn',
    );
    const late = await decide(approval?.id as string);
    expect(late.status).toBe(409);
    // The reviewer sees it as withdrawn, in the API as on the Decided page.
    const listed = await fetch(`${web.url}/api/approvals?status=withdrawn`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await listed.json()) as { id: string }[]).map((a) => a.id)).toContain(approval?.id);
    expect(await calls(log, 'echo')).toBe(0);
  });

  it('withdraws it when an SDK client holding the call closes without DELETE', async () => {
    const client = await httpClient(proxy.url);
    const call = client
      .callTool({ name: 'echo', arguments: { note: 'sdk close' } }, CallToolResultSchema, {
        onprogress: () => {},
      })
      .catch(() => 'closed');
    const [approval] = await waitFor(() => (pending().length === 1 ? pending() : null), 'the held approval');
    await client.close();
    expect(await call).toBe('closed');
    await waitFor(
      () => proxy.app.approvals.queue.store.get(approval?.id as string)?.status === 'withdrawn',
      'the approval to be withdrawn',
    );
    expect((await decide(approval?.id as string)).status).toBe(409);
    expect(await calls(log, 'echo')).toBe(0);
  });

  it('cancels an allowed call upstream when the socket closes, and the idle session is then freed with its upstream', async () => {
    const session = await openSession(proxy.url);
    const running = postOpen(proxy.url, session, {
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'hang', arguments: {} },
    });
    const cancelledBefore = (await events(log)).filter((e) => e.event === 'cancelled').length;
    await waitFor(async () => (await calls(log, 'hang')) >= 1, 'the upstream to receive the call');
    running.req.destroy();
    await waitFor(
      async () => (await events(log)).filter((e) => e.event === 'cancelled').length > cancelledBefore,
      'the upstream to see a cancellation',
    );
    // Nothing is running any more, so the session is idle: the reaper closes it (its shared upstream
    // child stays for the agent's other sessions until idle_stop).
    const id = String(session['mcp-session-id']).slice(0, 8);
    await waitFor(
      () => proxy.logs.some((line) => line.includes(`closing session ${id}`)),
      'the idle session to be closed',
      5_000,
    );
    const gone = await fetch(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }),
    });
    expect(gone.status).toBe(404);
  });
});

describe('a stdio client whose stdin closes', () => {
  let dir: string;
  let log: string;
  let child: ChildProcessWithoutNullStreams;
  const stdout: string[] = [];

  beforeAll(async () => {
    dir = tempDir().dir;
    log = path.join(dir, 'fixture.jsonl');
    const policy = path.join(dir, 'policy.yml');
    await writeFile(policy, POLICY);
  });

  function start(): void {
    stdout.length = 0;
    child = spawnStdioProxy({ dir, fixtureLog: log, ui: '0', env: { PORTCULLIS_UI_TOKEN: TOKEN } });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
    child.stderr.resume();
  }
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  const initialize = async () => {
    send({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'stdio', version: '1' },
      },
    });
    await waitFor(() => stdout.join('').includes('"id":0'), 'the initialize answer', 20_000);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };
  const exited = () => new Promise<void>((resolve) => child.once('exit', () => resolve()));

  it('cancels the running upstream call', async () => {
    start();
    await initialize();
    send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hang', arguments: {} } });
    await waitFor(async () => (await calls(log, 'hang')) === 1, 'the upstream to receive the call');
    const done = exited();
    child.stdin.end();
    await waitFor(
      async () => (await events(log)).some((e) => e.event === 'cancelled'),
      'the upstream to see the cancellation',
    );
    await done;
  });

  it('withdraws a held approval', async () => {
    start();
    await initialize();
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { via: 'stdio' }, _meta: { progressToken: 1 } },
    });
    const store = new ApprovalStore(path.join(dir, 'data', 'approvals.db'));
    try {
      const [approval] = await waitFor(
        () => (store.list({ status: 'pending' }).length === 1 ? store.list({ status: 'pending' }) : null),
        'the held approval',
      );
      const done = exited();
      child.stdin.end();
      await done;
      expect(store.get(approval?.id as string)?.status).toBe('withdrawn');
      expect(await calls(log, 'echo')).toBe(0);
    } finally {
      store.close();
    }
  });
});
