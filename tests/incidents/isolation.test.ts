// A suspension holds one agent only and every way it reaches upstreams: keyed agents over HTTP, resources too; page forms need the session's CSRF token.
import { createHash } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src/web/index.js';
import { loginLinkFrom } from '../helpers/browser.js';
import { fixtureLog, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const TOKEN = 'isolation-test-token-0123456789abcdef';
const POLICY = `version: 2
agents:
  - { id: bot-a, key_sha256: "${sha('key-a')}", trust: low }
  - { id: bot-b, key_sha256: "${sha('key-b')}", trust: low }
suspend: { after: 2, severity: high, within: 10m }
rules:
  - { id: no-crash, match: crash, decision: deny, severity: high }
  - { match: "*", decision: allow }
`;

let proxy: FixtureProxy | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await proxy?.close();
});

async function clientFor(p: FixtureProxy, key: string): Promise<Client> {
  const c = await httpClient(p.url, { headers: { authorization: `Bearer ${key}` } });
  clients.push(c);
  return c;
}

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;

describe('a suspension', () => {
  it("holds only the agent that earned it, its resource reads included; the other agent's calls run", async () => {
    proxy = await startFixtureProxy({
      policy: POLICY,
      upstream: 'in-process',
      ui: 0,
      env: { PORTCULLIS_UI_TOKEN: TOKEN, FIXTURE_RESOURCES: 'file:///srv/readme' },
    });
    const a = await clientFor(proxy, 'key-a');
    const b = await clientFor(proxy, 'key-b');
    // bot-b's denials do not add to bot-a's count.
    await call(b, 'crash');
    await call(a, 'crash');
    expect(resultText(await call(a, 'echo', { message: 'a runs' }))).toContain('a runs');
    await call(a, 'crash');
    expect(resultText(await call(a, 'echo'))).toContain('agent suspended');
    await expect(a.readResource({ uri: 'file:///srv/readme' })).rejects.toThrow(/agent suspended/);
    expect((await a.listTools()).tools).toEqual([]);
    expect(resultText(await call(b, 'echo', { message: 'b runs' }))).toContain('b runs');
    expect((await b.listTools()).tools.length).toBeGreaterThan(0);
    const received = (await fixtureLog(proxy.fixtureLog)).filter((e) => e.method === 'resources/read');
    expect(received).toEqual([]);
  });

  it('page forms need a session and its CSRF token, the API the admin token', async () => {
    proxy = await startFixtureProxy({
      policy: POLICY,
      upstream: 'in-process',
      ui: 0,
      env: { PORTCULLIS_UI_TOKEN: TOKEN },
    });
    const web = proxy.app.web as WebServer;
    await fetch(`${web.url}/api/agents/bot-a/suspend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    const form = (cookie: string, body: string) =>
      fetch(`${web.url}/incidents/agents/bot-a/reinstate`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url, cookie },
        body,
      });
    // Not signed in: sent to sign in, nothing changes.
    expect([302, 303, 401]).toContain((await form('', '')).status);
    // Signed in, but without the session's CSRF token (a cross-site form): refused.
    const login = new URL(loginLinkFrom(proxy.logs));
    const signedIn = await fetch(`${web.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url },
      body: new URLSearchParams({ code: login.searchParams.get('code') ?? '', reviewer: 'eve' }).toString(),
    });
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    expect(cookie).toMatch(/=/);
    expect((await form(cookie, '_csrf=guess')).status).toBe(403);
    const wrongToken = await fetch(`${web.url}/api/agents/bot-a/reinstate`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrongToken.status).toBe(401);
    expect(proxy.app.incidents?.suspension('bot-a')).toMatchObject({
      by: 'admin (API token)',
      incident: null,
    });
  });
});
