// The shared DNS-rebinding guard, on a real Hono app: the UI's exact allowlist and the /mcp endpoint's.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { endpointAllowlist } from '../../src/proxy/http-guard.js';
import { type HostGuardOptions, hostGuard } from '../../src/util/index.js';

function appWith(allowlist: Pick<HostGuardOptions, 'hosts' | 'origins'>): Hono {
  const app = new Hono();
  app.use('*', hostGuard({ ...allowlist, refuse: (c, refusal) => c.text(refusal, 403) }));
  app.all('*', (c) => c.text('ok'));
  return app;
}

async function outcome(app: Hono, host: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.request(`http://${host}/x`, { method: 'POST', headers: { host, ...headers } });
  return res.status === 200 ? 'ok' : await res.text();
}

describe('the UI allowlist: exact hosts and origins', () => {
  const app = appWith({
    hosts: () => ['127.0.0.1:8787', 'localhost:8787'],
    origins: () => ['http://127.0.0.1:8787', 'http://localhost:8787'],
  });

  it('takes its own host:port and origin, and clients that send no Origin', async () => {
    expect(await outcome(app, '127.0.0.1:8787')).toBe('ok');
    expect(await outcome(app, 'LOCALHOST:8787', { origin: 'http://localhost:8787' })).toBe('ok');
    expect(await outcome(app, '127.0.0.1:8787', { 'sec-fetch-site': 'same-origin' })).toBe('ok');
  });

  it('refuses another host or port, another or null origin, and same-site or cross-site fetches', async () => {
    expect(await outcome(app, 'evil.example:8787')).toBe('host');
    expect(await outcome(app, '127.0.0.1:8788')).toBe('host');
    expect(await outcome(app, '127.0.0.1:8787', { origin: 'http://localhost:6274' })).toBe('origin');
    expect(await outcome(app, '127.0.0.1:8787', { origin: 'null' })).toBe('origin');
    expect(await outcome(app, '127.0.0.1:8787', { 'sec-fetch-site': 'same-site' })).toBe('cross-site');
    expect(await outcome(app, '127.0.0.1:8787', { 'sec-fetch-site': 'cross-site' })).toBe('cross-site');
  });
});

describe('the /mcp allowlist', () => {
  it('takes loopback names at any port until the endpoint listens, then only at its port', async () => {
    let port: number | undefined;
    const app = appWith(endpointAllowlist('127.0.0.1', () => port));
    expect(await outcome(app, 'localhost:9')).toBe('ok');
    expect(await outcome(app, 'evil.example:9')).toBe('host');
    port = 3000;
    expect(await outcome(app, '[::1]:3000')).toBe('ok');
    expect(await outcome(app, 'localhost:9')).toBe('host');
  });

  it('takes browser clients on another local port (the MCP Inspector), but no foreign or null origin', async () => {
    const app = appWith(endpointAllowlist('127.0.0.1', () => 3000));
    const inspector = { origin: 'http://localhost:6274', 'sec-fetch-site': 'same-site' };
    expect(await outcome(app, '127.0.0.1:3000', inspector)).toBe('ok');
    expect(await outcome(app, '127.0.0.1:3000', { origin: 'https://evil.example' })).toBe('origin');
    expect(await outcome(app, '127.0.0.1:3000', { origin: 'http://localhost.evil.example:6274' })).toBe(
      'origin',
    );
    expect(await outcome(app, '127.0.0.1:3000', { origin: 'null' })).toBe('origin');
    expect(await outcome(app, '127.0.0.1:3000', { 'sec-fetch-site': 'cross-site' })).toBe('cross-site');
  });

  it('takes any Host when bound to every interface (the bearer key guards it there), never a foreign Origin', async () => {
    const app = appWith(endpointAllowlist('0.0.0.0', () => 3000));
    expect(await outcome(app, 'proxy.internal.example:8080')).toBe('ok');
    expect(await outcome(app, 'proxy.internal.example:8080', { origin: 'http://evil.example' })).toBe(
      'origin',
    );
  });
});
