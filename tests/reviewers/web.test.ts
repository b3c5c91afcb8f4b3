// Reviewer accounts through a real Hono app: sign-in by token, password and admin token; roles; disabled sessions; votes.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import type { Elicit } from '../../src/proxy/index.js';
import { Reviewers, SqliteReviewerStore } from '../../src/reviewers/index.js';
import { buildWebApp, type WebApp, WebAuth } from '../../src/web/index.js';
import { RecordingAuditSink } from '../approvals/helpers.js';
import { type TempDir, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { BASE, bearer, form, HOST, TOKEN } from '../web/helpers.js';

let tmp: TempDir;
let store: ApprovalStore;
let queue: ApprovalQueue;
let reviewers: Reviewers;
let audit: RecordingAuditSink;
let web: WebApp;

function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('host')) headers.set('host', HOST);
  return Promise.resolve(web.app.request(`${BASE}${path}`, { ...init, headers }));
}

beforeEach(() => {
  tmp = tempDir('portcullis-reviewers-web-');
  audit = new RecordingAuditSink();
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  queue = new ApprovalQueue({ store, audit, uiUrl: () => BASE, pollIntervalMs: 50 });
  reviewers = new Reviewers({ store: SqliteReviewerStore.inDataDir(tmp.dir), audit });
  const auth = new WebAuth({ token: TOKEN, db: store.db, reviewers });
  web = buildWebApp({ queue, auth, allowedHosts: () => [HOST] });
});

afterEach(() => {
  web.close();
  queue.close();
  store.close();
  reviewers.close();
  tmp.cleanup();
});

interface Signed {
  cookie: string;
  csrf: string;
  page: string;
}

async function signInWith(fields: Record<string, string>): Promise<Signed> {
  const res = await request('/login', form(fields));
  expect(res.status, await res.clone().text()).toBe(303);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = await (await request('/', { headers: { cookie } })).text();
  const csrf = /data-csrf="([^"]+)"/.exec(page)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { cookie, csrf, page };
}

function post(s: Signed, path: string, fields: Record<string, string> = {}): Promise<Response> {
  const init = form({ _csrf: s.csrf, ...fields });
  return request(path, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), cookie: s.cookie },
  });
}

async function park(approvers: 1 | 2 = 2): Promise<string> {
  const verdict = await queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'customers.email',
    args: { customer_id: 'c_1', subject: 'Hello', body: 'Hi' },
    rule: 'email-two-person',
    reason: 'Emails to customers need two people',
    canWait: false,
    approvers,
  });
  if (verdict.approvalId === undefined) throw new Error('not parked');
  return verdict.approvalId;
}

describe('signing in as a reviewer', () => {
  it('by personal token, by name and password, and as the admin with the admin token', async () => {
    const { token } = await reviewers.add({ name: 'alice' }, 'admin');
    await reviewers.add({ name: 'bob', password: 'bob has a long password' }, 'admin');

    const alice = await signInWith({ token: token as string, reviewer: 'ignored' });
    expect(alice.page).toContain('<span class="who">alice</span>');
    expect(alice.page).not.toContain('href="/reviewers"');
    const bob = await signInWith({ account: 'bob', password: 'bob has a long password' });
    expect(bob.page).toContain('<span class="who">bob</span>');
    const admin = await signInWith({ token: TOKEN, reviewer: 'lead' });
    expect(admin.page).toContain('<span class="who">lead</span>');
    expect(admin.page).toContain('href="/reviewers"');
    expect(reviewers.find('alice')?.last_sign_in).not.toBeNull();
  });

  it('refuses a wrong password, an unknown name and a wrong token, saying which', async () => {
    await reviewers.add({ name: 'bob', password: 'bob has a long password' }, 'admin');
    const wrong = await request('/login', form({ account: 'bob', password: 'bob has a long passworD' }));
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That reviewer name and password do not match an active account.');
    const unknown = await request('/login', form({ account: 'nobody', password: 'bob has a long password' }));
    expect(unknown.status).toBe(401);
    const token = await request('/login', form({ token: 'pcr_not-a-real-token' }));
    expect(token.status).toBe(401);
    expect(await token.text()).toContain('That token is not right');
  });

  it("a disabled reviewer's session and token stop working on the next request", async () => {
    const { token } = await reviewers.add({ name: 'alice' }, 'admin');
    const alice = await signInWith({ token: token as string });
    expect((await request('/', { headers: { cookie: alice.cookie } })).status).toBe(200);
    expect((await request('/api/approvals', bearer({}, token))).status).toBe(200);
    // Disabled from another connection to governance.db, as `portcullis reviewers disable` does beside a running UI.
    const other = new Reviewers({ store: SqliteReviewerStore.inDataDir(tmp.dir) });
    await other.disable('alice', 'admin');
    other.close();
    expect((await request('/', { headers: { cookie: alice.cookie } })).status).toBe(401);
    expect((await request('/api/approvals', bearer({}, token))).status).toBe(401);
    // Enabling again does not bring the ended session back: it was destroyed.
    await reviewers.enable('alice', 'admin');
    expect((await request('/', { headers: { cookie: alice.cookie } })).status).toBe(401);
    await reviewers.remove('alice', 'admin');
    expect((await request('/api/approvals', bearer({}, token))).status).toBe(401);
  });
});

describe('roles', () => {
  it('answers 403 to a reviewer on admin pages and APIs, with a clear page', async () => {
    const { token } = await reviewers.add({ name: 'alice' }, 'admin');
    const alice = await signInWith({ token: token as string });
    for (const path of ['/reviewers', '/agents', '/policy', '/pins', '/incidents']) {
      const res = await request(path, { headers: { cookie: alice.cookie, accept: 'text/html' } });
      expect(res.status, path).toBe(403);
      const page = await res.text();
      expect(page).toContain('Only the admin can open this. You are signed in as alice, a reviewer account');
      expect(page).toContain('<span class="who">alice</span>');
    }
    const add = await post(alice, '/reviewers/add', { name: 'mallory' });
    expect(add.status).toBe(403);
    expect(reviewers.find('mallory')).toBeUndefined();
    for (const path of ['/api/reviewers', '/api/agents', '/api/policy', '/api/incidents', '/api/pins']) {
      const res = await request(path, { headers: { cookie: alice.cookie } });
      expect(res.status, path).toBe(403);
      expect(await res.json()).toMatchObject({ code: 'E_ADMIN_ONLY' });
    }
    // The reviewer's own token as a Bearer: approvals only.
    expect((await request('/api/approvals', bearer({}, token))).status).toBe(200);
    for (const path of ['/api/reviewers', '/api/audit', '/api/compliance', '/api/agents']) {
      expect((await request(path, bearer({}, token))).status, path).toBe(403);
    }
    const create = await request(
      '/api/reviewers',
      bearer(
        {
          method: 'POST',
          body: JSON.stringify({ name: 'mallory' }),
          headers: { 'content-type': 'application/json' },
        },
        token,
      ),
    );
    expect(create.status).toBe(403);
    // Near misses of what is open stay closed: the list names paths, not prefixes of names.
    for (const path of [
      '/reviewers/',
      '//reviewers',
      '/approvals/%2e%2e/reviewers',
      '/api/approvalsx',
      '/decidedx',
    ]) {
      const res = await request(path, { headers: { cookie: alice.cookie } });
      expect(res.status, path).not.toBe(200);
      expect(await res.text(), path).not.toContain('Add a reviewer');
    }
    // What a reviewer may open.
    for (const path of ['/', '/decided', '/audit', '/compliance']) {
      const res = await request(path, { headers: { cookie: alice.cookie } });
      expect(res.status, path).not.toBe(403);
    }
  });

  it('lets the admin manage reviewers through /api/reviewers with the admin token', async () => {
    const json = (body: unknown) => ({
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    const created = await request('/api/reviewers', bearer(json({ name: 'carol' })));
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const body = (await created.json()) as { reviewer: { id: string }; token: string };
    expect(body.token).toMatch(/^pcr_/);
    const id = body.reviewer.id;
    expect((await request(`/api/reviewers/${id}/password`, bearer(json({ password: 'short' })))).status).toBe(
      400,
    );
    expect(
      (await request(`/api/reviewers/${id}/password`, bearer(json({ password: 'carol long password' }))))
        .status,
    ).toBe(200);
    expect((await request(`/api/reviewers/${id}/disable`, bearer({ method: 'POST' }))).status).toBe(200);
    const list = (await (await request('/api/reviewers', bearer())).json()) as Array<Record<string, unknown>>;
    expect(list).toEqual([
      expect.objectContaining({
        id,
        name: 'carol',
        credentials: ['token', 'password'],
        disabled_at: expect.any(String),
      }),
    ]);
    expect(JSON.stringify(list)).not.toContain('scrypt');
    expect((await request(`/api/reviewers/${id}/enable`, bearer({ method: 'POST' }))).status).toBe(200);
    const fresh = await request(`/api/reviewers/${id}/token`, bearer({ method: 'POST' }));
    expect(((await fresh.json()) as { token: string }).token).not.toBe(body.token);
    expect((await request('/api/reviewers', bearer(json({ name: 'carol' })))).status).toBe(409);
    expect((await request(`/api/reviewers/${id}`, bearer({ method: 'DELETE' }))).status).toBe(200);
    expect((await request(`/api/reviewers/${id}`, bearer({ method: 'DELETE' }))).status).toBe(404);
    const actions = audit.events.filter((e) => e.event === 'reviewer').map((e) => e.action);
    expect(actions).toEqual([
      'added',
      'token_issued',
      'password_set',
      'disabled',
      'enabled',
      'token_issued',
      'removed',
    ]);
    expect(JSON.stringify(audit.events)).not.toContain(body.token);
  });

  it('the Reviewers page adds an account and shows its token once', async () => {
    const admin = await signInWith({ token: TOKEN });
    const res = await post(admin, '/reviewers/add', { name: 'dana', password: '' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    const token = /value="(pcr_[^"]+)"/.exec(page)?.[1];
    expect(token).toBeDefined();
    expect(reviewers.byToken(token as string)?.name).toBe('dana');
    const again = await (await request('/reviewers', { headers: { cookie: admin.cookie } })).text();
    expect(again).toContain('dana');
    expect(again).not.toContain(token as string);
    const weak = await post(admin, `/reviewers/${reviewers.find('dana')?.id}/password`, {
      password: 'short',
    });
    expect(weak.status).toBe(400);
    expect(await weak.text()).toContain('a password needs at least 12 characters');
  });
});

describe('the two-person rule in the web app', () => {
  it('a first approve is a vote shown as "1 of 2"; the voter cannot approve again; a second account settles it', async () => {
    const { token: aliceToken } = await reviewers.add({ name: 'alice' }, 'admin');
    const { token: bobToken } = await reviewers.add({ name: 'bob' }, 'admin');
    const id = await park(2);
    const alice = await signInWith({ token: aliceToken as string });
    const voted = await post(alice, `/approvals/${id}/decide`, { decision: 'approve' });
    expect(voted.status).toBe(303);
    expect(queue.get(id)?.status).toBe('pending');
    const page = await (
      await request(voted.headers.get('location') ?? '/', { headers: { cookie: alice.cookie } })
    ).text();
    expect(page).toContain('Your approval of');
    expect(page).toMatch(/1 of 2 approvals<\/span>: alice/);
    expect(page).toContain('You approved this already');
    const card = page.slice(page.indexOf(`id="${id}"`));
    expect(card).not.toContain('value="approve"');
    expect(card).toContain('value="deny"');
    // Pressing it anyway (a stale page): 409 with the reason.
    const twice = await post(alice, `/approvals/${id}/decide`, { decision: 'approve' });
    expect(twice.status).toBe(409);
    const refusal = await twice.text();
    expect(refusal).toContain('alice already approved');
    expect(refusal).toContain('Nothing was recorded');
    expect(refusal).toContain('<span class="who">alice</span>');
    // Bob through the API with his own token.
    const bob = await request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }, bobToken));
    expect(await bob.json()).toEqual({ id, status: 'approved' });
    const approval = queue.get(id);
    expect(approval?.decidedById).toBe(reviewers.find('bob')?.id);
    const statuses = audit.events.filter((e) => e.approval_id === id).map((e) => [e.status, e.reviewer]);
    expect(statuses).toEqual([
      ['pending', undefined],
      ['voted', reviewers.find('alice')?.id],
      ['approved', reviewers.find('bob')?.id],
    ]);
  });

  it('the admin token on the API is one account: it may vote once, not twice', async () => {
    const id = await park(2);
    const first = await request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }));
    expect(await first.json()).toEqual({ id, status: 'pending' });
    const shown = (await (await request(`/api/approvals/${id}`, bearer())).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({
      approvers: 2,
      votes: [{ reviewer: 'admin', name: 'admin' }],
      decided_by_id: null,
    });
    const second = await request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }));
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: 'E_APPROVAL_ALREADY_VOTED' });
  });

  it('answers 409 E_APPROVAL_IN_CLIENT to an approve of a client-kept approval', async () => {
    // Kept in the client only while the client can be asked: a question nobody answers holds it there.
    const never: Elicit = (_q, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const held = queue.review({
      agent: 'support-bot',
      server: 'payments',
      tool: 'customers.email',
      args: { customer_id: 'c_2' },
      rule: 'in-client',
      reason: 'approve in the client',
      canWait: false,
      approveIn: 'client',
      elicit: never,
    });
    const id = await waitFor(
      () => queue.store.list({ status: 'pending' }).find((a) => a.approveIn === 'client')?.id,
      'the client-kept approval',
    );
    const res = await request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({
      code: 'E_APPROVAL_IN_CLIENT',
      error: expect.stringContaining('client'),
    });
    expect((await request(`/api/approvals/${id}/deny`, bearer({ method: 'POST' }))).status).toBe(200);
    expect((await held).kind).toBe('deny');
  });
});
