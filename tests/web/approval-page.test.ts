// GET /approvals/:id through the real app: signed in it shows the approval, signed out it goes to sign-in and back, unknown is 404.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE, form, type Harness, harness, park, signIn } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = harness();
});
afterEach(() => h.close());

describe('GET /approvals/:id', () => {
  it('shows what is asked, the rule, the readable arguments and the decision form to a signed-in reviewer', async () => {
    const id = await park(h, {
      args: { amount_cents: 123456, currency: 'usd', memo: 'line one\nline two <script>x</script>' },
    });
    const { cookie, csrf } = await signIn(h);
    const res = await h.request(`/approvals/${id}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<span class="server">payments</span>');
    expect(page).toContain('<span class="tool">refunds.refund</span>');
    expect(page).toContain('support-bot');
    expect(page).toContain('<code>fallback</code>');
    expect(page).toContain('Refunds over $150 need a person');
    expect(page).toContain('$1,234.56 (123,456 cents)');
    expect(page).toContain('<pre class="arg-text">line one\nline two &lt;script&gt;x&lt;/script&gt;</pre>');
    expect(page).toContain(`action="/approvals/${id}/decide"`);
    expect(page).toContain(`name="_csrf" value="${csrf}"`);
    expect(page).not.toContain('<script>x</script>');
  });

  it('decided there, comes back to the same page showing who decided, when and the note', async () => {
    const id = await park(h);
    const { cookie, csrf } = await signIn(h, 'alice');
    const post = form({ _csrf: csrf, decision: 'deny', note: 'not this one' });
    const res = await h.request(`/approvals/${id}/decide`, {
      ...post,
      headers: { ...(post.headers as Record<string, string>), cookie, referer: `${BASE}/approvals/${id}` },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/approvals/${id}?done=denied&id=${id}`);
    const page = await (
      await h.request(res.headers.get('location') as string, { headers: { cookie } })
    ).text();
    expect(page).toContain('Denied. Nothing runs.');
    expect(page).toContain('<span class="status denied">denied</span>');
    expect(page).toContain('by <strong>alice (browser)</strong>');
    expect(page).toContain('not this one');
    expect(page).not.toContain(`action="/approvals/${id}/decide"`);
  });

  it('signed out, redirects to sign-in with the page as next, and sign-in lands there', async () => {
    const id = await park(h);
    const res = await h.request(`/approvals/${id}`);
    expect(res.status).toBe(303);
    const login = res.headers.get('location') as string;
    expect(login).toBe(`/login?next=%2Fapprovals%2F${id}`);
    const page = await (await h.request(login)).text();
    expect(page).toContain(`<input type="hidden" name="next" value="/approvals/${id}">`);
    const code = new URL(h.auth.loginUrl(BASE)).searchParams.get('code') ?? '';
    const signedIn = await h.request('/login', form({ code, next: `/approvals/${id}` }));
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe(`/approvals/${id}`);
  });

  it('after sign-in ignores a next that leaves this UI', async () => {
    const code = new URL(h.auth.loginUrl(BASE)).searchParams.get('code') ?? '';
    const res = await h.request('/login', form({ code, next: '//evil.example/' }));
    expect(res.headers.get('location')).toBe('/');
    expect(await (await h.request('/login?next=//evil.example/')).text()).not.toContain('name="next"');
  });

  it('answers 404 with a page for an unknown or malformed id', async () => {
    const { cookie } = await signIn(h);
    for (const id of ['ap_0000000000000000', 'nope']) {
      const res = await h.request(`/approvals/${id}`, { headers: { cookie, accept: 'text/html' } });
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('No such approval');
    }
  });

  it('serves the link and notification scripts as files (the CSP allows no inline script)', async () => {
    const { cookie } = await signIn(h);
    const page = await (await h.request('/', { headers: { cookie } })).text();
    expect(page).toContain('<script src="/assets/links.js"></script>');
    expect(page).toContain('<script src="/assets/notify.js" defer></script>');
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const name of ['links.js', 'notify.js']) {
      const res = await h.request(`/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/javascript');
    }
    // Signed out, the old-link script is there too: /#ap_… reaches sign-in by way of the approval page.
    expect(await (await h.request('/')).text()).toContain('/assets/links.js');
  });

  it('links each pending card to its page and titles the Pending tab with the count', async () => {
    const id = await park(h);
    await park(h, { args: { amount_cents: 1 } });
    const { cookie } = await signIn(h);
    const page = await (await h.request('/', { headers: { cookie } })).text();
    expect(page).toContain(`href="/approvals/${id}"`);
    expect(page).toContain('<title>(2) Pending · Portcullis</title>');
    expect(page).toContain('id="notify-toggle"');
  });
});
