// Real Chromium at 390 px on the real proxy's pages (every nav entry present): no page scrolls sideways.
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

let browser: Browser;
let proxy: FixtureProxy;
let web: WebServer;
let context: BrowserContext;
let id: string;

beforeAll(async () => {
  browser = await launchChromium();
  proxy = await startFixtureProxy({
    policy: `version: 2
default: deny
rules:
  - { id: echo-ok, match: echo, decision: allow }
`,
    upstream: 'in-process',
    ui: 0,
    env: { PORTCULLIS_UI_TOKEN: 'browser-narrow-token-0123456789abcdef' },
  });
  web = proxy.app.web as WebServer;
  // Something in the audit log and the agent list.
  const client = await httpClient(proxy.url);
  await client.listTools();
  await client.close();
  await proxy.app.approvals.queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: {
      amount_cents: 48_500,
      currency: 'usd',
      memo: 'Duplicate charge on order #5521, customer wrote twice',
    },
    rule: 'large-refunds',
    reason: 'Refunds over $150 need a person',
    canWait: false,
  });
  id = proxy.app.approvals.queue.list({ status: 'pending' })[0]?.id as string;
  context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(loginLinkFrom(proxy.logs));
  await Promise.all([page.waitForURL(`${web.url}/`), page.click('button[type=submit]')]);
  await page.close();
});
afterAll(async () => {
  await context?.close();
  await proxy?.close();
  await browser?.close();
});

describe('at 390 px', () => {
  it.each([
    ['pending', '/'],
    ['approval', '/approvals/:id'],
    ['audit', '/audit'],
    ['agents', '/agents'],
    ['decided', '/decided'],
  ])('the %s page does not scroll sideways and its nav wraps', async (name, path) => {
    const page = await context.newPage();
    try {
      await page.goto(`${web.url}${path.replace(':id', id)}`);
      expect(page.url()).not.toContain('/login');
      await page.screenshot({ path: join(artifactsDir(), `narrow-${name}-390.png`), fullPage: true });
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      // Every nav link is on screen (wrapped), none hidden past the edge.
      const right = await page.evaluate<number>(
        'Math.max(...[...document.querySelectorAll(".topbar nav a")].map((a) => a.getBoundingClientRect().right))',
      );
      expect(right).toBeLessThanOrEqual(390);
    } finally {
      await page.close();
    }
  });
});
