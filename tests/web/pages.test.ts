// The pending page over a real queue: what a reviewer reads about each held call.
import { afterEach, describe, expect, it } from 'vitest';
import { BASE, type Harness, harness, park, signIn } from './helpers.js';

let h: Harness;
afterEach(() => h.close());

describe('pending page', () => {
  it('counts time left by the queue clock, the one expiry is judged by', async () => {
    // The queue's clock runs 30 minutes ahead of the wall clock; a 5 minute approval has 5:00 left.
    h = harness({}, { now: () => Date.now() + 30 * 60_000 });
    const id = await park(h);
    const { cookie } = await signIn(h);
    for (const path of ['/', '/fragments/pending']) {
      const page = await (await h.request(path, { headers: { cookie } })).text();
      const left = new RegExp(`id="${id}"[\\s\\S]*?class="countdown"[^>]*>([^<]*)<`).exec(page)?.[1];
      expect(left).toMatch(/^(5:00|4:59) left$/);
    }
  });
});

describe('pending page with many approvals', () => {
  const settings = {
    timeoutMs: 300_000,
    maxHoldMs: 0,
    retryWindowMs: 600_000,
    maxPendingPerAgent: 25,
    approveIn: 'ui' as const,
    grantMaxMs: 86_400_000,
  };

  async function flood(count: number, agent = 'support-bot'): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) ids.push(await park(h, { agent, args: { n } }));
    return ids;
  }
  const cardIds = (page: string) =>
    [...page.matchAll(/<article class="card approval" id="(ap_[0-9a-f]+)"/g)].map((m) => m[1]);

  it('shows the total, pages with Older/Newer, and a flood per agent with its cap and refusals', async () => {
    let now = Date.UTC(2026, 11, 1, 14, 2, 0);
    h = harness({}, { now: () => now++, settings: () => settings });
    const ids = await flood(25);
    for (let n = 0; n < 7; n++) {
      const refused = await h.queue.review({
        agent: 'support-bot',
        tool: 'refunds.refund',
        args: { extra: n },
        rule: null,
        reason: 'r',
        canWait: false,
      });
      expect(refused).toMatchObject({ kind: 'deny', cause: 'refused' });
    }
    const other = await park(h, { agent: 'billing-bot', args: { invoice: 'inv_77' } });
    expect(await (await h.request('/metrics')).text()).toContain(
      'portcullis_approval_events_total{kind="refused"} 7',
    );
    const { cookie } = await signIn(h);
    const get = async (path: string) => {
      const res = await h.request(path, { headers: { cookie } });
      return { status: res.status, text: await res.text() };
    };

    const first = await get('/');
    expect(first.text).toContain('<strong>26 pending</strong>');
    expect(first.text).toContain('showing 1–20, soonest to expire first');
    expect(cardIds(first.text)).toEqual(ids.slice(0, 20));
    // The flood is one line; the other agent is one click away.
    const row =
      /<li class="agent-row flood" data-agent="support-bot">([\s\S]*?)<\/li>/.exec(first.text)?.[1] ?? '';
    expect(row).toContain('25 pending');
    expect(row).toContain('cap reached (25)');
    expect(row).toContain('7 refused since');
    expect(row).toContain('2026-12-01 14:02 UTC');
    expect(first.text).toMatch(
      /<li class="agent-row" data-agent="billing-bot">[\s\S]*?href="\/\?agent=billing-bot"[\s\S]*?1 pending/,
    );

    const newer = /<a rel="next" href="([^"]+)"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&') as string;
    expect(newer).toMatch(/^\/\?cursor=/);
    expect(first.text).toContain('<span class="pager-off muted">← Older</span>');
    const second = await get(newer);
    expect(cardIds(second.text)).toEqual([...ids.slice(20), other]);
    expect(second.text).toContain('showing 21–26');
    // The live fragment for that page is the same page.
    const fragment = await get(`/fragments/pending${newer.slice(1)}`);
    expect(cardIds(fragment.text)).toEqual(cardIds(second.text));
    const older = /<a rel="prev" href="([^"]+)"/.exec(second.text)?.[1]?.replaceAll('&amp;', '&') as string;
    expect(cardIds((await get(older)).text)).toEqual(ids.slice(0, 20));

    // Filtered to the other agent: its call, its total, the way back to everyone.
    const filtered = await get('/?agent=billing-bot');
    expect(cardIds(filtered.text)).toEqual([other]);
    expect(filtered.text).toContain('<strong>1 pending from billing-bot</strong>');
    expect(filtered.text).toContain('26 from all agents');
  });

  it('returns to the same filtered page after a decision', async () => {
    h = harness({}, { settings: () => settings });
    await flood(3);
    const other = await park(h, { agent: 'billing-bot', args: { invoice: 'inv_1' } });
    const { cookie, csrf } = await signIn(h);
    const res = await h.request(`/approvals/${other}/decide`, {
      method: 'POST',
      headers: {
        cookie,
        origin: BASE,
        referer: `${BASE}/?agent=billing-bot&done=approved&id=ap_0000000000000000`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: csrf, decision: 'deny' }).toString(),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/?agent=billing-bot&done=denied&id=${other}`);
    // A foreign referer is ignored.
    const another = await park(h, { agent: 'billing-bot', args: { invoice: 'inv_2' } });
    const foreign = await h.request(`/approvals/${another}/decide`, {
      method: 'POST',
      headers: {
        cookie,
        origin: BASE,
        referer: 'http://evil.example/?agent=x',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ _csrf: csrf, decision: 'deny' }).toString(),
    });
    expect(foreign.headers.get('location')).toBe(`/?done=denied&id=${another}`);
  });

  it('answers a bad cursor or limit with 400, says why, and shows the first page', async () => {
    // A clock that moves per reading: two approvals parked in one millisecond would otherwise tie on expiry.
    let now = Date.now();
    h = harness({}, { now: () => now++, settings: () => settings });
    const ids = await flood(2);
    const { cookie } = await signIn(h);
    for (const path of ['/?cursor=garbage', '/?limit=0', '/?limit=101', '/?sort=newest']) {
      const res = await h.request(path, { headers: { cookie, accept: 'text/html' } });
      expect(res.status, path).toBe(400);
      const text = await res.text();
      expect(text, path).toContain('This link cannot be used:');
      expect(cardIds(text), path).toEqual(ids);
      // Live updates then follow the first page, not the broken link.
      expect(text).toContain('data-search=""');
    }
    expect((await h.request('/fragments/pending?cursor=garbage', { headers: { cookie } })).status).toBe(400);
  });
});
