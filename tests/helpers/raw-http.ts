// A raw Streamable HTTP MCP client (fetch and node:http), for tests that need what the SDK client hides: reused ids, dropped sockets.

import { type ClientRequest, type IncomingMessage, request } from 'node:http';

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
