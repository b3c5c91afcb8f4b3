// Streams through the proxy as a direct connection has them: a call's logging on its own stream, resumable streams, DELETE passed on.

import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  CancelledNotificationSchema,
  ListToolsRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureLog } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { messagesOf, openSession, post, postOpen } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

/** What the recording upstream saw: HTTP requests by method, tool calls, cancellations. */
interface Recording {
  requests: { method: string; session: string | null }[];
  sessions: Map<string, Server>;
  cancelled: unknown[];
  /** Resolves the `slow` tool's wait: the test says when it goes on. */
  release: () => void;
  /** Whether `slow` finished (sent its last log line and returned). */
  slowDone: boolean;
}

/**
 * A real SDK server over Streamable HTTP, one Server per session, that records every HTTP request
 * (DELETE included). `chatty` logs twice from the call and answers; `slow` logs, waits for the
 * test's release, logs again and answers.
 */
async function recordingUpstream(): Promise<{ url: string; rec: Recording; close(): Promise<void> }> {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const rec: Recording = {
    requests: [],
    sessions: new Map(),
    cancelled: [],
    release,
    slowDone: false,
  };
  const transports = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const newSession = async (): Promise<WebStandardStreamableHTTPServerTransport> => {
    const server = new Server(
      { name: 'recorder', version: '1' },
      { capabilities: { tools: {}, logging: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: ['chatty', 'slow'].map((name) => ({ name, inputSchema: { type: 'object' as const } })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const log = (data: string) =>
        extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
      if (request.params.name === 'chatty') {
        await log('chatty one');
        await log('chatty two');
        return { content: [{ type: 'text', text: 'chatty done' }] };
      }
      await log('slow before');
      await gate;
      await log('slow after');
      rec.slowDone = true;
      return { content: [{ type: 'text', text: 'slow done' }] };
    });
    server.setNotificationHandler(CancelledNotificationSchema, (n) => {
      rec.cancelled.push(n.params);
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        transports.set(id, transport);
        rec.sessions.set(id, server);
      },
      onsessionclosed: (id) => {
        transports.delete(id);
      },
    });
    await server.connect(transport);
    return transport;
  };
  const app = new Hono();
  app.all('/mcp', async (c) => {
    const session = c.req.header('mcp-session-id') ?? null;
    rec.requests.push({ method: c.req.method, session });
    if (session === null) return (await newSession()).handleRequest(c.req.raw);
    const transport = transports.get(session);
    if (!transport) return new Response('no session', { status: 404 });
    return transport.handleRequest(c.req.raw);
  });
  let listener: ReturnType<typeof serve> | undefined;
  const url = await new Promise<string>((resolve) => {
    listener = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) =>
      resolve(`http://127.0.0.1:${info.port}/mcp`),
    );
  });
  return {
    url,
    rec,
    close: () =>
      new Promise<void>((resolve) => {
        listener?.close(() => resolve());
        if (listener && 'closeAllConnections' in listener) listener.closeAllConnections();
      }),
  };
}

const policy = (url: string, sessions = '') => `version: 2
servers:
  rec: { url: "${url}" }
${sessions}rules:
  - { id: all, match: "*", decision: allow }
`;

const call = (id: number, name: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});

/** The body of an SSE response up to the end of the event that holds `marker` (the stream stays open). */
async function readUntil(response: Response, marker: string): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 5_000;
  while (!(text.includes(marker) && text.endsWith('\n\n'))) {
    if (Date.now() > deadline) throw new Error(`no ${marker} in: ${text}`);
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

/** The SSE events of a body: id, retry and the parsed data of each. */
function eventsOf(text: string): { id?: string; retry?: string; data?: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event: { id?: string; retry?: string; data?: Record<string, unknown> } = {};
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        if (line.startsWith('retry: ')) event.retry = line.slice(7);
        if (line.startsWith('data: {')) event.data = JSON.parse(line.slice(6));
      }
      return event;
    });
}

describe('streams through the proxy', () => {
  let upstream: Awaited<ReturnType<typeof recordingUpstream>>;
  let proxy: TestProxy;

  beforeAll(async () => {
    upstream = await recordingUpstream();
    proxy = await startHttpProxy({ policy: policy(upstream.url) });
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
  });

  it("sends the logging of a running call on that call's own stream, to a client with no GET stream", async () => {
    const session = await openSession(proxy.url);
    const answer = await post(proxy.url, session, call(1, 'chatty'));
    expect(answer.status).toBe(200);
    expect(answer.messages).toEqual([
      expect.objectContaining({
        method: 'notifications/message',
        params: { level: 'info', data: 'chatty one' },
      }),
      expect.objectContaining({
        method: 'notifications/message',
        params: { level: 'info', data: 'chatty two' },
      }),
      expect.objectContaining({ id: 1, result: { content: [{ type: 'text', text: 'chatty done' }] } }),
    ]);
  });

  it('sends logging outside any call on the GET stream, as before', async () => {
    const before = new Set(upstream.rec.sessions.keys());
    const session = await openSession(proxy.url);
    // Each proxy session opens its own upstream session, when it initializes.
    const mine = [...upstream.rec.sessions.entries()].filter(([id]) => !before.has(id));
    expect(mine).toHaveLength(1);
    const get = await fetch(proxy.url, {
      headers: { ...session, accept: 'text/event-stream' },
    });
    expect(get.status).toBe(200);
    await mine[0]?.[1].sendLoggingMessage({ level: 'info', data: 'out of band' });
    expect(await readUntil(get, 'out of band')).toContain('"method":"notifications/message"');
  });

  it('gives events ids and a retry hint, and resumes a dropped stream from Last-Event-ID with what it missed', async () => {
    const session = await openSession(proxy.url);
    upstream.rec.slowDone = false;
    const open = postOpen(proxy.url, session, call(7, 'slow'));
    const response = await open.response;
    let text = '';
    await new Promise<void>((resolve) => {
      response.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('slow before') && text.endsWith('\n\n')) resolve();
      });
    });
    const seen = eventsOf(text);
    // The priming event: an id and the retry hint, no data.
    expect(seen[0]).toMatchObject({ id: expect.any(String), retry: '1000' });
    expect(seen[0]?.data).toBeUndefined();
    const last = seen.at(-1);
    expect(last?.data).toMatchObject({ params: { data: 'slow before' } });
    expect(last?.id).toEqual(expect.any(String));

    // The client's connection drops mid-call; the call goes on and finishes while nobody listens.
    open.req.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    upstream.rec.release();
    await waitFor(() => upstream.rec.slowDone, 'the slow call to finish upstream');
    await new Promise((resolve) => setTimeout(resolve, 100));

    const resumed = await fetch(proxy.url, {
      headers: { ...session, accept: 'text/event-stream', 'last-event-id': last?.id as string },
    });
    expect(resumed.status).toBe(200);
    const rest = eventsOf(await readUntil(resumed, '"id":7'));
    expect(rest.map((e) => e.data)).toEqual([
      expect.objectContaining({
        method: 'notifications/message',
        params: { level: 'info', data: 'slow after' },
      }),
      expect.objectContaining({ id: 7, result: { content: [{ type: 'text', text: 'slow done' }] } }),
    ]);
    for (const event of rest) expect(event.id).toEqual(expect.any(String));
    expect(upstream.rec.cancelled).toEqual([]);
  });

  it('refuses to resume from an event it does not hold, and from another session', async () => {
    const session = await openSession(proxy.url);
    const other = await openSession(proxy.url);
    const answer = await fetch(proxy.url, {
      method: 'POST',
      headers: session,
      body: JSON.stringify(call(3, 'chatty')),
    });
    const ids = eventsOf(await answer.text()).map((e) => e.id as string);
    expect(ids.length).toBeGreaterThan(1);
    const unknown = await fetch(proxy.url, {
      headers: { ...session, accept: 'text/event-stream', 'last-event-id': 'made-up.1' },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('no longer stored');
    // Another session's event id names nothing here: each session has its own store.
    const stolen = await fetch(proxy.url, {
      headers: { ...other, accept: 'text/event-stream', 'last-event-id': ids[0] as string },
    });
    expect(stolen.status).toBe(404);
    await stolen.text();
  });

  it("ends the upstream's HTTP session when the client sends DELETE, and the proxy session with it", async () => {
    const before = upstream.rec.requests.filter((r) => r.method === 'DELETE').length;
    const known = new Set(upstream.rec.sessions.keys());
    const client = await httpClient(proxy.url);
    await client.listTools();
    const opened = [...upstream.rec.sessions.keys()].filter((id) => !known.has(id));
    expect(opened).toHaveLength(1);
    const transport = client.transport as unknown as {
      terminateSession(): Promise<void>;
      sessionId?: string;
    };
    const proxySession = transport.sessionId as string;
    await transport.terminateSession();
    await waitFor(
      () => upstream.rec.requests.filter((r) => r.method === 'DELETE').length > before,
      'the upstream to see a DELETE',
    );
    expect(upstream.rec.requests.filter((r) => r.method === 'DELETE').at(-1)?.session).toBe(opened[0]);
    const gone = await post(
      proxy.url,
      { ...JSON_HEADERS, 'mcp-session-id': proxySession },
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'ping',
      },
    );
    expect(gone.status).toBe(404);
    await client.close();
  });
});

const JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

describe('closing what a session opened', () => {
  it('ends the upstream HTTP sessions of every open session when the proxy closes', async () => {
    const upstream = await recordingUpstream();
    const proxy = await startHttpProxy({ policy: policy(upstream.url) });
    try {
      await openSession(proxy.url);
      await openSession(proxy.url);
      expect(upstream.rec.sessions.size).toBe(2);
      await proxy.close();
      const deleted = upstream.rec.requests.filter((r) => r.method === 'DELETE').map((r) => r.session);
      expect(deleted.sort()).toEqual([...upstream.rec.sessions.keys()].sort());
    } finally {
      await proxy.close().catch(() => {});
      await upstream.close();
    }
  });
});

describe('a dropped stream that is not resumed', () => {
  it('has its call cancelled once sessions.resume_window has passed, not before', async () => {
    const upstream = await recordingUpstream();
    const proxy = await startHttpProxy({
      policy: policy(upstream.url, 'sessions: { resume_window: 600ms }\n'),
    });
    try {
      const session = await openSession(proxy.url);
      const open = postOpen(proxy.url, session, call(4, 'slow'));
      const response = await open.response;
      await new Promise<void>((resolve) => {
        response.on('data', (chunk: Buffer) => {
          if (chunk.toString('utf8').includes('slow before')) resolve();
        });
      });
      open.req.destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(upstream.rec.cancelled).toEqual([]);
      await waitFor(() => upstream.rec.cancelled.length === 1, 'the upstream to see the cancellation');
      expect(upstream.rec.cancelled[0]).toMatchObject({ reason: expect.stringContaining('resume_window') });
    } finally {
      upstream.rec.release();
      await proxy.close();
      await upstream.close();
    }
  });

  it('is cancelled at once with resume_window: 0, and its events carry no ids', async () => {
    const upstream = await recordingUpstream();
    const proxy = await startHttpProxy({ policy: policy(upstream.url, 'sessions: { resume_window: 0 }\n') });
    try {
      const session = await openSession(proxy.url);
      const chatty = await fetch(proxy.url, {
        method: 'POST',
        headers: session,
        body: JSON.stringify(call(2, 'chatty')),
      });
      const text = await chatty.text();
      expect(messagesOf(text)).toHaveLength(3);
      expect(eventsOf(text).every((e) => e.id === undefined && e.retry === undefined)).toBe(true);
      const open = postOpen(proxy.url, session, call(5, 'slow'));
      const response = await open.response;
      await new Promise<void>((resolve) => {
        response.on('data', (chunk: Buffer) => {
          if (chunk.toString('utf8').includes('slow before')) resolve();
        });
      });
      open.req.destroy();
      await waitFor(() => upstream.rec.cancelled.length === 1, 'the upstream to see the cancellation', 2_000);
    } finally {
      upstream.rec.release();
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('a DELETE on a session with stdio upstreams', () => {
  /** The fixture as a `servers:` entry with these sharing settings; its log tells the child's pid. */
  async function fixtureServer(settings: string): Promise<{ proxy: TestProxy; log: string }> {
    const log = path.join(tempDir('portcullis-delete-').dir, 'fixture.jsonl');
    const proxy = await startHttpProxy({
      policy: `version: 2
servers:
  fx: { command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_LOG: ${JSON.stringify(log)} }, ${settings} }
rules:
  - { id: all, match: "*", decision: allow }
`,
    });
    return { proxy, log };
  }

  for (const [what, settings] of [
    ['a child of its own (share: per_session)', 'share: per_session'],
    ['a shared child it was the last to use (idle_stop: 0s)', 'idle_stop: 0s'],
  ] as const) {
    it(`stops ${what}`, async () => {
      const { proxy, log } = await fixtureServer(settings);
      try {
        const session = await openSession(proxy.url);
        const started = await waitFor(
          async () => (await fixtureLog(log)).find((e) => e.event === 'started'),
          'the fixture child to start',
        );
        const pid = started.pid as number;
        expect(alive(pid)).toBe(true);
        const deleted = await fetch(proxy.url, { method: 'DELETE', headers: session });
        expect(deleted.status).toBe(200);
        await waitFor(() => !alive(pid), 'the child to be stopped');
      } finally {
        await proxy.close();
      }
    });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('logging with several calls in flight to one upstream', () => {
  it('goes with the most recent call: a quick call gets its own lines, and the running one the rest', async () => {
    const upstream = await recordingUpstream();
    const proxy = await startHttpProxy({ policy: policy(upstream.url) });
    try {
      const session = await openSession(proxy.url);
      const slow = await fetch(proxy.url, {
        method: 'POST',
        headers: session,
        body: JSON.stringify(call(1, 'slow')),
      });
      const reader = (slow.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let slowText = '';
      const readSlow = async (marker: string): Promise<void> => {
        while (!(slowText.includes(marker) && slowText.endsWith('\n\n'))) {
          const { value, done } = await reader.read();
          if (done) break;
          slowText += decoder.decode(value, { stream: true });
        }
      };
      await readSlow('slow before');
      const chatty = await post(proxy.url, session, call(2, 'chatty'));
      expect(chatty.messages.map((m) => (m.params as { data?: string } | undefined)?.data ?? m.id)).toEqual([
        'chatty one',
        'chatty two',
        2,
      ]);
      upstream.rec.release();
      await readSlow('"id":1');
      const slowMessages = messagesOf(slowText);
      expect(slowMessages.map((m) => (m.params as { data?: string } | undefined)?.data ?? m.id)).toEqual([
        'slow before',
        'slow after',
        1,
      ]);
    } finally {
      upstream.rec.release();
      await proxy.close();
      await upstream.close();
    }
  });
});

describe('the SDK client through the proxy', () => {
  it('resumes a call whose response stream was cut, by itself, and gets the answer and the logging it missed', async () => {
    const upstream = await recordingUpstream();
    const proxy = await startHttpProxy({ policy: policy(upstream.url) });
    let cut = false;
    const resumes: string[] = [];
    // A network that cuts the call's response stream once its first log line has arrived.
    const flakyFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const lastEventId = new Headers(init?.headers).get('last-event-id');
      if (lastEventId !== null) resumes.push(lastEventId);
      const response = await fetch(input, init);
      if (cut || init?.method !== 'POST' || !String(init.body).includes('"slow"') || !response.body) {
        return response;
      }
      const source = response.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await source.read();
          if (done) return controller.close();
          controller.enqueue(value);
          text += decoder.decode(value, { stream: true });
          if (text.includes('slow before') && text.endsWith('\n\n')) {
            cut = true;
            await source.cancel();
            controller.close();
          }
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = new Client({ name: 'resuming', version: '1' }, { capabilities: {} });
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      logs.push(n.params.data);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(proxy.url), { fetch: flakyFetch }));
    try {
      const result = client.callTool({ name: 'slow', arguments: {} });
      await waitFor(() => cut, 'the stream to be cut');
      upstream.rec.release();
      expect(await result).toMatchObject({ content: [{ type: 'text', text: 'slow done' }] });
      expect(resumes).toHaveLength(1);
      expect(logs).toEqual(['slow before', 'slow after']);
      expect(upstream.rec.cancelled).toEqual([]);
    } finally {
      upstream.rec.release();
      await client.close();
      await proxy.close();
      await upstream.close();
    }
  });
});
