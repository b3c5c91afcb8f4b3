// Real Chromium on the Compliance page: the real proxy after a scripted run, at 1280 and 390 px, with screenshots.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentDirectory, AgentRecord, Incident, IncidentLog } from '../../src/governance/index.js';
import { serveWeb, WebAuth, type WebServer } from '../../src/web/index.js';
import { launchChromium, loginLinkFrom } from '../helpers/browser.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { artifactsDir, tempDir } from '../helpers/temp.js';

const TOKEN = 'compliance-browser-token-0123456789abcdef';
const ARTIFACTS = artifactsDir();
const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const AGENTS = ['support-bot', 'billing-agent', 'research-assistant-with-a-long-name'];
const POLICY = `version: 2
agents:
${AGENTS.map((a) => `  - { id: ${a}, key_sha256: "${sha(`${a}-key`)}", trust: medium }`).join('\n')}
rules:
  - { id: echo-ok, match: echo, decision: allow, reason: "harmless" }
  - { id: no-env-reads, match: env, decision: deny, reason: "no env" }
  - { id: never-crash-the-upstream, match: crash, decision: deny, reason: "no crash" }
  - { id: renames-need-a-person, match: rename, decision: review, reason: "a person renames" }
`;

let browser: Browser;
let proxy: TestProxy;
let web: WebServer;
let extra: WebServer | undefined;
const clients: Client[] = [];
const problems: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: join(tempDir().dir, 'fixture.jsonl'), PORTCULLIS_UI_TOKEN: TOKEN },
    upstreamTransport: inProcessFixtures(),
    ui: 0,
  });
  web = proxy.app.web as WebServer;
  for (const agent of AGENTS) {
    clients.push(await httpClient(proxy.url, { headers: { authorization: `Bearer ${agent}-key` } }));
  }
  const [support, billing, research] = clients as [Client, Client, Client];
  const call = (c: Client, name: string, args: Record<string, unknown> = {}) =>
    c.callTool({ name, arguments: args });
  for (let i = 0; i < 9; i++) await call(support, 'echo', { i });
  for (let i = 0; i < 4; i++) await call(billing, 'echo', { i });
  for (let i = 0; i < 3; i++) await call(billing, 'env', { i });
  await call(research, 'crash');
  await call(research, 'echo');
  const held: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = (await call(support, 'rename', { to: `n${i}` })) as { content: { text: string }[] };
    held.push(/Approval (ap_[0-9a-f]{16})/.exec(r.content[0]?.text ?? '')?.[1] as string);
  }
  const queue = proxy.app.approvals.queue;
  queue.decide(held[0] as string, { decision: 'approve', by: 'lead', note: null });
  queue.decide(held[1] as string, { decision: 'deny', by: 'lead', note: null });
});

afterAll(async () => {
  try {
    for (const c of clients) await c.close();
    await extra?.close();
    await proxy?.close();
  } finally {
    await browser?.close();
  }
});

async function signedIn(url: string, width: number): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(url);
  await page.fill('#reviewer', 'lead');
  await Promise.all([page.waitForURL(/\/$/), page.click('button[type=submit]')]);
  return page;
}

// Run in the page (as text: this project's TypeScript has no DOM types).
const OVERLAPS = `(() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    if (svg.getBoundingClientRect().width === 0) continue;
    const boxes = [...svg.querySelectorAll('text')].map((t) => ({ t: t.textContent, r: t.getBoundingClientRect() }));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r;
        const b = boxes[j].r;
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          found.push(boxes[i].t + ' / ' + boxes[j].t);
        }
      }
    }
  }
  return found;
})()`;
const SMALLEST_FONT = `(() => {
  let min = Infinity;
  for (const t of document.querySelectorAll('svg.chart text')) {
    const r = t.getBoundingClientRect();
    if (r.height > 0) min = Math.min(min, r.height);
  }
  return min;
})()`;

/** Texts of a chart (the drawing shown at this width) that overlap another of the same chart. */
const overlappingLabels = (page: Page) => page.evaluate(OVERLAPS) as Promise<string[]>;
/** The smallest rendered height of chart text, in CSS px. */
const smallestChartFont = (page: Page) => page.evaluate(SMALLEST_FONT) as Promise<number>;

describe('the Compliance page of a running proxy', () => {
  it('shows the tiles, the score formula and every chart at 1280 px; an agent row leads to its audit trail', async () => {
    const page = await signedIn(loginLinkFrom(proxy.logs), 1280);
    await Promise.all([page.waitForURL(`${web.url}/compliance`), page.click('nav a[href="/compliance"]')]);
    expect(await page.locator('nav a.active').textContent()).toBe('Compliance');
    expect(await page.locator('#tile-decisions .value').textContent()).toBe('21');
    expect(await page.locator('#tile-pending .value').textContent()).toBe('1');
    expect(await page.locator('#tile-policy .value').textContent()).toBe('4 rules');
    expect(await page.locator('#tile-agents .tile-note').textContent()).toBe('known to Portcullis');
    expect(await page.locator('#score .formula').textContent()).toContain('score = 100');
    for (const id of ['decisions', 'denied-tools', 'denying-rules', 'wait', 'pending']) {
      const figure = page.locator(`figure#${id}`);
      expect(await figure.locator('h2').textContent()).toBeTruthy();
      expect(await figure.locator('.chart-wide svg.chart').isVisible()).toBe(true);
      expect(await figure.locator('.chart-narrow svg.chart').isVisible()).toBe(false);
      expect(await figure.locator('svg.chart title').first().textContent()).toBeTruthy();
      expect(await figure.locator('svg.chart .axis-label').count()).toBeGreaterThan(0);
    }
    expect(await page.locator('figure#decisions .chart-legend li').allTextContents()).toEqual([
      'Allowed',
      'Denied',
      'Sent to review',
    ]);
    expect(await page.locator('figure#incidents .no-data').textContent()).toMatch(
      /^No incidents were opened in this window/,
    );
    expect(await overlappingLabels(page)).toEqual([]);
    expect(await smallestChartFont(page)).toBeGreaterThanOrEqual(10);
    await page.screenshot({ path: join(ARTIFACTS, 'compliance-1280.png'), fullPage: true });

    // The 7d window: chosen in the query string, the picker marks it.
    await Promise.all([page.waitForURL(/window=7d/), page.click('.window-picker a[href$="7d"]')]);
    expect(await page.locator('.window-picker a.on').textContent()).toBe('7d');
    expect(await page.locator('#tile-decisions .value').textContent()).toBe('21');

    await Promise.all([
      page.waitForURL(/\/audit\?agent=billing-agent/),
      page.click('table.agent-activity a[href="/audit?agent=billing-agent"]'),
    ]);
    const agents = await page
      .locator('table.audit tbody.record .agent, table.audit tbody.record td')
      .allTextContents();
    expect(agents.join(' ')).toContain('billing-agent');
    expect(agents.join(' ')).not.toContain('support-bot');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('is readable at 390 px: the narrow drawings, no overlapping labels, no sideways scroll', async () => {
    const page = await signedIn(web.loginUrl(), 390);
    await page.goto(`${web.url}/compliance`);
    expect(await page.locator('figure#decisions .chart-narrow svg.chart').isVisible()).toBe(true);
    expect(await page.locator('figure#decisions .chart-wide svg.chart').isVisible()).toBe(false);
    expect(await overlappingLabels(page)).toEqual([]);
    expect(await smallestChartFont(page)).toBeGreaterThanOrEqual(9);
    await page.screenshot({ path: join(ARTIFACTS, 'compliance-390.png'), fullPage: true });
    const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
    for (let i = 0; i * 900 < height; i++) {
      const clip = { x: 0, y: i * 900, width: 390, height: Math.min(900, height - i * 900) };
      await page.screenshot({ path: join(ARTIFACTS, `compliance-390-${i + 1}.png`), fullPage: true, clip });
    }
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it('shows agents, suspensions and incidents once a directory and an incident log are connected', async () => {
    const now = Date.now();
    const iso = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const records: AgentRecord[] = AGENTS.map((id, i) => ({
      id,
      source: 'registry',
      trust: 'medium',
      owner: null,
      env: null,
      created_at: iso(10_000),
      last_seen: iso(5),
      keys: [],
      suspension: i === 2 ? { incident: 'inc_3', reason: 'three high', at: iso(3), by: 'portcullis' } : null,
    }));
    records.push({ ...(records[0] as AgentRecord), id: 'idle-bot', last_seen: iso(90_000) });
    const directory: AgentDirectory = { list: () => records, get: (id) => records.find((r) => r.id === id) };
    const incident = (n: number, severity: Incident['severity'], status: Incident['status']): Incident => ({
      id: `inc_${n}`,
      agent: 'research-assistant-with-a-long-name',
      type: n % 2 ? 'rule_denial' : 'rate_limit',
      severity,
      description: `Denied by never-crash-the-upstream (${n})`,
      status,
      source: 'rule',
      rule: 'never-crash-the-upstream',
      correlation_id: null,
      count: 1,
      opened_at: iso(n * 30),
      opened_by: 'portcullis',
      acknowledged_at: null,
      acknowledged_by: null,
      resolved_at: null,
      resolved_by: null,
      suspended: n === 3,
    });
    const all = [
      incident(1, 'high', 'open'),
      incident(2, 'high', 'acknowledged'),
      incident(3, 'critical', 'open'),
      incident(4, 'medium', 'resolved'),
      incident(5, 'low', 'resolved'),
    ];
    const incidents: IncidentLog = {
      list: (f = {}) =>
        all.filter(
          (i) =>
            (f.status === undefined || i.status === f.status) &&
            (f.since === undefined || i.opened_at >= f.since),
        ),
      get: (id) => all.find((i) => i.id === id),
    };
    const queue = proxy.app.approvals.queue;
    extra = await serveWeb({
      queue,
      auth: new WebAuth({ token: TOKEN, db: queue.store.db }),
      port: 0,
      auditDir: join(proxy.dataDir, 'audit'),
      directory: () => directory,
      incidentLog: () => incidents,
    });
    for (const width of [1280, 390]) {
      const page = await signedIn(extra.loginUrl(), width);
      await page.goto(`${extra.url}/compliance`);
      expect(await page.locator('#tile-agents .value').textContent()).toBe('4');
      expect(await page.locator('#tile-active .value').textContent()).toBe('3');
      expect(await page.locator('#tile-suspended .value').textContent()).toBe('1');
      expect(await page.locator('#tile-violations .value').textContent()).toBe('5');
      expect(await page.locator('figure#incidents svg.chart').first().count()).toBe(1);
      expect(await page.locator('#recent-incidents li').count()).toBe(5);
      expect(
        await page
          .locator('table.agent-activity tr[data-agent="research-assistant-with-a-long-name"] .status')
          .textContent(),
      ).toBe('suspended');
      expect(await overlappingLabels(page)).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, `compliance-governed-${width}.png`), fullPage: true });
      await page.context().close();
    }
    expect(problems).toEqual([]);
  });
});
