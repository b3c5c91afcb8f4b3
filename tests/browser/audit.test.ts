// Real Chromium on the audit page of the real proxy: calls made through it show up, filter, expand, follow a call.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { everythingServer } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

const TOKEN = 'audit-e2e-token-0123456789abcdef';
const SECRET = 'sk_live_BROWSERSECRET_777';
const ARTIFACTS = artifactsDir();
// get-sum's schema does not declare api_key: the check would deny it before the rule this test reads.
const POLICY = `version: 2
default: deny
servers:
${everythingServer('everything')}
input_schema: { extra_properties: allow }
rules:
  - id: echo-is-fine
    match: echo
    decision: allow
    reason: "Echo is harmless"
  - id: no-sums
    match: get-sum
    decision: deny
    reason: "Sums are off limits in this test"
`;

let browser: Browser;
let proxy: TestProxy;
let web: WebServer;
let client: Client;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  proxy = await startHttpProxy({
    policy: POLICY,
    ui: 0,
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
  });
  web = proxy.app.web as WebServer;
  client = await httpClient(proxy.url);
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  // CSP violations and script errors land here: the page must run clean under its own policy.
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
});

afterAll(async () => {
  try {
    await page?.context().close();
    await client?.close();
    await proxy?.close();
  } finally {
    await browser?.close();
  }
});

const rows = () => page.locator('table.audit tbody.record');

describe('the audit page of a running proxy', () => {
  it('shows the calls just made; filters to the denied one, expands it, and follows a call by its correlation id', async () => {
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'audit me <b>please</b>' } });
    expect(echo.isError).not.toBe(true);
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3, api_key: SECRET } });
    expect(sum.isError).toBe(true);

    // Sign in with the one-time link the proxy printed, as a person would.
    const login = loginLinkFrom(proxy.logs);
    expect(login).toMatch(new RegExp(`^${web.url}/login\\?code=`));
    await page.goto(login);
    await page.fill('#reviewer', 'auditor');
    await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);

    await Promise.all([page.waitForURL(`${web.url}/audit`), page.click('nav a[href="/audit"]')]);
    // Newest first: the denied sum, then echo's execution and decision (the upstream's start may follow).
    const table = page.locator('table.audit');
    await table.waitFor({ state: 'visible' });
    const calls = await rows().locator('.call').allTextContents();
    expect(calls.slice(0, 3)).toEqual(['everything/get-sum', 'everything/echo', 'everything/echo']);
    expect(await rows().nth(0).locator('.decision').textContent()).toBe('deny');
    expect(await rows().nth(1).locator('.event').textContent()).toBe('execution');
    expect(await rows().nth(2).locator('.decision').textContent()).toBe('allow');
    const content = (await page.content()).toString();
    expect(content).not.toContain(SECRET);
    expect(content).not.toContain(TOKEN);

    // Filter by decision with the form.
    await page.selectOption('#f-decision', 'deny');
    await Promise.all([
      page.waitForURL(/\/audit\?.*decision=deny/),
      page.click('form.filters button[type=submit]'),
    ]);
    await expect.poll(() => rows().count()).toBe(1);
    const denied = rows().first();
    expect(await denied.locator('.reason').textContent()).toBe('Sums are off limits in this test');
    expect(await denied.locator('td code').first().textContent()).toBe('no-sums');

    // Expand it: the stored record, pretty-printed, with the secret redacted.
    const json = denied.locator('details.json pre');
    expect(await json.isVisible()).toBe(false);
    await denied.locator('details.json summary').click();
    await json.waitFor({ state: 'visible' });
    const record = JSON.parse((await json.textContent()) as string) as Record<string, unknown>;
    expect(record).toMatchObject({ event: 'decision', decision: 'deny', rule: 'no-sums', tool: 'get-sum' });
    expect((record.args as Record<string, unknown>).api_key).toMatch(
      /^\[redacted\] hmac-sha256:[0-9a-f]{64}$/,
    );

    // Back to everything, then follow echo's call: its decision and execution, together.
    await Promise.all([page.waitForURL(`${web.url}/audit`), page.click('form.filters a.clear')]);
    const execution = rows()
      .filter({ has: page.locator('.event', { hasText: 'execution' }) })
      .first();
    const correlation = (await execution.locator('a.corr code').textContent()) as string;
    await Promise.all([
      page.waitForURL(new RegExp(`correlation_id=${correlation}`)),
      execution.locator('a.corr').click(),
    ]);
    await expect.poll(() => rows().count()).toBe(2);
    expect(await rows().locator('.event').allTextContents()).toEqual(['execution', 'decision']);
    expect(await page.locator('.flash.info').textContent()).toContain(correlation);
    await rows().nth(0).locator('details.json summary').click();
    // The argument with markup is shown as text, not rendered.
    await rows().nth(1).locator('details.json summary').click();
    expect(await rows().nth(1).locator('details.json pre').textContent()).toContain('audit me <b>please</b>');
    expect(await rows().nth(1).locator('details.json pre b').count()).toBe(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'audit-page.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
