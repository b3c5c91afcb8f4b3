// The /mcp endpoint's own Streamable HTTP transport, over real sockets: what the SDK's transport refuses and answers, stream by stream.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeHttpTransport } from '../../src/proxy/http-transport.js';
import { type FixtureProxy, startFixtureProxy } from '../helpers/proxy.js';
import { INIT, JSON_AND_SSE, openSession, post, send } from '../helpers/raw-http.js';

const POLICY = `version: 2
default: deny
rules:
  - { id: all, match: "*", decision: allow }
`;

let proxy: FixtureProxy;
beforeAll(async () => {
  proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process' });
});
afterAll(async () => {
  await proxy?.close();
});

const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

/** The events of an SSE body: their id, retry and data lines, in order. */
function eventsOf(text: string): { id?: string; retry?: string; data?: string; event?: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
      }
      return fields;
    });
}

async function errorOf(response: Response): Promise<{ code: number; message: string }> {
  return ((await response.json()) as { error: { code: number; message: string } }).error;
}

describe('the /mcp transport', () => {
  it('refuses what the SDK transport refuses, with the same statuses and codes', async () => {
    const session = await openSession(proxy.url);
    const body = JSON.stringify(ping(1));
    const notAcceptable = await send(proxy.url, {
      method: 'POST',
      headers: { ...session, accept: 'application/json' },
      body,
    });
    expect(notAcceptable.status).toBe(406);
    expect((await errorOf(notAcceptable)).message).toMatch(/must accept both/);
    const wrongType = await send(proxy.url, {
      method: 'POST',
      headers: { ...session, 'content-type': 'text/plain' },
      body,
    });
    expect(wrongType.status).toBe(415);
    const version = await send(proxy.url, {
      method: 'POST',
      headers: { ...session, 'mcp-protocol-version': '1999-01-01' },
      body,
    });
    expect(version.status).toBe(400);
    expect((await errorOf(version)).message).toMatch(/Unsupported protocol version: 1999-01-01.*2025-11-25/);
    const put = await send(proxy.url, { method: 'PUT', headers: session, body });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    await put.text();
    const tooMany = Array.from({ length: 101 }, (_, i) => ping(100 + i));
    const batch = await post(proxy.url, session, tooMany);
    expect(batch).toMatchObject({ status: 400, messages: [{ error: { code: -32600 } }] });
    const notRpc = await post(proxy.url, session, { hello: 'world' });
    expect(notRpc).toMatchObject({ status: 400, messages: [{ error: { code: -32700 } }] });
    const again = await post(proxy.url, session, INIT);
    expect(again).toMatchObject({ status: 400, messages: [{ error: { message: /already initialized/ } }] });
    const noSession = await send(proxy.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(noSession.status).toBe(400);
    await noSession.text();
    // None of them ended the session.
    expect(await post(proxy.url, session, ping(2))).toMatchObject({ status: 200, messages: [{ id: 2 }] });
  });

  it('answers notifications alone with 202 and no body', async () => {
    const session = await openSession(proxy.url);
    const response = await send(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }),
    });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
  });

  it('answers a lone request answered at once with one JSON body', async () => {
    const session = await openSession(proxy.url);
    const response = await send(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify(ping(3)),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('mcp-session-id')).toBe(session['mcp-session-id']);
    const text = await response.text();
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
  });

  it('opens a stream with a priming event when the answer takes longer, then the answer, then ends it', async () => {
    const session = await openSession(proxy.url);
    const tool = (id: number, name: string, key: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name, arguments: { key } },
    });
    const started = Date.now();
    const held = await send(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify(tool(4, 'hold', 'a')),
    });
    // The headers come when the JSON window has passed, not when the call ends.
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(held.headers.get('content-type')).toBe('text/event-stream');
    expect(held.headers.get('mcp-session-id')).toBe(session['mcp-session-id']);
    expect(await post(proxy.url, session, tool(5, 'release', 'a'))).toMatchObject({
      status: 200,
      messages: [{ id: 5, result: { content: [{ text: 'released' }] } }],
    });
    const [priming, answer, ...rest] = eventsOf(await held.text());
    expect(priming).toEqual({ id: expect.stringMatching(/\.\d+$/), retry: '1000', data: '' });
    expect(answer?.event).toBe('message');
    expect(JSON.parse(answer?.data ?? '')).toMatchObject({
      id: 4,
      result: { content: [{ text: 'released' }] },
    });
    // Both events belong to one stream: the id is `<stream>.<sequence>`.
    expect(answer?.id?.split('.')[0]).toBe(priming?.id?.split('.')[0]);
    expect(rest).toEqual([]);

    // A client of an older protocol cannot take an empty event: no priming for it.
    const old = await send(proxy.url, {
      method: 'POST',
      headers: { ...session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify(tool(6, 'hold', 'b')),
    });
    expect(old.headers.get('content-type')).toBe('text/event-stream');
    await post(proxy.url, session, tool(7, 'release', 'b'));
    const events = eventsOf(await old.text());
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]?.data ?? '')).toMatchObject({ id: 6 });
  });

  it('answers every request of a batch on one stream, and ends it after the last', async () => {
    const session = await openSession(proxy.url);
    const streamed = await send(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify([ping(8), ping(9)]),
    });
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    const [primed, ...answers] = eventsOf(await streamed.text());
    expect(primed?.data).toBe('');
    expect(answers.map((e) => JSON.parse(e.data ?? '').id).sort()).toEqual([8, 9]);
    const batch = await post(proxy.url, session, [
      ping(5),
      { jsonrpc: '2.0', id: 6, method: 'tools/list' },
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
    ]);
    expect(batch.status).toBe(200);
    expect(batch.messages.map((m) => m.id).sort()).toEqual([5, 6]);
    expect(batch.messages.find((m) => m.id === 6)).toMatchObject({ result: { tools: expect.any(Array) } });
  });

  it('keeps one standalone GET stream per session, and replays a finished stream from its priming id', async () => {
    const session = await openSession(proxy.url);
    const controller = new AbortController();
    const standalone = await fetch(proxy.url, {
      headers: { ...session, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(standalone.status).toBe(200);
    expect(standalone.headers.get('content-type')).toBe('text/event-stream');
    const second = await send(proxy.url, {
      method: 'GET',
      headers: { ...session, accept: 'text/event-stream' },
    });
    expect(second.status).toBe(409);
    await second.text();
    controller.abort();

    // A batch always streams: its priming event hands out the id to resume from.
    const response = await send(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify([ping(7)]),
    });
    const [priming] = eventsOf(await response.text());
    const resumed = await send(proxy.url, {
      method: 'GET',
      headers: { ...session, accept: 'text/event-stream', 'last-event-id': priming?.id as string },
    });
    expect(resumed.status).toBe(200);
    // The answer again, no priming event, and the stream ends: nothing of it is left to wait for.
    const replayed = eventsOf(await resumed.text());
    expect(replayed.map((e) => JSON.parse(e.data ?? ''))).toEqual([{ jsonrpc: '2.0', id: 7, result: {} }]);
    // Once the first standalone stream is gone, another may open.
    const third = await send(proxy.url, {
      method: 'GET',
      headers: { ...session, accept: 'text/event-stream' },
    });
    expect(third.status).toBe(200);
    await third.body?.cancel();
  });

  it('ends a session on DELETE, after which it is not found', async () => {
    const session = await openSession(proxy.url);
    const deleted = await send(proxy.url, { method: 'DELETE', headers: session });
    expect(deleted.status).toBe(200);
    await deleted.text();
    const after = await post(proxy.url, session, ping(8));
    expect(after).toMatchObject({ status: 404, messages: [{ error: { code: -32001 } }] });
  });

  it('serves /mcp with a query string; other paths are 404, behind the same Host guard', async () => {
    const init = await post(`${proxy.url}?client=test`, JSON_AND_SSE, INIT);
    expect(init.status).toBe(200);
    expect(init.messages[0]).toMatchObject({ result: { protocolVersion: '2025-11-25' } });
    const base = proxy.url.replace(/\/mcp$/, '');
    const other = await send(`${base}/mcp/`, {
      method: 'POST',
      headers: JSON_AND_SSE,
      body: JSON.stringify(INIT),
    });
    expect(other.status).toBe(404);
    expect((await errorOf(other)).message).toMatch(/the MCP endpoint is \/mcp/);
    const rebound = await send(`${base}/anything`, { method: 'GET', headers: { host: 'evil.example' } });
    expect(rebound.status).toBe(403);
    await rebound.text();
    const reboundMcp = await send(proxy.url, {
      method: 'POST',
      headers: { ...JSON_AND_SSE, host: 'evil.example' },
      body: JSON.stringify(INIT),
    });
    expect(reboundMcp.status).toBe(403);
    expect((await errorOf(reboundMcp)).message).toMatch(/Host header not allowed/);
  });
});

/** A transport served alone on loopback (no session, no gate): the test plays the Server. */
async function lone(options: ConstructorParameters<typeof NodeHttpTransport>[0]) {
  const transport = new NodeHttpTransport(options);
  await transport.start();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') {
      transport.handleGet(req, res);
      return;
    }
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => transport.handlePost(req, res, JSON.parse(text)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    transport,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    async close() {
      await transport.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the transport on its own', () => {
  it('writes a keep-alive comment on every open stream while nothing else is sent', async () => {
    const { transport, url, close } = await lone({
      sessionId: () => 'session-1',
      keepAliveMs: 30,
      jsonWindowMs: 5,
    });
    const received: unknown[] = [];
    transport.onmessage = (message) => received.push(message);
    try {
      // Nobody answers the initialize request here: its stream stays open, as a held call's does.
      const init = await send(url, { method: 'POST', headers: JSON_AND_SSE, body: JSON.stringify(INIT) });
      expect(init.headers.get('mcp-session-id')).toBe('session-1');
      expect(init.headers.get('content-type')).toBe('text/event-stream');
      const standalone = await send(url, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'mcp-session-id': 'session-1' },
      });
      const firstChunk = async (response: Response) => {
        const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
        const { value } = await reader.read();
        await reader.cancel();
        return Buffer.from(value ?? new Uint8Array()).toString();
      };
      expect(await firstChunk(init)).toContain(': keepalive\n\n');
      expect(await firstChunk(standalone)).toContain(': keepalive\n\n');
      expect(received).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('opens the stream at once when a notification of the request comes before its answer', async () => {
    const { transport, url, close } = await lone({ sessionId: () => 'session-2', jsonWindowMs: 60_000 });
    transport.onmessage = (message) => {
      const id = (message as { id: number }).id;
      void (async () => {
        const progress = {
          jsonrpc: '2.0' as const,
          method: 'notifications/progress',
          params: { progressToken: 1, progress: 1 },
        };
        await transport.send(progress, { relatedRequestId: id });
        await transport.send({ jsonrpc: '2.0', id, result: { done: true } });
      })();
    };
    try {
      const started = Date.now();
      const init = await send(url, { method: 'POST', headers: JSON_AND_SSE, body: JSON.stringify(INIT) });
      // Not held for the minute-long window: the notification opened the stream.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(init.headers.get('content-type')).toBe('text/event-stream');
      const events = eventsOf(await init.text());
      expect(events.map((e) => JSON.parse(e.data ?? ''))).toEqual([
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
        { jsonrpc: '2.0', id: 0, result: { done: true } },
      ]);
    } finally {
      await close();
    }
  });
});
