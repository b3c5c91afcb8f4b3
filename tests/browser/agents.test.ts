// Real Chromium on the Agents page: add an agent and see its key once (and it works over MCP), set its trust, rotate and revoke; screenshots at 1280 and 390 px.
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { callsOf } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

let browser: Browser;
let proxy: FixtureProxy;
let web: WebServer;
/** Signed in once (the link is one-time); each test opens its pages in it. */
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium();
  proxy = await startFixtureProxy({
    policy: `version: 2
default: deny
agents:
  - { id: policy-bot, trust: medium }
rules:
  - { id: trusted-echo, match: echo, trust_at_least: high, decision: allow }
`,
    upstream: 'in-process',
    ui: 0,
    env: { PORTCULLIS_UI_TOKEN: 'browser-agents-token-0123456789abcdef' },
  });
  web = proxy.app.web as WebServer;
  // The anonymous agent is registered when first seen (its source "First seen").
  const anonymous = await httpClient(proxy.url);
  await anonymous.listTools();
  await anonymous.close();
  context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(loginLinkFrom(proxy.logs));
  await page.fill('#reviewer', 'dana');
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
  await page.close();
});
afterAll(async () => {
  await proxy?.close();
  await browser?.close();
});

async function signedIn(width: number): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 900 });
  await page.goto(`${web.url}/`);
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(artifactsDir(), `agents-${name}.png`), fullPage: true });

describe('the Agents page in Chromium', () => {
  it('adds an agent showing its key once, sets its trust, rotates and revokes a key', async () => {
    const page = await signedIn(1280);
    // waitForURL waits for the page's load too: polling page.url() alone passed as soon as the
    // navigation committed, and counting rows then could see none (CI did).
    await Promise.all([page.waitForURL(`${web.url}/agents`), page.click('nav >> text=Agents')]);
    const rows = page.locator('table.agents tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    await expect
      .poll(() => page.locator('tr[data-agent="policy-bot"]').innerText())
      .toMatch(/Policy file\s+medium/);
    await expect
      .poll(() => page.locator('tr[data-agent="anonymous"]').innerText())
      .toMatch(/First seen\s+low/);

    await page.click('summary:has-text("Add an agent")');
    await page.fill('#a-id', 'support-bot');
    await page.selectOption('#a-trust', 'medium');
    await page.fill('#a-owner', 'payments');
    await page.fill('#a-env', 'prod');
    await page.click('button:has-text("Add agent")');
    const key = await page.locator('input.key').inputValue();
    expect(key).toMatch(/^pcl_[A-Za-z0-9_-]{43}$/);
    expect(await page.locator('.key-once').innerText()).toContain('shown only this once');
    await shot(page, 'key-once-1280');

    // The key works over MCP; at medium the echo rule (high) does not allow it.
    const client = await httpClient(proxy.url, { headers: { authorization: `Bearer ${key}` } });
    expect((await client.callTool({ name: 'echo', arguments: {} })).isError).toBe(true);

    // Once: the page again (a reload is a GET) does not have it.
    await page.goto(`${web.url}/agents/support-bot`);
    expect(await page.content()).not.toContain(key);
    expect(await page.locator('input.key').count()).toBe(0);

    await page.selectOption('#trust', 'high');
    await page.click('button:has-text("Set trust")');
    await expect.poll(() => page.locator('.flash').innerText()).toContain('applies to the next call');
    expect((await client.callTool({ name: 'echo', arguments: {} })).isError).not.toBe(true);
    expect(await callsOf(proxy.fixtureLog, 'echo')).toBe(1);

    await page.click('button:has-text("New key")');
    const second = await page.locator('input.key').inputValue();
    expect(second).not.toBe(key);
    await expect.poll(() => page.locator('table.keys tbody tr').count()).toBe(2);
    await shot(page, 'detail-1280');
    // Revoke the first key: the open session with it is refused from its next call.
    await page.locator('table.keys tbody tr').first().locator('button:has-text("Revoke")').click();
    await expect.poll(() => page.locator('.flash').innerText()).toContain('Key revoked');
    await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toThrow(/401|Unauthorized/);
    await client.close().catch(() => {});

    // The audit trail link goes to the audit page filtered by the agent.
    await Promise.all([
      page.waitForURL(/\/audit\?agent=support-bot/),
      page.click('a:has-text("Audit trail of support-bot")'),
    ]);
    expect(await page.locator('main').innerText()).toContain('trust_changed');

    await page.goto(`${web.url}/agents?trust=high`);
    expect(await rows.count()).toBe(1);
    await page.goto(`${web.url}/agents`);
    await shot(page, 'list-1280');
    await page.close();
  });

  it('is readable at 390 px', async () => {
    const page = await signedIn(390);
    await page.goto(`${web.url}/agents`);
    const overflow = await page.locator('main').evaluate((main) => main.scrollWidth - main.clientWidth);
    await shot(page, 'list-390');
    await page.goto(`${web.url}/agents/support-bot`);
    await shot(page, 'detail-390');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.close();
  });
});
