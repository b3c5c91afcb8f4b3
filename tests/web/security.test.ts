// Each attack on the UI and admin API named in DESIGN 5, and proof that it is refused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE, bearer, form, type Harness, harness, park, signIn, TOKEN } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = harness({ policyStatus: () => ({ sha256: 'f'.repeat(64), loadedAt: Date.now(), errors: [] }) });
});
afterEach(() => h.close());

describe('authentication', () => {
  it('answers 401 without credentials, on pages and on the API', async () => {
    const id = await park(h);
    expect((await h.request('/api/approvals')).status).toBe(401);
    expect((await h.request(`/api/approvals/${id}/approve`, { method: 'POST' })).status).toBe(401);
    expect((await h.request('/api/approvals', bearer({}, `${TOKEN}x`))).status).toBe(401);
    expect((await h.request('/api/approvals', { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    const page = await h.request('/');
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('Sign in');
    expect((await h.request('/decided')).status).toBe(401);
    expect((await h.request('/events')).status).toBe(401);
    expect((await h.request(`/approvals/${id}/decide`, form({ decision: 'approve' }))).status).toBe(401);
    expect(h.store.get(id)?.status).toBe('pending');
  });

  it('signs in once per one-time code, with a HttpOnly SameSite=Strict cookie and a clean redirect', async () => {
    const url = new URL(h.auth.loginUrl(BASE));
    expect(url.pathname).toBe('/login');
    const code = url.searchParams.get('code') ?? '';
    expect(code).not.toBe(TOKEN);
    expect(url.toString()).not.toContain(TOKEN);

    const first = await h.request('/login', form({ code, reviewer: 'alice' }));
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^portcullis_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(TOKEN);

    const reused = await h.request('/login', form({ code, reviewer: 'mallory' }));
    expect(reused.status).toBe(401);
    expect(reused.headers.get('set-cookie')).toBeNull();
  });

  it('accepts the admin token in the sign-in form, refuses a wrong one', async () => {
    expect((await h.request('/login', form({ token: 'wrong-token-wrong-token' }))).status).toBe(401);
    expect((await h.request('/login', form({ token: TOKEN }))).status).toBe(303);
  });

  it('signs out: the session cookie stops working', async () => {
    const { cookie, csrf } = await signIn(h);
    const out = await h.request('/logout', {
      ...form({ _csrf: csrf }),
      headers: { ...form({}).headers, cookie },
    });
    expect(out.status).toBe(303);
    expect((await h.request('/', { headers: { cookie } })).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses cookie-authenticated state changes without the session CSRF token', async () => {
    const id = await park(h);
    const { cookie, csrf } = await signIn(h);
    const post = (fields: Record<string, string>) => {
      const init = form(fields);
      return h.request(`/approvals/${id}/decide`, { ...init, headers: { ...init.headers, cookie } });
    };
    expect((await post({ decision: 'approve' })).status).toBe(403);
    expect((await post({ decision: 'approve', _csrf: 'forged' })).status).toBe(403);
    const api = (headers: Record<string, string>) =>
      h.request(`/api/approvals/${id}/approve`, {
        method: 'POST',
        headers: { cookie, origin: BASE, ...headers },
      });
    expect((await api({})).status).toBe(403);
    expect((await api({ 'x-csrf-token': 'forged' })).status).toBe(403);
    expect(h.store.get(id)?.status).toBe('pending');

    const ok = await post({ decision: 'approve', _csrf: csrf, note: 'looks right' });
    expect(ok.status).toBe(303);
    expect(h.store.get(id)).toMatchObject({
      status: 'approved',
      decidedBy: 'alice (browser)',
      note: 'looks right',
    });
    const other = await park(h, { args: { other: 1 } });
    const viaHeader = await h.request(`/api/approvals/${other}/deny`, {
      method: 'POST',
      headers: { cookie, origin: BASE, 'x-csrf-token': csrf },
    });
    expect(viaHeader.status).toBe(200);
  });

  it('shows a conflict, not a second decision, when the approval was already decided', async () => {
    const id = await park(h);
    const { cookie, csrf } = await signIn(h);
    h.queue.decide(id, { decision: 'deny', by: 'bob' });
    const init = form({ decision: 'approve', _csrf: csrf });
    const res = await h.request(`/approvals/${id}/decide`, { ...init, headers: { ...init.headers, cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/?conflict=denied&id=${id}`);
    const page = await (await h.request(res.headers.get('location') ?? '/', { headers: { cookie } })).text();
    expect(page).toContain(`${id} was already denied`);
    expect(h.store.get(id)?.status).toBe('denied');
  });
});

describe('DNS rebinding and cross-site requests', () => {
  it('refuses a foreign Host header', async () => {
    const res = await h.request('/api/approvals', bearer({ headers: { host: 'evil.example:8787' } }));
    expect(res.status).toBe(403);
    expect((await h.request('/health/live', { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await h.request('/login', { headers: { host: 'attacker.test:8787' } })).status).toBe(403);
  });

  it('refuses a foreign Origin, even with valid credentials', async () => {
    const id = await park(h);
    const res = await h.request(
      `/api/approvals/${id}/approve`,
      bearer({ method: 'POST', headers: { origin: 'http://evil.example' } }),
    );
    expect(res.status).toBe(403);
    const { cookie, csrf } = await signIn(h);
    const cross = await h.request(`/approvals/${id}/decide`, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'http://127.0.0.1:9999',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ decision: 'approve', _csrf: csrf }).toString(),
    });
    expect(cross.status).toBe(403);
    const fetchMeta = await h.request(
      `/api/approvals/${id}/approve`,
      bearer({ method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } }),
    );
    expect(fetchMeta.status).toBe(403);
    // A page on another local port is "same-site" and would get the SameSite=Strict cookie.
    const init = form({ decision: 'approve', _csrf: csrf });
    const sameSite = await h.request(`/approvals/${id}/decide`, {
      ...init,
      headers: { ...init.headers, cookie, 'sec-fetch-site': 'same-site' },
    });
    expect(sameSite.status).toBe(403);
    expect(h.store.get(id)?.status).toBe('pending');
  });
});

describe('methods and headers', () => {
  it('answers 405 to state changes by GET', async () => {
    const id = await park(h);
    const { cookie } = await signIn(h);
    for (const path of [`/api/approvals/${id}/approve`, `/api/approvals/${id}/deny`, '/api/check']) {
      const res = await h.request(path, bearer());
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
    expect(
      (await h.request(`/approvals/${id}/decide?decision=approve`, { headers: { cookie } })).status,
    ).toBe(405);
    expect((await h.request('/logout', { headers: { cookie } })).status).toBe(405);
    expect(h.store.get(id)?.status).toBe('pending');
  });

  it('names the methods a known API path takes, and answers an unknown one with the JSON 404', async () => {
    const put = await h.request('/api/approvals', bearer({ method: 'PUT' }));
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    const unknown = await h.request('/api/nothing-here', bearer());
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'Not found' });
  });

  it("sends frame-ancestors 'none' and the other protective headers on every response", async () => {
    const { cookie } = await signIn(h);
    for (const res of [
      await h.request('/', { headers: { cookie } }),
      await h.request('/login'),
      await h.request('/api/approvals'),
      await h.request('/health/live'),
      await h.request('/nope'),
    ]) {
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
    }
  });
});

describe('the admin token stays secret', () => {
  it('never appears in pages, API answers, pending results or logs', async () => {
    await park(h);
    const held = await h.queue.review({
      tool: 'users.delete',
      args: { id: 7 },
      rule: null,
      reason: 'default',
      canWait: false,
    });
    expect(held.kind === 'respond' && held.text).toContain(BASE);
    const { cookie } = await signIn(h);
    await h.request('/login', form({ token: 'wrong-token-wrong-token' }));
    await h.request('/login', form({ token: TOKEN }));
    const bodies = await Promise.all(
      ['/', '/decided', '/policy', '/fragments/pending', '/login', '/assets/queue.js'].map((path) =>
        h.request(path, { headers: { cookie } }).then((r) => r.text()),
      ),
    );
    bodies.push(await (await h.request('/api/approvals', bearer())).text());
    bodies.push(JSON.stringify(held), JSON.stringify(h.auth));
    for (const body of bodies) expect(body).not.toContain(TOKEN);
    expect(h.logs.length).toBeGreaterThan(0);
    for (const line of h.logs) expect(line).not.toContain(TOKEN);
  });
});
