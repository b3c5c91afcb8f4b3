// The two-person rule end to end: a real MCP client through the real proxy, two reviewer accounts in two Chromium contexts.
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { Reviewers, SqliteReviewerStore } from '../../src/reviewers/index.js';
import type { WebServer } from '../../src/web/index.js';
import { launchChromium } from '../helpers/browser.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

const TOKEN = 'two-person-admin-token-0123456789abcdef';
const POLICY = `version: 2
default: deny
approval: { timeout: 2m }
rules:
  - id: emails-need-two-people
    match: send
    decision: review
    approvers: 2
    reason: "Emails to customers need two people"
  - { match: "*", decision: allow }
`;

let browser: Browser;
let proxy: FixtureProxy | undefined;
let client: Client | undefined;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  await client?.close();
  await proxy?.close();
});

async function person(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  return context.newPage();
}

describe('approvers: 2 through the proxy', () => {
  it('alice approves (still pending, 1 of 2, no second approve), bob approves, the upstream runs it once', async () => {
    proxy = await startFixtureProxy({
      policy: POLICY,
      ui: 0,
      env: { PORTCULLIS_UI_TOKEN: TOKEN, FIXTURE_EXTRA_TOOLS: 'send' },
    });
    const web = proxy.app.web as WebServer;
    // The accounts, made as the CLI makes them: on the data dir's governance.db, beside the running proxy.
    const accounts = new Reviewers({ store: SqliteReviewerStore.inDataDir(proxy.dataDir) });
    const alice = await accounts.add({ name: 'alice' }, 'test');
    const bob = await accounts.add({ name: 'bob', password: 'bob has a long password' }, 'test');
    await accounts.add({ name: 'carol', password: 'carol has a long password', token: true }, 'test');
    accounts.close();

    // The admin's Reviewers page.
    const admin = await person();
    await admin.goto(`${web.url}/login`);
    await admin.fill('#token', TOKEN);
    await Promise.all([admin.waitForURL(`${web.url}/`), admin.click('button[type=submit]')]);
    await admin.click('nav a[href="/reviewers"]');
    await admin.waitForSelector('table.reviewers');
    expect(await admin.locator('table.reviewers tbody tr').count()).toBe(3);
    await admin.screenshot({ path: join(artifactsDir(), 'reviewers-page.png'), fullPage: true });
    // Adding one from the page shows its token once.
    await admin.fill('#r-name', 'dave');
    await Promise.all([admin.waitForLoadState('load'), admin.click('button:has-text("Add reviewer")')]);
    const shown = await admin.locator('.key-once input.key').inputValue();
    expect(shown).toMatch(/^pcr_/);
    await admin.screenshot({ path: join(artifactsDir(), 'reviewers-token-once.png'), fullPage: true });

    client = await httpClient(proxy.url);
    const call = client.request(
      {
        method: 'tools/call',
        params: { name: 'send', arguments: { to: 'c_42', body: 'Your refund is on its way' } },
      },
      CallToolResultSchema,
      { onprogress: () => {}, resetTimeoutOnProgress: true, timeout: 60_000 },
    );

    // Alice, with her personal token.
    const a = await person();
    await a.goto(`${web.url}/login`);
    await a.screenshot({ path: join(artifactsDir(), 'sign-in.png'), fullPage: true });
    await a.fill('#token', alice.token as string);
    await Promise.all([a.waitForURL(`${web.url}/`), a.click('button[type=submit]')]);
    expect(await a.locator('nav a[href="/reviewers"]').count()).toBe(0);
    const card = a.locator('article.approval').first();
    await card.waitFor({ state: 'visible' });
    const id = (await card.getAttribute('id')) as string;
    await Promise.all([a.waitForURL(/done=pending/), card.locator('button[value=approve]').click()]);
    const after = a.locator(`article#${id}`);
    await expect.poll(() => after.locator('.votes').textContent()).toContain('1 of 2 approvals: alice');
    expect(await after.locator('.votes').textContent()).toContain('You approved this already');
    expect(await after.locator('button[value=approve]').count()).toBe(0);
    expect(await after.locator('button[value=deny]').count()).toBe(1);
    expect(await a.locator('.flash.ok').textContent()).toContain('needs a second, different reviewer');
    await a.screenshot({ path: join(artifactsDir(), 'two-person-half-approved.png'), fullPage: true });
    expect(proxy.app.approvals.queue.store.get(id)?.status).toBe('pending');
    expect(await callsOf(proxy.fixtureLog, 'send')).toBe(0);
    // An admin page is closed to her.
    const closed = await a.goto(`${web.url}/reviewers`);
    expect(closed?.status()).toBe(403);
    expect(await a.textContent('main')).toContain('Only the admin can open this');

    // Bob, with his name and password, in another browser context.
    const b = await person();
    await b.goto(`${web.url}/login`);
    await b.fill('#account', 'bob');
    await b.fill('#password', 'bob has a long password');
    await Promise.all([b.waitForURL(`${web.url}/`), b.click('button:has-text("Sign in with password")')]);
    const bobCard = b.locator(`article#${id}`);
    await bobCard.waitFor({ state: 'visible' });
    expect(await bobCard.locator('.votes').textContent()).toContain('1 of 2 approvals: alice');
    await Promise.all([b.waitForURL(/done=approved/), bobCard.locator('button[value=approve]').click()]);

    const result = await call;
    expect(result.isError, resultText(result)).not.toBe(true);
    expect(resultText(result)).toContain('Your refund is on its way');
    await expect.poll(() => callsOf(proxy?.fixtureLog as string, 'send')).toBe(1);
    const approval = proxy.app.approvals.queue.store.get(id);
    expect(approval?.decidedById).toBe(bob.reviewer.id);
    expect(approval?.votes.map((v) => v.reviewerId)).toEqual([alice.reviewer.id, bob.reviewer.id]);

    const audit = await queryAudit(join(proxy.dataDir, 'audit'), { event: 'approval', limit: 100 });
    // Oldest first; the records after the decision (released, executed) say the call ran.
    const trail = audit.records
      .filter((r) => r.approval_id === id)
      .sort((x, y) => x.seq - y.seq)
      .map((r) => [r.status, r.reviewer ?? null]);
    expect(trail).toEqual([
      ['pending', null],
      ['voted', alice.reviewer.id],
      ['approved', bob.reviewer.id],
      ['released', null],
      ['executed', null],
    ]);
    await b.goto(`${web.url}/decided`);
    await b.screenshot({ path: join(artifactsDir(), 'two-person-decided.png'), fullPage: true });
    // The approved row names both ("alice + bob"); a vote line is kept for those a deny or expiry cut short.
    expect(await b.locator(`tr#${id}`).textContent()).toContain('alice + bob');
    // Exactly once: nothing more arrives after the approval ran.
    expect(await callsOf(proxy.fixtureLog, 'send')).toBe(1);
  });
});
