// The UI served over real HTTP on a loopback port: binding, port sharing between processes, live events.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { serveWeb, WebAuth, WebPortInUseError, type WebServer } from '../../src/web/index.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let auth: WebAuth;
const servers: WebServer[] = [];

beforeEach(() => {
  tmp = tempDir('portcullis-server-');
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  queue = new ApprovalQueue({ store, pollIntervalMs: 50 });
  auth = new WebAuth({ token: 'server-test-token-0123456789abcdef', db: store.db });
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  queue.close();
  store.close();
  tmp.cleanup();
});

async function signedInCookie(server: WebServer): Promise<string> {
  const code = new URL(server.loginUrl()).searchParams.get('code') ?? '';
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    body: new URLSearchParams({ code }).toString(),
  });
  expect(res.status).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

describe('serveWeb', () => {
  it('binds 127.0.0.1 on a free port and accepts its own Host names only', async () => {
    const server = await serveWeb({ queue, auth, port: 0 });
    servers.push(server);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    expect((await fetch(`http://localhost:${server.port}/health/live`)).status).toBe(200);
    expect(server.loginUrl()).toMatch(new RegExp(`^${server.url}/login\\?code=[A-Za-z0-9_-]+$`));
  });

  it('reports the port as taken so a second proxy process leaves the UI to the first', async () => {
    const first = await serveWeb({ queue, auth, port: 0 });
    servers.push(first);
    const error = await serveWeb({ queue, auth, port: first.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebPortInUseError);
    expect((error as WebPortInUseError).code).toBe('E_UI_PORT_IN_USE');
    // A login URL minted by the process that did not bind works on the one that did (shared database).
    const otherStore = new ApprovalStore(store.file);
    const otherProcessAuth = new WebAuth({ token: 'server-test-token-0123456789abcdef', db: otherStore.db });
    const code = new URL(otherProcessAuth.loginUrl(first.url)).searchParams.get('code') ?? '';
    const res = await fetch(`${first.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ code }).toString(),
    });
    expect(res.status).toBe(303);
    otherStore.close();
  });

  it('streams a change event when an approval is created, including by another process', async () => {
    const server = await serveWeb({ queue, auth, port: 0 });
    servers.push(server);
    const cookie = await signedInCookie(server);
    const controller = new AbortController();
    const res = await fetch(`${server.url}/events`, { headers: { cookie }, signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value);
      }
    };
    await readUntil('event: ready');
    // Another proxy process (its own connection and queue) parks a call; our poller notices.
    const otherStore = new ApprovalStore(store.file);
    const otherQueue = new ApprovalQueue({ store: otherStore });
    await otherQueue.review({
      tool: 'users.delete',
      args: { id: 1 },
      rule: null,
      reason: 'default',
      canWait: false,
    });
    await readUntil('data: external');
    controller.abort();
    otherQueue.close();
    otherStore.close();
  });
});
