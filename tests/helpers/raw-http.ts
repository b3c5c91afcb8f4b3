// A raw Streamable HTTP MCP client (fetch and node:http), for tests that need what the SDK client hides: reused ids, dropped sockets.

import {
  type ClientRequest,
  createServer,
  type IncomingMessage,
  type RequestListener,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

export const JSON_AND_SSE = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** The JSON-RPC messages of a response body, whether it came as JSON or as SSE events. */
export function messagesOf(text: string): Record<string, unknown>[] {
  if (text.trim().startsWith('{') || text.trim().startsWith('[')) {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [parsed];
  }
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)));
}

/** Initializes a session; returns the headers every later request of that session carries. */
export async function openSession(
  url: string,
  headers: Record<string, string> = {},
): Promise<Record<string, string>> {
  const init = await fetch(url, {
    method: 'POST',
    headers: { ...JSON_AND_SSE, ...headers },
    body: JSON.stringify(INIT),
  });
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${await init.text()}`);
  const id = init.headers.get('mcp-session-id');
  await init.text();
  if (!id) throw new Error('no session id');
  const session = { ...JSON_AND_SSE, ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
  const initialized = await fetch(url, {
    method: 'POST',
    headers: session,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  return session;
}

/** One POST answered in full. */
export async function post(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ status: number; messages: Record<string, unknown>[] }> {
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, messages: text === '' ? [] : messagesOf(text) };
}

/**
 * A POST over a socket the test can cut (`destroy()`: a TCP close, no `notifications/cancelled`),
 * as a client process that crashes or loses its network does.
 */
export function postOpen(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const target = new URL(url);
  let req: ClientRequest | undefined;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
      resolve,
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
  response.catch(() => {});
  return { req: req as ClientRequest, response };
}

/** Serves a request listener (an endpoint's) on 127.0.0.1 at a free port. */
export async function serveOnLoopback(
  listener: RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A request over node:http, answered as a web Response whose body streams: unlike fetch it may
 * send any Host header (a DNS-rebinding page's, another address's).
 */
export function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<Response> {
  const target = new URL(url);
  return new Promise<Response>((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: init.method ?? 'GET',
        headers: init.headers,
      },
      (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        const empty = res.statusCode === 204 || res.statusCode === 304;
        const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(body, { status: res.statusCode ?? 0, headers }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
