// GET /api/approvals pages through every approval (a keyset cursor in headers) and the total; bad paging is a 400.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalSettings } from '../../src/policy/types.js';
import { bearer, type Harness, harness, park } from './helpers.js';

let h: Harness;
let now: number;
let settings: ApprovalSettings;

beforeEach(() => {
  now = Date.UTC(2026, 11, 1, 9, 0, 0);
  settings = {
    timeoutMs: 300_000,
    maxHoldMs: 0,
    retryWindowMs: 600_000,
    maxPendingPerAgent: 1000,
    approveIn: 'ui',
    grantMaxMs: 86_400_000,
  };
  // The queue's clock moves a millisecond per reading, so every approval has its own created/expiry time.
  h = harness({}, { now: () => now++, settings: () => settings });
});
afterEach(() => h.close());

type Listed = { id: string; agent: string; status: string; expires_at: string };

async function list(path: string): Promise<{ body: Listed[]; res: Response }> {
  const res = await h.request(path, bearer());
  expect(res.status, await res.clone().text()).toBe(200);
  return { body: (await res.json()) as Listed[], res };
}

/** The rel="next" (or "prev") target of a Link header, as a path to request. */
function linkOf(res: Response, rel: string): string | undefined {
  const header = res.headers.get('link') ?? '';
  return new RegExp(`<([^>]+)>; rel="${rel}"`).exec(header)?.[1];
}

async function parkMany(count: number, agent = 'support-bot', from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + count; n++) ids.push(await park(h, { agent, args: { n } }));
  return ids;
}

describe('GET /api/approvals paging', () => {
  it('pages through all of a flood with X-Total-Count, X-Next-Cursor and Link, soonest expiry first', async () => {
    const ids = await parkMany(250);
    const first = await list('/api/approvals?status=pending');
    expect(first.body).toHaveLength(100);
    expect(first.res.headers.get('x-total-count')).toBe('250');
    const cursor = first.res.headers.get('x-next-cursor');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(linkOf(first.res, 'next')).toBe(`/api/approvals?status=pending&cursor=${cursor}`);
    expect(linkOf(first.res, 'prev')).toBeUndefined();

    const seen = first.body.map((a) => a.id);
    let next = linkOf(first.res, 'next');
    let pages = 1;
    while (next !== undefined) {
      const page = await list(next);
      expect(page.res.headers.get('x-total-count')).toBe('250');
      seen.push(...page.body.map((a) => a.id));
      next = linkOf(page.res, 'next');
      if (next === undefined) expect(page.res.headers.get('x-next-cursor')).toBeNull();
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);

    // limit up to 1000 in one page; the body is still the documented array.
    const all = await list('/api/approvals?limit=1000');
    expect(all.body.map((a) => a.id)).toEqual(ids);
    expect(Object.keys(all.body[0] ?? {})).toEqual(
      expect.arrayContaining([
        'id',
        'status',
        'server',
        'tool',
        'args',
        'agent',
        'rule',
        'reason',
        'created_at',
        'expires_at',
      ]),
    );
    expect(all.res.headers.get('x-next-cursor')).toBeNull();
  });

  it('puts the approval that expires first on the first page, however many newer ones follow', async () => {
    await parkMany(150);
    settings = { ...settings, timeoutMs: 60_000 }; // a reload shortened the timeout
    const urgent = await park(h, { agent: 'billing-bot', args: { urgent: true } });
    const { body, res } = await list('/api/approvals?limit=10');
    expect(body[0]?.id).toBe(urgent);
    expect(res.headers.get('x-total-count')).toBe('151');
  });

  it('keeps a cursor exact while approvals arrive and are decided: nothing twice, nothing skipped', async () => {
    const ids = await parkMany(30);
    const page1 = await list('/api/approvals?limit=10');
    expect(page1.body.map((a) => a.id)).toEqual(ids.slice(0, 10));
    // Meanwhile: new calls arrive, reviewers decide some on this page and on the next.
    const later = await parkMany(5, 'support-bot', 100);
    for (const id of [ids[0], ids[4], ids[12]] as string[])
      h.queue.decide(id, { decision: 'deny', by: 'bob' });

    const page2 = await list(linkOf(page1.res, 'next') as string);
    expect(page2.body.map((a) => a.id)).toEqual([...ids.slice(10, 12), ...ids.slice(13, 21)]);
    expect(page2.res.headers.get('x-total-count')).toBe(String(30 + 5 - 3));
    const rest: string[] = [];
    let next = linkOf(page2.res, 'next');
    while (next !== undefined) {
      const page = await list(next);
      rest.push(...page.body.map((a) => a.id));
      next = linkOf(page.res, 'next');
    }
    expect(rest).toEqual([...ids.slice(21), ...later]);

    // rel="prev" leads back to the first page as it is now: full, so it now reaches into the old page 2.
    const back = await list(linkOf(page2.res, 'prev') as string);
    const open = ids.filter((id) => ![ids[0], ids[4], ids[12]].includes(id));
    expect(back.body.map((a) => a.id)).toEqual(open.slice(0, 10));
    expect(linkOf(back.res, 'prev')).toBeUndefined();
  });

  it('goes back exactly one page with rel="prev" in the middle of the list', async () => {
    const ids = await parkMany(35);
    const page1 = await list('/api/approvals?limit=10');
    const page2 = await list(linkOf(page1.res, 'next') as string);
    const page3 = await list(linkOf(page2.res, 'next') as string);
    expect(page3.body.map((a) => a.id)).toEqual(ids.slice(20, 30));
    const back = await list(linkOf(page3.res, 'prev') as string);
    expect(back.body.map((a) => a.id)).toEqual(ids.slice(10, 20));
    expect(linkOf(back.res, 'next')).toBeDefined();
    expect((await list(linkOf(back.res, 'prev') as string)).body.map((a) => a.id)).toEqual(ids.slice(0, 10));
  });

  it('filters by agent, with that agent’s total', async () => {
    await parkMany(12, 'support-bot');
    const other = await park(h, { agent: 'billing-bot', args: { x: 1 } });
    const { body, res } = await list('/api/approvals?agent=billing-bot');
    expect(body.map((a) => a.id)).toEqual([other]);
    expect(res.headers.get('x-total-count')).toBe('1');
    const flood = await list('/api/approvals?agent=support-bot&limit=5');
    expect(flood.res.headers.get('x-total-count')).toBe('12');
    expect(linkOf(flood.res, 'next')).toMatch(
      /^\/api\/approvals\?status=pending&agent=support-bot&limit=5&cursor=/,
    );
  });

  it('pages decided approvals newest decision first', async () => {
    const ids = await parkMany(7);
    for (const id of ids) h.queue.decide(id, { decision: 'approve', by: 'alice' });
    const page1 = await list('/api/approvals?status=approved&limit=4');
    expect(page1.body.map((a) => a.id)).toEqual([...ids].reverse().slice(0, 4));
    expect(page1.res.headers.get('x-total-count')).toBe('7');
    const page2 = await list(linkOf(page1.res, 'next') as string);
    expect(page2.body.map((a) => a.id)).toEqual([...ids].reverse().slice(4));
  });

  it('answers 400 with a clear message for a bad limit, cursor or parameter, never an unpaged list', async () => {
    await parkMany(3);
    await park(h, { args: { decided: true } }).then((id) =>
      h.queue.decide(id, { decision: 'deny', by: 'bob' }),
    );
    const denied = await list('/api/approvals?status=denied&limit=1');
    const pending = await list('/api/approvals?limit=1');
    const deniedCursor = denied.res.headers.get('x-next-cursor');
    const pendingCursor = pending.res.headers.get('x-next-cursor') as string;
    expect(deniedCursor).toBeNull(); // only one denied approval
    const forged = Buffer.from(JSON.stringify([1, 'denied', 'n', 0, 'ap_0000000000000000'])).toString(
      'base64url',
    );
    const cases: [string, RegExp][] = [
      ['/api/approvals?limit=0', /limit must be a whole number from 1 to 1000/],
      ['/api/approvals?limit=1001', /limit must be a whole number from 1 to 1000/],
      ['/api/approvals?limit=ten', /limit must be a whole number/],
      ['/api/approvals?limit=-5', /limit must be a whole number/],
      ['/api/approvals?cursor=not-a-cursor', /cursor is not one this server handed out/],
      [`/api/approvals?cursor=${pendingCursor}x`, /cursor is not one this server handed out/],
      [`/api/approvals?cursor=${'A'.repeat(300)}`, /cursor is not one this server handed out/],
      [
        `/api/approvals?status=pending&cursor=${forged}`,
        /cursor belongs to the list of denied approvals, not pending/,
      ],
      [`/api/approvals?status=approved&cursor=${pendingCursor}`, /belongs to the list of pending approvals/],
      ['/api/approvals?stauts=approved', /unknown parameter "stauts"/],
      ['/api/approvals?limit=5&limit=6', /"limit" is given more than once/],
      ['/api/approvals?status=bogus', /status must be one of pending, approved, denied, expired, withdrawn/],
    ];
    for (const [path, message] of cases) {
      const res = await h.request(path, bearer());
      expect(res.status, path).toBe(400);
      const body = (await res.json()) as { error: string; code: string };
      expect(body.error, path).toMatch(message);
      expect(body.code, path).toBe('E_APPROVAL_QUERY');
    }
  });
});
