// A resource read and a prompt get waiting for a person, in a real browser: labelled as what they are, decided like tool calls.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import type { ReviewRequest, ReviewVerdict } from '../../src/proxy/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { launchChromium } from '../helpers/browser.js';
import { artifactsDir, tempDir } from '../helpers/temp.js';

const ARTIFACTS = artifactsDir();
let browser: Browser;
let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let server: WebServer;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
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
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
});

afterAll(async () => {
  await page?.context().close();
  await server?.close();
  queue?.close();
  store?.close();
  tmp?.cleanup();
  await browser?.close();
});

function hold(
  request: Partial<ReviewRequest> & Pick<ReviewRequest, 'kind' | 'tool' | 'args'>,
): Promise<ReviewVerdict> {
  return queue.review({
    agent: 'research-bot',
    server: 'warehouse',
    rule: 'ask',
    reason: 'Production data needs a person',
    canWait: true,
    ...request,
  });
}

describe('resource and prompt approvals in the browser', () => {
  it('labels a resource read and a prompt get, and decides them', async () => {
    await page.goto(server.loginUrl());
    await page.fill('#reviewer', 'alice');
    await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
    const read = hold({ kind: 'resource', tool: 'db://prod/customers/8842', args: {} });
    const prompt = hold({
      kind: 'prompt',
      tool: 'deploy-release',
      args: { env: 'production', version: '2.4.1' },
      reason: 'Deploy prompts need a person',
    });
    const [readId, promptId] = ['db://prod/customers/8842', 'deploy-release'].map(
      (name) => queue.list({ status: 'pending' }).find((a) => a.tool === name)?.id as string,
    );
    const readCard = page.locator(`article#${readId}`);
    const promptCard = page.locator(`article#${promptId}`);
    await readCard.waitFor({ state: 'visible' });
    await promptCard.waitFor({ state: 'visible' });
    expect(await readCard.locator('h2').textContent()).toMatch(
      /resource read\s*warehouse\/db:\/\/prod\/customers\/8842/,
    );
    expect(await readCard.textContent()).toContain('run once, for this agent and this URI only');
    expect(await readCard.locator('pre').count()).toBe(0);
    expect(await promptCard.locator('h2').textContent()).toMatch(/prompt get\s*warehouse\/deploy-release/);
    expect(await promptCard.locator('pre').textContent()).toContain('"version": "2.4.1"');
    await page.screenshot({ path: join(ARTIFACTS, 'resource-prompt-pending.png'), fullPage: true });
    process.stderr.write(`[screenshot] ${join(ARTIFACTS, 'resource-prompt-pending.png')}\n`);

    await readCard.locator('button[value=approve]').click();
    expect((await read).kind).toBe('run');
    await promptCard.locator('button[value=deny]').click();
    expect((await prompt).kind).toBe('deny');
    await page.goto(`${server.url}/decided`);
    const rows = page.locator('table.decided tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator(`tr#${readId} .call`).textContent()).toContain('resource read');
    expect(await page.locator(`tr#${promptId} .call`).textContent()).toContain('prompt get');
    await page.screenshot({ path: join(ARTIFACTS, 'resource-prompt-decided.png'), fullPage: true });
    process.stderr.write(`[screenshot] ${join(ARTIFACTS, 'resource-prompt-decided.png')}\n`);
  });
});
