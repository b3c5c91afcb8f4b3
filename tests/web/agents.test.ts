// The agents routes on a real Hono app and a real registry: a session's PATCH, DELETE and forms need its CSRF token; the key page is not cached; suspension shows.
import { afterEach, describe, expect, it } from 'vitest';
import { AgentRegistry, SqliteAgentStore } from '../../src/agents/index.js';
import { BASE, bearer, form, type Harness, harness, signIn } from './helpers.js';

let h: Harness;
let registry: AgentRegistry;

function start(): void {
  registry = new AgentRegistry({ store: new SqliteAgentStore(':memory:') });
  h = harness({
    agents: registry,
    suspension: (agent) =>
      agent === 'bad-bot'
        ? {
            incident: 'inc_1',
            reason: 'three high-severity denials',
            at: '2026-01-01T00:00:00Z',
            by: 'portcullis',
          }
        : null,
  });
}

afterEach(() => {
  h?.close();
  registry?.close();
});

const json = (method: string, body: unknown, headers: Record<string, string>): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', origin: BASE, ...headers },
  body: JSON.stringify(body),
});

describe('agents routes', () => {
  it('refuses a session’s PATCH and DELETE without its CSRF token, and takes them with it', async () => {
    start();
    await registry.add({ id: 'bot' }, 'test');
    const { cookie, csrf } = await signIn(h);
    expect((await h.request('/api/agents/bot', json('PATCH', { trust: 'high' }, { cookie }))).status).toBe(
      403,
    );
    expect(
      (await h.request('/api/agents/bot', { method: 'DELETE', headers: { cookie, origin: BASE } })).status,
    ).toBe(403);
    expect(registry.get('bot')?.trust).toBe('low');
    const ok = await h.request(
      '/api/agents/bot',
      json('PATCH', { trust: 'high' }, { cookie, 'x-csrf-token': csrf }),
    );
    expect(ok.status).toBe(200);
    expect(registry.get('bot')?.trust).toBe('high');
    // The page's forms too.
    expect(
      (
        await h.request('/agents/bot/trust', {
          ...form({ trust: 'low' }),
          headers: { ...form({}).headers, cookie },
        })
      ).status,
    ).toBe(403);
    const posted = await h.request('/agents/bot/trust', {
      ...form({ trust: 'medium', _csrf: csrf }),
      headers: { ...form({}).headers, cookie },
    });
    expect(posted.status).toBe(303);
    expect(registry.get('bot')?.trust).toBe('medium');
    // Remove from the page: refused without the token, done with it.
    expect(
      (await h.request('/agents/bot/remove', { ...form({}), headers: { ...form({}).headers, cookie } }))
        .status,
    ).toBe(403);
    const removed = await h.request('/agents/bot/remove', {
      ...form({ _csrf: csrf }),
      headers: { ...form({}).headers, cookie },
    });
    expect(await removed.text()).toContain('Agent bot removed');
    expect(registry.get('bot')).toBeUndefined();
    await registry.add({ id: 'bot2' }, 'test');
    expect((await h.request('/api/agents/bot2', bearer({ method: 'DELETE' }))).status).toBe(200);
    expect(registry.get('bot2')).toBeUndefined();
  });

  it('renders the new key once, uncached, and the page escapes what people typed', async () => {
    start();
    const { cookie, csrf } = await signIn(h);
    const res = await h.request('/agents/add', {
      ...form({ id: 'web-bot', trust: 'high', owner: '<script>alert(1)</script>', env: 'prod', _csrf: csrf }),
      headers: { ...form({}).headers, cookie },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    const key = /value="(pcl_[^"]+)"/.exec(page)?.[1] as string;
    expect(key).toMatch(/^pcl_/);
    expect(page).not.toContain('<script>alert(1)</script>');
    const again = await (await h.request('/agents/web-bot', { headers: { cookie } })).text();
    expect(again).not.toContain(key);
    expect(again).toContain('&lt;script&gt;');
    // A crafted done= cannot make the page say something else.
    expect(
      await (await h.request('/agents/web-bot?done=<b>hi</b>', { headers: { cookie } })).text(),
    ).not.toContain('<b>hi</b>');
  });

  it('shows "Suspended: reason" from the suspension dep, and filters', async () => {
    start();
    await registry.add({ id: 'bad-bot', trust: 'medium' }, 'test');
    await registry.add({ id: 'good-bot', owner: 'ops' }, 'test');
    const { cookie } = await signIn(h);
    const page = await (await h.request('/agents', { headers: { cookie } })).text();
    expect(page).toContain('Suspended: three high-severity denials');
    const filtered = await (await h.request('/agents?trust=medium', { headers: { cookie } })).text();
    expect(filtered).toContain('bad-bot');
    expect(filtered).not.toContain('good-bot');
    expect(await (await h.request('/agents?q=OPS', { headers: { cookie } })).text()).not.toContain('bad-bot');
    const api = (await (await h.request('/api/agents/bad-bot', bearer())).json()) as {
      suspension: { reason: string };
    };
    expect(api.suspension.reason).toBe('three high-severity denials');
  });
});
