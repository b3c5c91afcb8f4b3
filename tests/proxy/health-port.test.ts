// With the UI off, the MCP port answers health checks and metrics (a container's HEALTHCHECK, a scrape); with it on, they stay on the UI.
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type FixtureProxy, startFixtureProxy } from '../helpers/proxy.js';

const POLICY = 'version: 2\nrules:\n  - { match: "*", decision: allow }\n';
let proxy: FixtureProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const origin = (p: FixtureProxy) => new URL(p.url).origin;

/** fetch() cannot send another Host header; a rebinding page's requests carry one. */
function statusWithHost(url: URL, path: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health on the MCP port', () => {
  it('serves /health/live, /health/ready and /metrics beside /mcp when the UI is off', async () => {
    proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process', ui: 'off' });
    const live = await fetch(`${origin(proxy)}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${origin(proxy)}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { approvals: { ok: true }, audit: { ok: true } },
    });
    const metrics = await (await fetch(`${origin(proxy)}/metrics`)).text();
    expect(metrics).toContain('portcullis_approvals_pending 0');
    // The Host guard covers them like /mcp: a rebinding page's Host is refused.
    expect(await statusWithHost(new URL(proxy.url), '/health/live', 'evil.example')).toBe(403);
    // Nothing else appeared on the port.
    expect((await fetch(`${origin(proxy)}/assets/app.css`)).status).toBe(404);
  });

  it('leaves them to the UI when the UI is served', async () => {
    proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process', ui: 0 });
    const response = await fetch(`${origin(proxy)}/health/live`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('the MCP endpoint is /mcp');
  });
});
