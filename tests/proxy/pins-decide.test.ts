// Decisions on held definitions reach the running proxy at once: accept in the UI (or the CLI of another process) and the next call runs without relisting; reject, or a pin file gone bad, and it stays refused.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { PinStore } from '../../src/pins/index.js';
import type { WebServer } from '../../src/web/index.js';
import { loginLinkFrom } from '../helpers/browser.js';
import { cli } from '../helpers/cli.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';

const ENV = {
  FIXTURE_EXTRA_TOOLS: 'typed,open',
  FIXTURE_TOOL_SCHEMAS: JSON.stringify({
    typed: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
    open: { type: 'object', properties: { message: { type: 'string' }, to: { type: 'string' } } },
  }),
  PORTCULLIS_UI_TOKEN: 'pins-decide-token-0123456789abcdef',
};

let proxy: FixtureProxy | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await proxy?.close();
  proxy = undefined;
  client = undefined;
});

async function start(): Promise<{ proxy: FixtureProxy; client: Client; listChanged: { count: number } }> {
  proxy = await startFixtureProxy({
    policy: 'version: 2\nrules:\n  - { match: "*", decision: allow }\n',
    upstream: 'in-process',
    ui: 0,
    env: ENV,
  });
  client = await httpClient(proxy.url);
  const listChanged = { count: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged.count += 1;
  });
  return { proxy, client, listChanged };
}

const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;
const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();

/** The fixture swaps what `typed` and `open` are: both definitions change. */
async function rugPull(c: Client): Promise<void> {
  await call(c, 'rename', { from: 'typed', to: 'swap' });
  await call(c, 'rename', { from: 'open', to: 'typed' });
  await call(c, 'rename', { from: 'swap', to: 'open' });
  expect(await names(c)).not.toContain('typed');
}

/** Signs in with the link the proxy printed, as a reviewer's browser would, and returns a decide() for the Pins page's form. */
async function reviewer(p: FixtureProxy, name: string) {
  const web = p.app.web as WebServer;
  const login = new URL(loginLinkFrom(p.logs));
  const signedIn = await fetch(`${web.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url },
    body: new URLSearchParams({ code: login.searchParams.get('code') ?? '', reviewer: name }).toString(),
  });
  const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = async () => (await fetch(`${web.url}/pins`, { headers: { cookie } })).text();
  return {
    page,
    async decide(tool: string, decision: 'accept' | 'reject'): Promise<string> {
      const html = await page();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
      const card = html.slice(html.indexOf(`data-tool="${tool}"`));
      const sha256 = /name="sha256" value="([^"]+)"/.exec(card)?.[1] ?? '';
      const res = await fetch(`${web.url}/pins/decide`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: web.url, cookie },
        body: new URLSearchParams({ _csrf: csrf, server: 'fixture', tool, sha256, decision }).toString(),
      });
      return res.headers.get('location') ?? `status ${res.status}`;
    },
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
};

describe('decisions on held definitions, applied to the running proxy', () => {
  it('accept in the UI: the next call runs without relisting and clients are told to relist; reject: still refused', async () => {
    const { proxy, client, listChanged } = await start();
    await names(client);
    await rugPull(client);
    expect(resultText(await call(client, 'typed', { message: 'x', to: 'y' }))).toContain(
      'changed since it was pinned',
    );
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(0);

    const alice = await reviewer(proxy, 'alice');
    const before = listChanged.count;
    expect(await alice.decide('typed', 'accept')).toBe('/pins?done=accepted&server=fixture&tool=typed');
    await until(() => listChanged.count > before);
    expect(listChanged.count).toBeGreaterThan(before);
    // No tools/list in between: the accept applies to the very next call.
    expect(resultText(await call(client, 'typed', { message: 'now', to: 'me' }))).toBe(
      'fixture:typed:{"message":"now","to":"me"}',
    );

    expect(await alice.decide('open', 'reject')).toBe('/pins?done=rejected&server=fixture&tool=open');
    const refused = await call(client, 'open', { message: 'x' });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toContain('changed since it was pinned');
    expect(await callsOf(proxy.fixtureLog, 'open')).toBe(0);
    const listed = await names(client);
    expect(listed).toContain('typed');
    expect(listed).not.toContain('open');
    expect(await alice.page()).toContain('Rejected, still held');

    const audit = await queryAudit(`${proxy.dataDir}/audit`, { event: 'pin' });
    const decided = audit.records.filter((r) => r.action === 'accepted' || r.action === 'rejected');
    expect(decided.map((r) => [r.action, r.tool, r.by]).sort()).toEqual([
      ['accepted', 'typed', 'alice (browser)'],
      ['rejected', 'open', 'alice (browser)'],
    ]);
  });

  it('accept with the CLI of another process: the running proxy notices on the next call of the held tool', async () => {
    const { proxy, client } = await start();
    await names(client);
    await rugPull(client);
    expect(resultText(await call(client, 'typed', { message: 'x' }))).toContain(
      'held until a person accepts it',
    );
    expect((await cli('pins', 'accept', 'fixture', 'typed', '--data-dir', proxy.dataDir)).code).toBe(0);
    expect(resultText(await call(client, 'typed', { message: 'after cli' }))).toBe(
      'fixture:typed:{"message":"after cli"}',
    );
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(1);
  });

  it('a pin file edited to trust the held definition but no longer well-formed keeps it held (fail closed)', async () => {
    const { proxy, client } = await start();
    await names(client);
    await rugPull(client);
    const store = new PinStore(proxy.dataDir);
    const state = store.read('fixture');
    if (state.kind !== 'pinned') throw new Error('no pins');
    const held = state.file.held.open;
    if (!held) throw new Error('open is not held');
    // The held definition copied in as the pin, as a hand edit would, but in another server's file…
    const forged = {
      ...state.file,
      server: 'elsewhere',
      tools: { ...state.file.tools, open: { ...held, pinnedAt: held.seenAt } },
    };
    writeFileSync(store.fileOf('fixture'), JSON.stringify(forged));
    const refused = await call(client, 'open', { message: 'x' });
    expect(resultText(refused)).toContain('the pins of fixture cannot be trusted');
    // …or cut short.
    const cut = JSON.stringify({ ...forged, server: 'fixture' }).slice(0, -2);
    writeFileSync(store.fileOf('fixture'), cut);
    expect(resultText(await call(client, 'open', { message: 'x' }))).toContain('cannot be trusted');
    expect(await callsOf(proxy.fixtureLog, 'open')).toBe(0);
    // Judging again never writes over a file it cannot trust.
    expect(readFileSync(store.fileOf('fixture'), 'utf8')).toBe(cut);
  });
});
