// End to end: a real MCP client calls through the real proxy, the call is held, a person approves in Chromium.
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApprovalQueue,
  ApprovalStore,
  DEFAULT_APPROVAL_SETTINGS,
  queueReviewHandler,
} from '../../src/approvals/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { tempDir } from '../approvals/helpers.js';
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
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let web: WebServer;
let proxy: TestProxy;
let client: Client;
let page: Page;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tmp = tempDir('portcullis-e2e-');
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  let current: TestProxy | undefined;
  let uiUrl: string | undefined;
  queue = new ApprovalQueue({
    store,
    settings: () => current?.app.policy.current.approval ?? DEFAULT_APPROVAL_SETTINGS,
    uiUrl: () => uiUrl,
    progressIntervalMs: 100,
  });
  web = await serveWeb({ queue, auth: new WebAuth({ token: TOKEN, db: store.db }), port: 0 });
  uiUrl = web.url;
  proxy = await startHttpProxy({ policy: POLICY, review: queueReviewHandler(queue) });
  current = proxy;
  client = await httpClient(proxy.url);
  page = await browser.newPage();
  await page.goto(web.loginUrl());
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live-status[data-state="up"]');
});

afterEach(async () => {
  await page.context().close();
  await client.close();
  await proxy.close();
  await web.close();
  queue.close();
  store.close();
  tmp.cleanup();
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
    expect(progress[0]?.message).toMatch(new RegExp(`awaiting approval ap_[0-9a-f]{16} at ${web.url}/#ap_`));
    const id = await approveInBrowser();
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(textOf(result)).toContain('ship it');
    await expect.poll(() => store.get(id)?.executedAt ?? null).not.toBeNull();
    expect(store.get(id)?.executionOk).toBe(true);
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
