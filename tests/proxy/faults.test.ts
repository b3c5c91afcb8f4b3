// Faults: an upstream that crashes and restarts, cancellations reaching the upstream, an audit log that fails.

import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  CancelledNotificationSchema,
  CreateMessageRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
default: deny
servers:
  broken: { command: node, args: [x.js], env: { TOKEN: "\${PORTCULLIS_TEST_UNSET_VARIABLE}" } }
rules:
  - { id: all, match: "*", decision: allow }
`;

let proxy: TestProxy;
let client: Client;
let fixtureLog: string;

async function fixtureEvents(): Promise<Record<string, unknown>[]> {
  if (!existsSync(fixtureLog)) return [];
  const text = await readFile(fixtureLog, 'utf8');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  delete process.env.PORTCULLIS_TEST_UNSET_VARIABLE;
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: fixtureLog, FIXTURE_INHERITED: 'inherited' },
  });
  client = await httpClient(proxy.url);
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

describe('upstream configuration', () => {
  it('refuses to start an upstream whose environment variable is unset, and serves the others', async () => {
    expect(proxy.logs.some((l) => l.includes('PORTCULLIS_TEST_UNSET_VARIABLE is not set'))).toBe(true);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
  });

  it('gives the -- COMMAND upstream the proxy environment', async () => {
    const result = await client.callTool({ name: 'env', arguments: { keys: ['FIXTURE_INHERITED'] } });
    expect(result.content).toEqual([{ type: 'text', text: '{"FIXTURE_INHERITED":"inherited"}' }]);
  });

  it('keeps unknown result fields from the upstream', async () => {
    const result = await client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { x: 1 } } },
      CallToolResultSchema.passthrough(),
    );
    expect(result).toMatchObject({ extraField: 'kept' });
  });
});

describe('cancellation', () => {
  it('passes a client cancellation to the upstream', async () => {
    const controller = new AbortController();
    const call = client.callTool({ name: 'hang', arguments: {} }, CallToolResultSchema, {
      signal: controller.signal,
    });
    await waitFor(
      async () => (await fixtureEvents()).some((e) => e.method === 'tools/call' && e.name === 'hang'),
      'the upstream to receive the call',
    );
    controller.abort('user cancelled');
    await expect(call).rejects.toThrow();
    await waitFor(
      async () => (await fixtureEvents()).some((e) => e.event === 'cancelled'),
      'the upstream to see the cancellation',
    );
  });

  it('cancels the in-flight upstream call of a client that disconnects', async () => {
    const other = await httpClient(proxy.url);
    const before = (await fixtureEvents()).filter((e) => e.event === 'cancelled').length;
    const hanging = other.callTool({ name: 'hang', arguments: {} }).catch(() => 'ended');
    await waitFor(
      async () =>
        (await fixtureEvents()).filter((e) => e.method === 'tools/call' && e.name === 'hang').length >= 2,
      'the second hang call',
    );
    await (other.transport as StreamableHTTPClientTransport).terminateSession();
    await other.close();
    await hanging;
    await waitFor(
      async () => (await fixtureEvents()).filter((e) => e.event === 'cancelled').length > before,
      'the upstream to see the disconnect as a cancellation',
    );
  });
});

describe('a request from the upstream to the client', () => {
  it('relays the client progress back under the upstream token, and the upstream cancellation to the client', async () => {
    const asked = await httpClient(proxy.url, { capabilities: { sampling: {} } });
    const seen: { token?: unknown; requestId?: unknown; cancelled?: boolean } = {};
    let cancelled: () => void = () => {};
    // Watched on the wire: the SDK client itself ignores a cancellation of request id 0, this one's id.
    asked.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
      if (notification.params.requestId === seen.requestId) cancelled();
    });
    asked.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
      seen.token = request.params._meta?.progressToken;
      seen.requestId = extra.requestId;
      const gone = new Promise<void>((resolve) => {
        cancelled = resolve;
      });
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: seen.token as string | number, progress: 1, total: 2 },
      });
      await gone;
      seen.cancelled = true;
      return { role: 'assistant', model: 'm', content: { type: 'text', text: 'too late' } };
    });
    try {
      const result = await asked.callTool({ name: 'ask', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'progress seen, then cancelled' }]);
      expect(seen.token).toBeDefined();
      expect(await fixtureEvents()).toContainEqual(
        expect.objectContaining({ event: 'sampling-progress', progress: 1 }),
      );
      await waitFor(() => seen.cancelled, 'the cancellation to reach the client');
    } finally {
      await asked.close();
    }
  });
});

describe('an upstream that crashes', () => {
  it('fails the call in flight with a clear error, restarts the upstream and tells the client', async () => {
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changes += 1;
    });
    const started = (await fixtureEvents()).filter((e) => e.event === 'started').length;
    const crash = client.callTool({ name: 'crash', arguments: {} });
    await expect(crash).rejects.toMatchObject({
      code: -32000,
      message: expect.stringContaining('disconnected'),
    });
    await waitFor(
      async () => (await fixtureEvents()).filter((e) => e.event === 'started').length > started,
      'the restart',
    );
    await waitFor(() => changes > 0, 'tools/list_changed after the restart');
    const result = await client.callTool({ name: 'echo', arguments: { after: 'restart' } });
    expect(result.content).toEqual([{ type: 'text', text: '{"after":"restart"}' }]);
  });
});

describe('the real HTTP listener', () => {
  it('refuses a request whose Host header names another site', async () => {
    const url = new URL(proxy.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: url.port,
          path: '/mcp',
          method: 'POST',
          headers: { host: `evil.example:${url.port}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
  });
});

describe('an audit log that cannot be written', () => {
  it('denies the call, never forwards it, and forwards again once the log is back', async () => {
    const log = path.join(tempDir().dir, 'fixture.jsonl');
    const failing = await startHttpProxy({
      policy: 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n',
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      env: { ...process.env, FIXTURE_LOG: log },
    });
    const c = await httpClient(failing.url);
    const auditDir = path.join(failing.dataDir, 'audit');
    const forwarded = async () =>
      (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((e) => e.method === 'tools/call').length;
    try {
      // Tests run as root, so permissions would not stop the write: take the directory away instead.
      await rename(auditDir, `${auditDir}.moved`);
      await writeFile(auditDir, 'not a directory');
      const result = await c.callTool({ name: 'echo', arguments: { should: 'not run' } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('audit log cannot be written');
      expect(failing.app.audit.status().ok).toBe(false);
      expect(await forwarded()).toBe(0);
      expect(failing.logs.join('\n')).toMatch(/audit/i);

      await rm(auditDir);
      await rename(`${auditDir}.moved`, auditDir);
      await waitFor(async () => {
        const again = await c.callTool({ name: 'echo', arguments: { now: 'runs' } });
        return again.isError !== true;
      }, 'the audit log to accept writes again');
      expect(await forwarded()).toBe(1);
    } finally {
      await c.close();
      await failing.close();
    }
  });
});
