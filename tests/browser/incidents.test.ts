// Real Chromium on the Incidents page: an agent suspended by severe denials shows with Reinstate, incidents filter, acknowledge and resolve, and a report from the form; at 1280 and 390 px.
import { mkdirSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';

const SHOTS = '/tmp/shots';
const POLICY = `version: 2
suspend: { after: 3, severity: high, within: 10m }
rules:
  - { id: no-crash, match: crash, decision: deny, severity: high, reason: "crashing the server is not allowed" }
  - { id: no-env, match: env, decision: deny, severity: low, reason: "the environment holds secrets" }
  - { match: "*", decision: allow }
`;

let browser: Browser;
let proxy: FixtureProxy;
let client: Client;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await page?.context().close();
  await client?.close();
  await proxy?.close();
});

const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as CallToolResult;
const pageWidth = () => page.locator('main').evaluate((main) => main.scrollWidth);

describe('the Incidents page in Chromium', () => {
  it('shows the suspension and the incidents; filters, acknowledges, resolves, reports and reinstates', async () => {
    proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process', ui: 0 });
    const web = proxy.app.web as WebServer;
    client = await httpClient(proxy.url);
    await call('env');
    for (let i = 0; i < 3; i++) await call('crash');
    expect(resultText(await call('echo'))).toContain('agent suspended');

    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(loginLinkFrom(proxy.logs));
    await page.fill('#reviewer', 'dana');
    await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
    await page.click('nav >> text=Incidents');
    await page.waitForURL(`${web.url}/incidents`);

    const suspended = page.locator('.suspended-list li');
    await expect(suspended.count()).resolves.toBe(1);
    expect(await suspended.innerText()).toContain('anonymous');
    expect(await suspended.innerText()).toContain('fixture/crash denied by rule no-crash');
    const cards = page.locator('article.incident');
    expect(await cards.count()).toBe(2);
    const crash = page.locator('article.incident.sev-high');
    expect(await crash.innerText()).toMatch(/Occurrences\s+3/i);
    expect(await crash.innerText()).toContain('Policy rule: no-crash');
    expect(await crash.locator('a', { hasText: 'audit trail' }).getAttribute('href')).toMatch(
      /^\/audit\?correlation_id=/,
    );
    await page.screenshot({ path: `${SHOTS}/incidents-1280.png`, fullPage: true });

    // Filter by severity.
    await page.selectOption('#f-severity', 'low');
    await Promise.all([page.waitForURL(/severity=low/), page.click('button:has-text("Filter")')]);
    expect(await cards.count()).toBe(1);
    expect(await cards.first().innerText()).toContain('no-env');
    await page.goto(`${web.url}/incidents`);

    // Acknowledge, then resolve, the high one: who and when show on the card.
    await Promise.all([
      page.waitForURL(/done=/),
      crash.locator('button', { hasText: 'Acknowledge' }).click(),
    ]);
    expect(await crash.innerText()).toMatch(/Acknowledged\s+.+ by dana \(browser\)/i);
    await Promise.all([page.waitForURL(/done=/), crash.locator('button', { hasText: 'Resolve' }).click()]);
    expect(await crash.innerText()).toMatch(/Resolved\s+.+ by dana \(browser\)/i);
    expect(await crash.locator('button').count()).toBe(0);

    // A report from the form.
    await page.click('summary:has-text("Report an incident")');
    await page.fill('#r-agent', 'billing-bot');
    await page.fill('#r-type', 'prompt_injection');
    await page.selectOption('#r-severity', 'critical');
    await page.fill('#r-description', 'followed instructions hidden in a support ticket');
    await page.check('input[name=auto_suspend]');
    await Promise.all([page.waitForURL(/done=/), page.click('button:has-text("Report")')]);
    expect(await page.locator('.flash').innerText()).toContain('agent billing-bot is suspended');
    expect(await suspended.count()).toBe(2);

    await page.setViewportSize({ width: 390, height: 844 });
    expect(await pageWidth()).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}/incidents-390.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });

    // A crafted link cannot make the page claim what did not happen.
    await page.goto(`${web.url}/incidents?done=reinstated&target=billing-bot`);
    expect(await page.locator('.flash').count()).toBe(0);

    // Reinstate the agent: its calls run again.
    const anonymous = suspended.filter({ hasText: 'anonymous' });
    await Promise.all([
      page.waitForURL(/done=/),
      anonymous.locator('button', { hasText: 'Reinstate' }).click(),
    ]);
    expect(await suspended.count()).toBe(1);
    expect(resultText(await call('echo', { message: 'back' }))).toContain('back');

    const { records } = await queryAudit(proxy.app.audit.root, { event: 'agent' });
    expect(records.map((r) => [r.action, r.agent, r.by])).toContainEqual([
      'reinstated',
      'anonymous',
      'dana (browser)',
    ]);
    expect(problems).toEqual([]);
  });
});
