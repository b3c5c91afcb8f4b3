// Real headless Chromium against the served UI: sign in, see a held call arrive live, approve or deny it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore, DEFAULT_APPROVAL_SETTINGS } from '../../src/approvals/index.js';
import type { ApprovalSettings } from '../../src/policy/types.js';
import type { ReviewRequest, ReviewVerdict } from '../../src/proxy/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { launchChromium } from '../helpers/browser.js';
import { artifactsDir, tempDir } from '../helpers/temp.js';

// Screenshots go outside the repository; each test prints where.
const ARTIFACTS = artifactsDir();

let browser: Browser;
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let server: WebServer;
let page: Page;
let problems: string[];
let settings: ApprovalSettings;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tmp = tempDir('portcullis-browser-');
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  let url: string | undefined;
  settings = { ...DEFAULT_APPROVAL_SETTINGS };
  queue = new ApprovalQueue({ store, uiUrl: () => url, progressIntervalMs: 100, settings: () => settings });
  const auth = new WebAuth({ token: 'browser-test-token-0123456789abcdef', db: store.db });
  server = await serveWeb({
    queue,
    auth,
    port: 0,
    policyStatus: () => ({ sha256: 'c0ffee'.padEnd(64, '0'), loadedAt: Date.now(), errors: [] }),
  });
  url = server.url;
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  problems = [];
  // CSP violations and script errors show up here: the page must run clean under its own policy.
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
});

afterEach(async () => {
  await page.context().close();
  await server.close();
  queue.close();
  store.close();
  tmp.cleanup();
});

async function signIn(reviewer: string): Promise<void> {
  await page.goto(server.loginUrl());
  await page.fill('#reviewer', reviewer);
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
  // Live updates are connected before the call arrives, so what follows proves it appears without a reload.
  await page.waitForSelector('#live-status[data-state="up"]');
}

function holdCall(args: Record<string, unknown>, progress: string[]): Promise<ReviewVerdict> {
  return queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args,
    rule: 'large-refunds',
    reason: 'Refunds over $150 need a person',
    correlationId: 'browser-test',
    canWait: true,
    onWaiting: (message) => progress.push(message),
  });
}

describe('approving in the browser', () => {
  it('shows a held call live; Approve releases the waiting caller with the arguments the reviewer saw', async () => {
    await signIn('alice');
    expect(page.url()).toBe(`${server.url}/`);
    expect(await page.locator('.empty').isVisible()).toBe(true);

    const progress: string[] = [];
    const args = {
      amount_cents: 48_500,
      op: 'refund',
      customer: { id: 'cus_8842', email: 'dana@example.com' },
      memo: 'Duplicate charge on order #5521',
    };
    const held = holdCall(args, progress);
    const id = queue.list({ status: 'pending' })[0]?.id as string;
    const card = page.locator(`article#${id}`);
    await card.waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#pending-count').textContent()).toBe('1');
    expect(await card.locator('pre').textContent()).toContain('"amount_cents": 48500');
    expect(await card.textContent()).toContain('Refunds over $150 need a person');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'approvals-queue.png'), fullPage: true });
    process.stderr.write(`[screenshot] ${join(ARTIFACTS, 'approvals-queue.png')}\n`);

    await card.locator('textarea[name=note]').fill('Verified duplicate with finance');
    await Promise.all([page.waitForURL(/done=approved/), card.locator('button[value=approve]').click()]);
    const outcome = await held;
    expect(outcome.kind).toBe('run');
    if (outcome.kind === 'run') expect(outcome.args).toEqual(args);
    expect(store.get(id)).toMatchObject({
      decidedBy: 'alice (browser)',
      note: 'Verified duplicate with finance',
    });
    expect(await page.locator('.flash.ok').textContent()).toContain(`Approved ${id}`);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toContain(`awaiting approval ${id} at ${server.url}/approvals/${id}`);

    await page.click('nav a[href="/decided"]');
    expect(await page.locator(`tr#${id} .status`).textContent()).toBe('approved');
    expect(problems).toEqual([]);
  });

  it('Deny releases the waiting caller with the note; nothing runs', async () => {
    await signIn('bob');
    const held = holdCall({ amount_cents: 990_000, op: 'refund' }, []);
    const id = queue.list({ status: 'pending' })[0]?.id as string;
    const card = page.locator(`article#${id}`);
    await card.waitFor({ state: 'visible' });
    await card.locator('textarea[name=note]').fill('Amount is far above the order total');
    await Promise.all([page.waitForURL(/done=denied/), card.locator('button[value=deny]').click()]);
    expect(await held).toMatchObject({
      kind: 'deny',
      cause: 'denied',
      reason: expect.stringContaining(': Amount is far above the order total'),
    });
    expect(store.get(id)?.deliveredAt).not.toBeNull();
    expect(store.get(id)?.executedAt).toBeNull();
    expect(await page.locator(`article#${id}`).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('removes a card live when it is decided elsewhere (another tab or the API)', async () => {
    await signIn('carol');
    const held = holdCall({ amount_cents: 30_000, op: 'refund' }, []);
    const id = queue.list({ status: 'pending' })[0]?.id as string;
    await page.locator(`article#${id}`).waitFor({ state: 'visible' });
    queue.decide(id, { decision: 'approve', by: 'dave (browser)' });
    await page.locator(`article#${id}`).waitFor({ state: 'detached' });
    expect((await held).kind).toBe('run');
    expect(await page.locator('.empty').isVisible()).toBe(true);
  });
});

describe('a flood of review calls from one agent', () => {
  function parkCall(
    agent: string,
    args: Record<string, unknown>,
    tool = 'refunds.refund',
  ): Promise<ReviewVerdict> {
    const request: ReviewRequest = {
      agent,
      server: 'payments',
      tool,
      args,
      rule: 'large-refunds',
      reason: 'Refunds over $150 need a person',
      canWait: false,
    };
    return queue.review(request);
  }

  it('shows the total and the flood per agent, pages through it, and the other agent is one click away', async () => {
    settings = { ...settings, maxPendingPerAgent: 500 };
    for (let n = 0; n < 500; n++)
      await parkCall('support-bot', { amount_cents: 20_000 + n, op: 'refund', ticket: `T-${n}` });
    for (let n = 0; n < 12; n++) {
      expect(await parkCall('support-bot', { amount_cents: 90_000 + n, op: 'refund' })).toMatchObject({
        kind: 'deny',
        cause: 'refused',
      });
    }
    const other = await parkCall(
      'billing-bot',
      { invoice: 'inv_4471', amount_cents: 31_000 },
      'invoices.void',
    );
    const otherId = other.kind === 'respond' ? (other.approvalId ?? '') : '';
    expect(otherId).toMatch(/^ap_/);

    await signIn('erin');
    await expect.poll(() => page.locator('#pending-count').textContent()).toBe('501');
    expect(await page.locator('#pending-total').textContent()).toContain('501 pending');
    expect(await page.locator('#pending-total').textContent()).toContain('showing 1–20');
    expect(await page.locator('article.approval').count()).toBe(20);
    const flood = page.locator('#agent-summary li[data-agent="support-bot"]');
    expect(await flood.textContent()).toMatch(/500 pending\s+cap reached \(500\)\s+12 refused since/);
    expect(await page.locator('#agent-summary .flood-note').isVisible()).toBe(true);
    // The other agent's call is on the last of 26 pages, but its agent is right at the top.
    expect(await page.locator(`article#${otherId}`).count()).toBe(0);
    const otherRow = page.locator('#agent-summary li[data-agent="billing-bot"]');
    expect(await otherRow.textContent()).toContain('1 pending');

    mkdirSync(ARTIFACTS, { recursive: true });
    const desktop = join(ARTIFACTS, 'pending-flood-desktop.png');
    await page.screenshot({ path: desktop, fullPage: false });
    await page.setViewportSize({ width: 390, height: 844 });
    const phone = join(ARTIFACTS, 'pending-flood-390.png');
    await page.screenshot({ path: phone, fullPage: false });
    process.stderr.write(`[screenshot] ${desktop}\n[screenshot] ${phone}\n`);
    await page.setViewportSize({ width: 1280, height: 860 });

    // Newer: the next 20, the total still counts all of them.
    await Promise.all([page.waitForURL(/cursor=/), page.locator('#pager a[rel=next]').click()]);
    expect(await page.locator('#pending-total').textContent()).toContain('showing 21–40');
    const secondPage = await page.locator('article.approval').evaluateAll((cards) => cards.map((c) => c.id));
    await page.setViewportSize({ width: 390, height: 844 });
    const pagerShot = join(ARTIFACTS, 'pending-flood-pager-390.png');
    await page.locator('#pager').scrollIntoViewIfNeeded();
    await page.screenshot({ path: pagerShot });
    process.stderr.write(`[screenshot] ${pagerShot}\n`);
    await page.setViewportSize({ width: 1280, height: 860 });
    expect(secondPage).toHaveLength(20);

    // Live on page 2: a new agent's call raises the totals, a decision elsewhere slides the next card in.
    await page.waitForSelector('#live-status[data-state="up"]');
    await parkCall('ops-bot', { restart: 'payments-worker' }, 'deploy.restart');
    await expect.poll(() => page.locator('#pending-count').textContent()).toBe('502');
    await expect.poll(() => page.locator('#pending-total').textContent()).toContain('502 pending');
    await page.locator('#agent-summary li[data-agent="ops-bot"]').waitFor();
    const decidedHere = secondPage[0] as string;
    queue.decide(decidedHere, { decision: 'deny', by: 'frank (browser)' });
    await page.locator(`article#${decidedHere}`).waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('article.approval').count()).toBe(20);
    const slid = await page.locator('article.approval').evaluateAll((cards) => cards.map((c) => c.id));
    expect(slid.slice(0, 19)).toEqual(secondPage.slice(1));

    // The other agent: one click, its call, decided, and back on that agent's (now empty) view.
    await Promise.all([
      page.waitForURL(/agent=billing-bot/),
      page.locator('#agent-summary a[href="/?agent=billing-bot"]').click(),
    ]);
    const card = page.locator(`article#${otherId}`);
    await card.waitFor({ state: 'visible' });
    expect(await page.locator('#pending-total').textContent()).toContain('1 pending from billing-bot');
    expect(await page.locator('article.approval').count()).toBe(1);
    const filtered = join(ARTIFACTS, 'pending-flood-filtered.png');
    await page.screenshot({ path: filtered, fullPage: false });
    process.stderr.write(`[screenshot] ${filtered}\n`);
    await Promise.all([page.waitForURL(/done=approved/), card.locator('button[value=approve]').click()]);
    expect(page.url()).toContain('agent=billing-bot');
    expect(await page.locator('.flash.ok').textContent()).toContain(`Approved ${otherId}`);
    expect(await page.locator('.empty').textContent()).toContain('Nothing from billing-bot is waiting');
    expect(store.get(otherId)?.status).toBe('approved');
    expect(problems).toEqual([]);
  }, 60_000);
});
