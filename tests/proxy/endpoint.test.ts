// The HTTP endpoint's guards (Host, Origin, bearer keys, body size, sessions), driven over a real loopback socket.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import {
  DownstreamSession,
  Gate,
  HttpEndpoint,
  loadTestedPolicy,
  PROXY_INFO,
  resolveUpstreams,
} from '../../src/proxy/index.js';
import { testClock } from '../helpers/clock.js';
import { callsOf } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { send, serveOnLoopback } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const policy = loadTestedPolicy(
  `version: 2
default: deny
servers:
  fixture: { command: node, args: [${JSON.stringify(FIXTURE)}] }
agents:
  - { id: support-bot, key_sha256: "${sha('bot-key')}", trust: medium }
  - { id: other-bot, key_sha256: "${sha('other-key')}", trust: low }
rules:
  - { id: bot-echo, match: echo, agent: support-bot, decision: allow }
`,
  '/virtual/policy.yml',
  () => {},
);

let endpoint: HttpEndpoint;
let served: Awaited<ReturnType<typeof serveOnLoopback>>;
const agents: string[] = [];

beforeAll(async () => {
  const dir = tempDir().dir;
  const specs = resolveUpstreams(policy.servers, dir, undefined, process.env).specs;
  const gate = new Gate({
    policy: () => policy,
    audit: await AuditLog.open({ dataDir: dir }),
    review: { review: async () => ({ kind: 'deny', cause: 'denied', reason: 'no' }) },
    log: () => {},
  });
  endpoint = new HttpEndpoint({
    host: '127.0.0.1',
    policy: () => policy,
    anonymousAgent: 'anonymous',
    maxBodyBytes: 64 * 1024,
    log: () => {},
    newSession: (agent) => {
      agents.push(agent);
      return new DownstreamSession({
        agent,
        policy: () => policy,
        upstreams: () => specs,
        gate,
        info: PROXY_INFO,
        log: () => {},
      });
    },
  });
  served = await serveOnLoopback(endpoint.listener);
});

afterAll(async () => {
  await endpoint?.close();
  await served?.close();
});

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return send(served.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Reads the JSON-RPC message of a response, whether it came as JSON or as one SSE event. */
async function message(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  const data = text.startsWith('{')
    ? text
    : (text.split('\n').find((l) => l.startsWith('data: {')) ?? '').slice(6);
  return JSON.parse(data);
}

describe('HTTP endpoint guards', () => {
  it('refuses a foreign Host (DNS rebinding) and a foreign or null Origin with 403', async () => {
    expect((await post(INIT, { authorization: 'Bearer bot-key', host: 'evil.example:9' })).status).toBe(403);
    expect(
      (await post(INIT, { authorization: 'Bearer bot-key', origin: 'https://evil.example' })).status,
    ).toBe(403);
    expect((await post(INIT, { authorization: 'Bearer bot-key', origin: 'null' })).status).toBe(403);
  });

  it('requires a known bearer key when the policy declares keyed agents (401)', async () => {
    const missing = await post(INIT);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toContain('Bearer');
    expect((await post(INIT, { authorization: 'Bearer wrong-key' })).status).toBe(401);
    expect((await post(INIT, { authorization: 'Basic Ym90LWtleQ==' })).status).toBe(401);
  });

  it('answers malformed JSON with 400 -32700 and an oversized body with 413', async () => {
    const bad = await post('{"jsonrpc": "2.0", "id": 1, "method": ', { authorization: 'Bearer bot-key' });
    expect(bad.status).toBe(400);
    expect(await message(bad)).toMatchObject({ error: { code: -32700 } });
    const big = await post(
      { ...INIT, params: { ...INIT.params, padding: 'x'.repeat(70 * 1024) } },
      { authorization: 'Bearer bot-key' },
    );
    expect(big.status).toBe(413);
  });

  it('needs a session id after initialize, and answers an unknown one with 404', async () => {
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    expect((await post(list, { authorization: 'Bearer bot-key' })).status).toBe(400);
    expect((await post(list, { authorization: 'Bearer bot-key', 'mcp-session-id': 'nope' })).status).toBe(
      404,
    );
  });

  it('opens a session as the agent whose key was presented, and keeps it to that key', async () => {
    const init = await post(INIT, { authorization: 'Bearer bot-key', origin: 'http://localhost:6274' });
    expect(init.status).toBe(200);
    const session = init.headers.get('mcp-session-id') as string;
    expect(session).toBeTruthy();
    expect(agents.at(-1)).toBe('support-bot');
    await message(init);
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    await post(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { authorization: 'Bearer bot-key', ...headers },
    );

    const call = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'echo', arguments: { a: 1 } },
    };
    const allowed = await message(await post(call, { authorization: 'Bearer bot-key', ...headers }));
    expect(allowed).toMatchObject({
      result: { content: [{ type: 'text', text: '{"a":1}' }], extraField: 'kept' },
    });

    expect((await post(call, { authorization: 'Bearer other-key', ...headers })).status).toBe(403);
    expect((await post(call, headers)).status).toBe(401);
    const big = { ...call, params: { name: 'echo', arguments: { pad: 'x'.repeat(70 * 1024) } } };
    expect((await post(big, { authorization: 'Bearer bot-key', ...headers })).status).toBe(413);

    const closed = await send(served.url, {
      method: 'DELETE',
      headers: { authorization: 'Bearer bot-key', ...headers },
    });
    expect(closed.status).toBe(200);
    expect((await post(call, { authorization: 'Bearer bot-key', ...headers })).status).toBe(404);
  });
});

describe('idle HTTP sessions', () => {
  it('closes a session after it goes quiet, but not while it is in use', async () => {
    const dir = tempDir().dir;
    const fixtureLog = path.join(dir, 'fixture.jsonl');
    const idlePolicy = loadTestedPolicy(
      `version: 2\nsessions: { idle_timeout: 40ms }\nservers:\n  fixture: { command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_LOG: ${JSON.stringify(fixtureLog)} } }\nagents:\n  - { id: support-bot, key_sha256: "${sha('bot-key')}", trust: medium }\nrules:\n  - { id: hang, match: hang, decision: allow }\n`,
      '/virtual/idle.yml',
      () => {},
    );
    const specs = resolveUpstreams(idlePolicy.servers, dir, undefined, process.env).specs;
    const audit = await AuditLog.open({ dataDir: dir });
    const closed: string[] = [];
    const logs: string[] = [];
    // The reaper still runs on a real timer (every 10 ms here); idleness is measured on this clock.
    const clock = testClock();
    /** Moves the clock on, then lets one reaper pass look at it (no request is in flight meanwhile). */
    const reapAfter = async (ms: number) => {
      clock.advance(ms);
      await clock.nextRead();
    };
    const idle = new HttpEndpoint({
      host: '127.0.0.1',
      now: clock.now,
      policy: () => idlePolicy,
      anonymousAgent: 'anonymous',
      log: (line) => logs.push(line),
      newSession: (agent) => {
        const session = new DownstreamSession({
          agent,
          policy: () => idlePolicy,
          upstreams: () => specs,
          gate: new Gate({
            policy: () => idlePolicy,
            audit,
            review: { review: async () => ({ kind: 'deny', cause: 'denied', reason: 'no' }) },
            log: () => {},
          }),
          info: PROXY_INFO,
          log: () => {},
        });
        session.onClosed(() => closed.push(agent));
        return session;
      },
    });
    const idleServed = await serveOnLoopback(idle.listener);
    const request = (body: unknown, headers: Record<string, string>) =>
      send(idleServed.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify(body),
      });
    try {
      const opened = await request(INIT, { authorization: 'Bearer bot-key' });
      const sessionId = opened.headers.get('mcp-session-id') as string;
      await opened.text();
      expect(idle.sessionCount).toBe(1);
      const headers = {
        authorization: 'Bearer bot-key',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      };
      // In use: a ping every half idle period, for twice the idle time, keeps it open.
      for (let id = 10; id < 14; id++) {
        await reapAfter(20);
        const pong = await request({ jsonrpc: '2.0', id, method: 'ping' }, headers);
        expect(pong.status).toBe(200);
        await pong.text();
      }
      await reapAfter(20);
      expect(idle.sessionCount).toBe(1);
      // A call still running is not idleness: three idle periods pass while `hang` waits upstream.
      const hanging = await request(
        { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'hang', arguments: {} } },
        headers,
      );
      expect(hanging.status).toBe(200);
      await waitFor(async () => (await callsOf(fixtureLog, 'hang')) === 1, 'the upstream to run hang');
      for (let period = 0; period < 3; period++) await reapAfter(50);
      expect(idle.sessionCount).toBe(1);
      expect(closed).toEqual([]);
      const cancel = await request(
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'test' } },
        headers,
      );
      expect(cancel.status).toBe(202);
      // Quiet: it is closed, and a late request gets 404 (the client must initialize again).
      await waitFor(
        async () => {
          await reapAfter(50);
          return closed.includes('support-bot');
        },
        'the idle session to be closed',
        5_000,
      );
      expect(idle.sessionCount).toBe(0);
      expect(logs.join('\n')).toMatch(/idle for \d+ s/);
      expect((await request({ jsonrpc: '2.0', id: 99, method: 'ping' }, headers)).status).toBe(404);
    } finally {
      await idle.close();
      await idleServed.close();
      await audit.close();
    }
  });
});
