// End to end: a real MCP client calls through the real proxy, the call is held, a person approves in Chromium.
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalStore } from '../../src/approvals/index.js';
import { queryAudit } from '../../src/audit/index.js';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { everythingServer } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const POLICY = `version: 2
default: deny
servers:
${everythingServer('everything')}
approval:
  timeout: 2m
rules:
  - id: echo-needs-a-person
    match: echo
    decision: review
    reason: "Echo goes to a person in this test"
  - id: sums-are-fine
    match: get-sum
    decision: allow
`;

let browser: Browser;
let store: ApprovalStore;
let web: WebServer;
let proxy: TestProxy;
let client: Client;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  // The proxy as `portcullis run` composes it: its own approvals queue and UI on a free port.
  proxy = await startHttpProxy({
    policy: POLICY,
    ui: 0,
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
  });
  web = proxy.app.web as WebServer;
  store = proxy.app.approvals.queue.store;
  client = await httpClient(proxy.url);
  page = await browser.newPage();
  // The one-time sign-in link is what the proxy prints on stderr.
  const login = loginLinkFrom(proxy.logs);
  expect(login).toMatch(new RegExp(`^${web.url}/login\\?code=`));
  expect(proxy.logs.join('\n')).not.toContain(TOKEN);
  await page.goto(login);
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live-status[data-state="up"]');
});

afterEach(async () => {
  await page.context().close();
  await client.close();
  await proxy.close();
});

function textOf(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

async function approveInBrowser(): Promise<string> {
  const card = page.locator('article.approval').first();
  await card.waitFor({ state: 'visible' });
  const id = (await card.getAttribute('id')) as string;
  await Promise.all([page.waitForURL(/done=approved/), card.locator('button[value=approve]').click()]);
  return id;
}

describe('a review call through the proxy', () => {
  it('holds a client that sent a progress token, with progress, until a person approves in the browser', async () => {
    const progress: Progress[] = [];
    const call = client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'ship it' } } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000 },
    );
    await expect.poll(() => progress.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(progress[0]?.message).toMatch(
      new RegExp(`awaiting approval ap_[0-9a-f]{16} at ${web.url}/approvals/ap_`),
    );
    const id = await approveInBrowser();
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(textOf(result)).toContain('ship it');
    await expect.poll(() => store.get(id)?.executedAt ?? null).not.toBeNull();
    expect(store.get(id)?.executionOk).toBe(true);
  });

  it('returns the reviewer note as an error when a person denies in the browser, and runs nothing', async () => {
    const progress: Progress[] = [];
    const call = client.request(
      { method: 'tools/call', params: { name: 'echo', arguments: { message: 'do not ship' } } },
      CallToolResultSchema,
      { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000 },
    );
    const card = page.locator('article.approval').first();
    await card.waitFor({ state: 'visible' });
    const id = (await card.getAttribute('id')) as string;
    await card.locator('textarea, input[name=note]').first().fill('not on a Friday');
    await Promise.all([page.waitForURL(/done=denied/), card.locator('button[value=deny]').click()]);
    const result = await call;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('not on a Friday');
    expect(store.get(id)?.executedAt ?? null).toBeNull();
    const audit = await queryAudit(join(proxy.dataDir, 'audit'), { event: 'execution', limit: 100 });
    expect(audit.records.filter((r) => r.tool === 'echo')).toEqual([]);
  });

  it('answers a client that cannot wait with the approval id and UI address; its retry runs once', async () => {
    const call = () =>
      client.request(
        { method: 'tools/call', params: { name: 'echo', arguments: { message: 'later' } } },
        CallToolResultSchema,
      );
    const first = await call();
    expect(first.isError).toBe(true);
    const text = textOf(first);
    const id = /ap_[0-9a-f]{16}/.exec(text)?.[0] as string;
    expect(id).toBeDefined();
    expect(text).toContain(web.url);
    expect(JSON.stringify(first)).not.toContain(TOKEN);

    expect(await approveInBrowser()).toBe(id);
    const retry = await call();
    expect(retry.isError).not.toBe(true);
    expect(textOf(retry)).toContain('later');

    const replay = await call();
    expect(replay.isError).toBe(true);
    expect(textOf(replay)).not.toContain(id);
    expect(store.list({ status: 'pending' })).toHaveLength(1);
  });
});
