// Real headless Chromium against the served UI: sign in, see a held call arrive live, approve or deny it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore, type ReviewOutcome } from '../../src/approvals/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { tempDir } from '../approvals/helpers.js';
import { launchChromium } from '../helpers/browser.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts');

let browser: Browser;
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let server: WebServer;
let page: Page;
let problems: string[];

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
  queue = new ApprovalQueue({ store, uiUrl: () => url, progressIntervalMs: 100 });
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

function holdCall(args: Record<string, unknown>, progress: string[]): Promise<ReviewOutcome> {
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

    await card.locator('textarea[name=note]').fill('Verified duplicate with finance');
    await Promise.all([page.waitForURL(/done=approved/), card.locator('button[value=approve]').click()]);
    const outcome = await held;
    expect(outcome.status).toBe('approved');
    if (outcome.status === 'approved') expect(outcome.args).toEqual(args);
    expect(store.get(id)).toMatchObject({
      decidedBy: 'alice (browser)',
      note: 'Verified duplicate with finance',
    });
    expect(await page.locator('.flash.ok').textContent()).toContain(`Approved ${id}`);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toContain(`awaiting approval ${id} at ${server.url}/#${id}`);

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
    expect(await held).toMatchObject({ status: 'denied', note: 'Amount is far above the order total' });
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
    expect((await held).status).toBe('approved');
    expect(await page.locator('.empty').isVisible()).toBe(true);
  });
});
