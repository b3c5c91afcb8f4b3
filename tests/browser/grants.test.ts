// Real Chromium against the real proxy: approve with a standing grant (one argument "any value"), see it on the Grants page, watch it cover the next call but not another customer's or a denied one, revoke it.
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

const TOKEN = 'grants-browser-token-0123456789abcdef';
const POLICY = `version: 2
approval:
  grant_max: 8h
rules:
  - id: no-password-resets
    match: echo
    args: { subject: { eq: "Password reset" } }
    decision: deny
    reason: "Agents never send password resets"
  - id: emails-need-a-person
    match: echo
    decision: review
    reason: "Customer emails go to a person"
`;

let browser: Browser;
let proxy: TestProxy;
let client: Client;
let web: WebServer;
let page: Page;
const problems: string[] = [];

type Text = { content: { type: string; text: string }[]; isError?: boolean };
const email = async (body: string, customer_id = 'c_4711', subject = 'Your refund') =>
  (await client.callTool({
    name: 'echo',
    arguments: { customer_id, subject, body },
  })) as Text;

beforeAll(async () => {
  browser = await launchChromium();
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'crm', command: 'node', args: [FIXTURE] },
    upstreamTransport: inProcessFixtures(),
    ui: 0,
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
  });
  web = proxy.app.web as WebServer;
  client = await httpClient(proxy.url);
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on('console', (m) => (m.type() === 'error' ? problems.push(m.text()) : undefined));
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(loginLinkFrom(proxy.logs));
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live-status[data-state="up"]');
});

afterAll(async () => {
  await page?.context().close();
  await browser?.close();
  await client?.close();
  await proxy?.close();
});

it('a reviewer grants "calls like this", the next call runs, and after Revoke the next one waits again', async () => {
  const first = await email('Hello, your refund is on its way.');
  expect(first.content[0]?.text).toMatch(/waiting for a person/);
  const card = page.locator('article.approval').first();
  await card.waitFor({ state: 'visible' });
  await card.locator('details.grant-offer summary').click();
  const form = card.locator('form.grant-form');
  await form.locator('select[name="arg:body"]').selectOption('any');
  // The longest offered duration is cut to grant_max (8 h): no 24 h.
  expect(await form.locator('select[name=duration] option').allTextContents()).toEqual([
    '15 min',
    '1 h',
    '8 h',
  ]);
  await form.locator('select[name=duration]').selectOption({ label: '1 h' });
  expect(await form.locator('.grant-for').textContent()).toBe('1 h');
  await card.screenshot({ path: join(artifactsDir(), 'grant-form.png') });

  await Promise.all([page.waitForURL(/\/grants\?created=gr_/), form.locator('button.grant-submit').click()]);
  const row = page.locator('#grants-active tr.grant-row');
  await expect.poll(() => row.count()).toBe(1);
  const rowText = (await row.textContent()) ?? '';
  expect(rowText).toContain('body: any value');
  expect(rowText).toContain('customer_id: exactly "c_4711"');
  expect(rowText).toContain('no other arguments');
  expect(rowText).toMatch(/in (59 min|1 h)/);
  await page.screenshot({ path: join(artifactsDir(), 'grants-page.png'), fullPage: true });

  const second = await email('A different body: the grant says any value.');
  expect(second.isError).toBeUndefined();
  expect(second.content[0]?.text).toContain('A different body');
  await page.reload();
  expect(await page.locator('#grants-active tr.grant-row td').nth(3).textContent()).toMatch(/^1/);

  // Outside the grant (another customer): a person decides, and the reviewer sees it on Pending.
  const outside = await email('Hello from support.', 'c_9999');
  expect(outside.content[0]?.text).toMatch(/waiting for a person/);
  // Never past a deny rule: any subject is granted, but the deny rule before the review rule decides first.
  const reset = await email('Click here to reset.', 'c_4711', 'Password reset');
  expect(reset.isError).toBe(true);
  expect(reset.content[0]?.text).toContain('Agents never send password resets');
  await page.goto(`${web.url}/`);
  const waiting = page.locator('article.approval');
  await expect.poll(() => waiting.count()).toBe(1);
  expect(await waiting.first().textContent()).toContain('c_9999');
  await page.goto(`${web.url}/grants`);
  expect(await page.locator('#grants-active tr.grant-row td').nth(3).textContent()).toMatch(/^1/);

  await Promise.all([
    page.waitForURL(/revoked=gr_/),
    page.locator('#grants-active button', { hasText: 'Revoke' }).click(),
  ]);
  await page.locator('#grants-none').waitFor();
  expect(await page.locator('#grants-ended tr.grant-row').textContent()).toContain('revoked');
  await page.screenshot({ path: join(artifactsDir(), 'grants-page-revoked.png'), fullPage: true });

  const third = await email('After the revoke.');
  expect(third.content[0]?.text).toMatch(/waiting for a person/);
  expect(problems).toEqual([]);
});
