// Real Chromium on the real proxy's UI: a held call's secret is masked, its look-alikes are readable, Reveal shows the secret on the record.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { artifactsDir } from '../helpers/temp.js';

const TOKEN = 'reveal-admin-token-0123456789abcdef';
const POLICY = `version: 2
default: deny
approval:
  timeout: 5m
rules:
  - id: accounts-need-a-person
    match: echo
    decision: review
    reason: "New accounts are checked by a person"
`;
const SECRET = 'Xq7-live-password-Zp92';
const BEARER = 'tok_9f8e7d6c5b4a3921';
const ARGS = {
  username: 'ada',
  password: SECRET,
  headers: [{ name: 'Authorization', value: `Bearer ${BEARER}` }],
  token_address: '0x52908400098527886E0F7030069857D2E4169EE7',
  max_tokens: 4096,
  token_count: 17,
  signature: 'Ada Lovelace, CFO',
  passenger: 'Grace Hopper',
  keyboard: 'dvorak',
};
const VISIBLE = [
  '0x52908400098527886E0F7030069857D2E4169EE7',
  '"max_tokens": 4096',
  '"token_count": 17',
  'Ada Lovelace, CFO',
  'Grace Hopper',
  'dvorak',
];

const SHOTS = artifactsDir();

let browser: Browser;
let proxy: TestProxy;
let client: Client;
let page: Page;
let problems: string[];

beforeAll(async () => {
  browser = await launchChromium();
  // Screenshots for a person to look at; printed so they can be found.
  process.stderr.write(`reveal screenshots: ${SHOTS}\n`);
});
afterAll(async () => {
  await browser?.close();
});

beforeEach(async () => {
  proxy = await startHttpProxy({
    policy: POLICY,
    ui: 0,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
  });
  client = await httpClient(proxy.url);
  page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const web = proxy.app.web;
  await page.goto(loginLinkFrom(proxy.logs));
  await page.fill('#reviewer', 'dana');
  await Promise.all([page.waitForURL(`${web?.url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('#live-status[data-state="up"]');
});

afterEach(async () => {
  await page.context().close();
  await client.close();
  await proxy.close();
});

async function auditFileText(): Promise<string> {
  await proxy.app.audit.checkpoint();
  return readFile(join(proxy.dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
}

describe('a held call with a real secret and harmless look-alikes', () => {
  it('shows the look-alikes, masks the secret, and Reveal shows it with a record in the audit log', async () => {
    // A client that cannot wait gets the approval id at once; the call stays pending.
    const held = await client.callTool({ name: 'echo', arguments: ARGS });
    const id = /ap_[0-9a-f]{16}/.exec(JSON.stringify(held.content))?.[0] as string;
    expect(id).toBeDefined();

    const card = page.locator(`article#${id}`);
    await card.waitFor({ state: 'visible' });
    const args = (await card.locator('.args pre').first().textContent()) ?? '';
    for (const visible of VISIBLE) expect(args).toContain(visible);
    expect(args).toMatch(/"password": "\[redacted\] hmac-sha256:[0-9a-f]{64}"/);
    const html = await page.content();
    expect(html).not.toContain(SECRET);
    expect(html).not.toContain(BEARER);
    expect(await card.locator('.masked-path').allTextContents()).toEqual(['/headers/0/value', '/password']);
    await page.screenshot({ path: join(SHOTS, 'reveal-1-masked.png'), fullPage: true });

    const row = card.locator('.masked-item', { has: page.locator('code', { hasText: /^\/password$/ }) });
    await row.locator('button', { hasText: 'Reveal' }).click();
    const shown = row.locator('pre.revealed');
    await shown.waitFor({ state: 'visible' });
    expect(await shown.textContent()).toBe(SECRET);
    expect(await row.locator('button').textContent()).toBe('Hide');
    // The other masked value stays masked until asked for.
    expect(await page.content()).not.toContain(BEARER);
    await page.screenshot({ path: join(SHOTS, 'reveal-2-revealed.png'), fullPage: true });

    // Hide and show again locally: no second request, no second record.
    await row.locator('button').click();
    await shown.waitFor({ state: 'hidden' });
    await row.locator('button', { hasText: 'Show' }).click();
    await shown.waitFor({ state: 'visible' });

    const records = (await queryAudit(join(proxy.dataDir, 'audit'), { event: 'approval', limit: 20 }))
      .records;
    const reveals = records.filter((r) => r.action === 'revealed');
    expect(reveals).toHaveLength(1);
    expect(reveals[0]).toMatchObject({
      approval_id: id,
      path: '/password',
      by: 'dana (browser)',
      tool: 'echo',
    });
    expect(JSON.stringify(reveals[0])).not.toContain(SECRET);
    const file = await auditFileText();
    expect(file).not.toContain(SECRET);
    expect(file).not.toContain(BEARER);
    expect(problems).toEqual([]);
  });

  it('reveals without script too: the form posts and the answer is a page with the value and the way back', async () => {
    const held = await client.callTool({ name: 'echo', arguments: ARGS });
    const id = /ap_[0-9a-f]{16}/.exec(JSON.stringify(held.content))?.[0] as string;
    const web = proxy.app.web;
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1200, height: 700 },
    });
    try {
      const plain = await context.newPage();
      await plain.goto(web?.loginUrl() as string);
      await Promise.all([plain.waitForURL(`${web?.url}/`), plain.click('button[type=submit]')]);
      const row = plain.locator(`article#${id} .masked-item`, {
        has: plain.locator('code', { hasText: /^\/headers\/0\/value$/ }),
      });
      await Promise.all([
        plain.waitForURL(`${web?.url}/approvals/${id}/reveal`),
        row.locator('button').click(),
      ]);
      expect(await plain.locator('h1').textContent()).toBe('Revealed value');
      expect(await plain.locator('pre.revealed').textContent()).toBe(`Bearer ${BEARER}`);
      expect(await plain.locator(`a[href="/approvals/${id}"]`).count()).toBe(1);
      await plain.screenshot({ path: join(SHOTS, 'reveal-3-without-script.png'), fullPage: true });
    } finally {
      await context.close();
    }
    const reveals = (
      await queryAudit(join(proxy.dataDir, 'audit'), { event: 'approval', limit: 20 })
    ).records.filter((r) => r.action === 'revealed');
    expect(reveals.map((r) => [r.path, r.by])).toEqual([['/headers/0/value', 'admin (browser)']]);
    expect(await auditFileText()).not.toContain(BEARER);
  });
});
