// Real Chromium on an approval's own page: old #ap_ links, sign-in and back, the counting tab title,
// opt-in notifications, and 390 px without sideways scrolling; screenshots of a payment and an edit_file call.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import type { ReviewRequest } from '../../src/proxy/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { launchChromium } from '../helpers/browser.js';
import { artifactsDir, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const ARTIFACTS = artifactsDir();
/** Also kept beside the worktree for the person integrating this branch to look at. */
const SHOTS = process.env.PORTCULLIS_PAGE_SHOTS ?? '/work/wt/page-shots';
const TOKEN = 'browser-page-token-0123456789abcdef';

let browser: Browser;
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let server: WebServer;
let context: BrowserContext;
let page: Page;
let problems: string[];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  tmp = tempDir('portcullis-page-');
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  let url: string | undefined;
  queue = new ApprovalQueue({ store, uiUrl: () => url });
  const auth = new WebAuth({ token: TOKEN, db: store.db });
  server = await serveWeb({ queue, auth, port: 0 });
  url = server.url;
  problems = [];
});

afterEach(async () => {
  await context?.close();
  await server.close();
  queue.close();
  store.close();
  tmp.cleanup();
});

async function open(width = 1280, options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
  context = await browser.newContext({ viewport: { width, height: 900 }, ...options });
  page = await context.newPage();
  // CSP violations and script errors show up here: the pages must run clean under their own policy.
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  return page;
}

async function signIn(): Promise<void> {
  await page.goto(server.loginUrl());
  await page.fill('#reviewer', 'alice');
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live-status[data-state="up"]');
}

/** A call parked for review (the client was handed the approval id), as the gate would. */
async function park(overrides: Partial<ReviewRequest> = {}): Promise<string> {
  await queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: { amount_cents: 48_500, currency: 'usd', charge: 'ch_3PqL9x', reason: 'duplicate' },
    rule: 'large-refunds',
    reason: 'Refunds over $150 need a person',
    canWait: false,
    ...overrides,
  });
  const ids = queue.list({ status: 'pending' }).map((a) => a.id);
  return ids[ids.length - 1] as string;
}

const decide = (id: string) =>
  queue.decide(id, { decision: 'deny', by: 'test', reviewer: { id: 'admin', name: 'test', kind: 'admin' } });

async function shot(name: string): Promise<void> {
  const file = join(ARTIFACTS, `approval-page-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  mkdirSync(SHOTS, { recursive: true });
  copyFileSync(file, join(SHOTS, `approval-page-${name}.png`));
}

const noSidewaysScroll = () => page.evaluate<number>('document.documentElement.scrollWidth');

describe('an approval page in Chromium', () => {
  it('an old #ap_ link, signed out, goes to sign-in and lands on the approval page', async () => {
    const id = await park();
    await open();
    await page.goto(`${server.url}/#${id}`);
    await page.waitForURL(`${server.url}/login?next=%2Fapprovals%2F${id}`);
    // The signed-out Pending page the old link first opens answers 401 (the browser logs it): not a problem.
    problems = [];
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`${server.url}/approvals/${id}`), page.click('button[type=submit]')]);
    expect(await page.locator('h1.call').textContent()).toBe('payments/refunds.refund');
    expect(await page.locator('.arg-amount').first().textContent()).toBe('$485.00 (48,500 cents)');
    // Signed in, the old link goes straight to the page.
    await page.goto(`${server.url}/#${id}`);
    await page.waitForURL(`${server.url}/approvals/${id}`);
    expect(problems).toEqual([]);
  });

  it('approves from the page and shows who decided; the buttons are full width and 44 px tall at 390 px', async () => {
    const id = await park();
    await open(390);
    await signIn();
    await page.goto(`${server.url}/approvals/${id}`);
    const form = await page.locator('form.decide').boundingBox();
    for (const button of await page.locator('form.decide .btn').all()) {
      const box = await button.boundingBox();
      expect(box?.height).toBeGreaterThanOrEqual(44);
      expect(box?.width).toBeCloseTo(form?.width ?? 0, 0);
    }
    expect(await noSidewaysScroll()).toBeLessThanOrEqual(390);
    await page.fill(`#note-${id}`, 'checked the charge');
    await Promise.all([page.waitForURL(/done=approved/), page.click('button[value=approve]')]);
    expect(await page.locator('.flash.ok').textContent()).toContain('Approved');
    expect(await page.locator('.status').first().textContent()).toBe('approved');
    expect(await page.locator('.note-text').textContent()).toBe('checked the charge');
    expect(problems).toEqual([]);
  });

  it('shows the outcome without a reload when the approval is decided elsewhere', async () => {
    const id = await park();
    await open();
    await signIn();
    await page.goto(`${server.url}/approvals/${id}`);
    await page.waitForSelector('#live-status[data-state="up"]');
    decide(id);
    await page.waitForSelector(`article#${id}[data-status="denied"]`);
    expect(await page.locator('.status').first().textContent()).toBe('denied');
    expect(await page.locator('form.decide').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('counts pending calls in the tab title, live, as calls arrive and are decided', async () => {
    const first = await park();
    await open();
    await signIn();
    expect(await page.title()).toBe('(1) Pending · Portcullis');
    const second = await park({ args: { amount_cents: 99_000, currency: 'usd' } });
    await waitFor(async () => (await page.title()) === '(2) Pending · Portcullis', 'the title to count 2');
    decide(first);
    await waitFor(async () => (await page.title()) === '(1) Pending · Portcullis', 'the title to count 1');
    decide(second);
    await waitFor(async () => (await page.title()) === 'Pending · Portcullis', 'the title to count none');
    expect(problems).toEqual([]);
  });

  it('notifies of a new approval only after the button is clicked, and remembers the choice', async () => {
    await open(1280, { permissions: ['notifications'] });
    // Record what the page asks of the Notification API instead of showing system notifications
    // (a string: this runs in the page, whose DOM types the tests' tsconfig does not include).
    await page.addInitScript(`(() => {
      const Real = window.Notification;
      const seen = { asked: 0, shown: [] };
      window.__seen = seen;
      class Recorded extends EventTarget {
        static get permission() { return Real.permission; }
        static requestPermission() { seen.asked++; return Real.requestPermission(); }
        constructor(title, options) { super(); seen.shown.push({ title, body: options && options.body }); }
        close() {}
      }
      Object.defineProperty(window, 'Notification', { value: Recorded, configurable: true });
    })()`);
    await signIn();
    const seen = () => page.evaluate<{ asked: number; shown: unknown[] }>('window.__seen');
    expect((await seen()).asked).toBe(0);
    const button = page.locator('#notify-toggle');
    expect(await button.textContent()).toBe('Notify me of new approvals');
    await button.click();
    await waitFor(async () => (await button.textContent()) === 'Stop notifying me', 'notifications on');
    expect((await seen()).asked).toBe(1);
    expect(await page.evaluate('localStorage.getItem("portcullis.notify")')).toBe('on');
    await park();
    await waitFor(async () => (await seen()).shown.length === 1, 'a notification');
    expect((await seen()).shown).toEqual([
      { title: 'refunds.refund · support-bot', body: 'Refunds over $150 need a person' },
    ]);
    // Remembered across a reload; still never asked on load.
    await page.reload();
    await page.waitForSelector('#live-status[data-state="up"]');
    expect(await button.textContent()).toBe('Stop notifying me');
    expect((await seen()).asked).toBe(0);
    expect(problems).toEqual([]);
  });

  it.each([1280, 390])(
    'reads a payment and an edit_file call plainly at %i px (screenshots)',
    async (width) => {
      const payment = await park({
        server: 'stripe',
        tool: 'payment_links.create',
        args: {
          amount_cents: 1_234_56,
          currency: 'eur',
          description: 'Annual plan for ACME GmbH\nInvoice INV-2026-0042\nNet 30',
          customer: {
            id: 'cus_Q81x',
            email: 'billing@acme.example',
            address: { city: 'Berlin', country: 'DE' },
          },
          line_items: [{ price: 'price_annual', quantity: 3 }],
        },
        rule: 'payment-links-review',
        reason: 'Payment links over €500 need a person',
      });
      const edit = await park({
        server: 'filesystem',
        tool: 'edit_file',
        agent: 'coder',
        args: {
          path: '/srv/app/config/production.yml',
          edits: [
            {
              oldText: 'database:\n  host: db.internal\n  pool: 5\n  ssl: true\n',
              newText: 'database:\n  host: db.internal\n  pool: 50\n  ssl: false\n',
            },
            { oldText: 'log_level: info', newText: 'log_level: debug' },
          ],
          dryRun: false,
        },
        rule: 'config-edits',
        reason: 'Edits under /srv/app/config are reviewed',
      });
      await open(width);
      await signIn();
      await shot(`pending-${width}`);
      expect(await noSidewaysScroll()).toBeLessThanOrEqual(width);
      await page.goto(`${server.url}/approvals/${payment}`);
      expect(await page.locator('.arg-amount').textContent()).toBe('€1,234.56 (123,456 cents)');
      expect(await noSidewaysScroll()).toBeLessThanOrEqual(width);
      await shot(`payment-${width}`);
      await page.goto(`${server.url}/approvals/${edit}`);
      expect(await page.locator('.diff-line.del').first().textContent()).toBe('−  pool: 5');
      expect(await page.locator('.diff-line.add').first().textContent()).toBe('+  pool: 50');
      expect(await noSidewaysScroll()).toBeLessThanOrEqual(width);
      await shot(`edit-file-${width}`);
      expect(problems).toEqual([]);
    },
    // Screenshots of full pages are the slow part when the whole suite shares the machine.
    60_000,
  );
});
