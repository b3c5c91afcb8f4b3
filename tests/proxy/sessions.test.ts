// Sessions cannot exhaust the host: caps per agent and in total; keyless clients only where only this machine can reach.

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../../src/app.js';
import { AuditLog } from '../../src/audit/index.js';
import { runProxy } from '../../src/commands/run.js';
import {
  DownstreamSession,
  Gate,
  HttpEndpoint,
  loadTestedPolicy,
  PROXY_INFO,
  StartRefusedError,
} from '../../src/proxy/index.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { INIT, JSON_AND_SSE, send, serveOnLoopback } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const sha = (key: string) => createHash('sha256').update(key).digest('hex');
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('session caps', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startHttpProxy({
      policy: `version: 2
sessions: { max: 3, max_per_agent: 2 }
agents:
  - { id: alpha, key_sha256: "${sha('alpha-key')}", trust: low }
  - { id: beta, key_sha256: "${sha('beta-key')}", trust: low }
rules:
  - { id: all, match: "*", decision: allow }
`,
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      // Every session has its own upstream: in-process, the caps are tested without a child per session.
      upstreamTransport: inProcessFixtures(),
    });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it('refuses an agent past its own cap (429) and everyone past the total (503), with a clear reason, and frees a slot on DELETE', async () => {
    const a1 = await httpClient(proxy.url, { headers: bearer('alpha-key') });
    const a2 = await httpClient(proxy.url, { headers: bearer('alpha-key') });
    const third = await httpClient(proxy.url, { headers: bearer('alpha-key') }).catch(
      (error: unknown) => error,
    );
    expect(third).toBeInstanceOf(StreamableHTTPError);
    expect((third as StreamableHTTPError).code).toBe(429);
    expect(String((third as Error).message)).toMatch(
      /agent alpha has 2 open, the most allowed is 2 \(sessions.max_per_agent\)/,
    );

    const b1 = await httpClient(proxy.url, { headers: bearer('beta-key') });
    const full = await fetch(proxy.url, {
      method: 'POST',
      headers: { ...JSON_AND_SSE, ...bearer('beta-key') },
      body: JSON.stringify(INIT),
    });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('60');
    expect(((await full.json()) as { error: { message: string } }).error.message).toMatch(
      /3 are open, the most allowed is 3 \(sessions.max\)/,
    );
    expect(proxy.logs.join('\n')).toMatch(/refused a new session of beta/);

    // The sessions that were let in work; a DELETE gives the slot back once its upstream has stopped.
    expect((await a1.callTool({ name: 'echo', arguments: { ok: 1 } })).isError).toBeFalsy();
    await (a2.transport as StreamableHTTPClientTransport).terminateSession();
    await a2.close();
    const again = await waitFor(
      () => httpClient(proxy.url, { headers: bearer('alpha-key') }).catch(() => undefined),
      'the slot to be free again',
      10_000,
    );
    expect((await again.listTools()).tools.length).toBeGreaterThan(0);
    await Promise.all([a1.close(), b1.close(), again.close()]);
  });

  it('counts sessions still initializing, so a burst cannot slip past the cap', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(proxy.url, {
          method: 'POST',
          headers: { ...JSON_AND_SSE, ...bearer('beta-key') },
          body: JSON.stringify(INIT),
        }).then(async (r) => {
          await r.text();
          return { status: r.status, id: r.headers.get('mcp-session-id') };
        }),
      ),
    );
    const opened = attempts.filter((a) => a.status === 200);
    expect(opened.length).toBeLessThanOrEqual(2);
    expect(attempts.filter((a) => a.status === 429 || a.status === 503).length).toBe(6 - opened.length);
    for (const a of opened) {
      await fetch(proxy.url, {
        method: 'DELETE',
        headers: {
          ...bearer('beta-key'),
          'mcp-session-id': a.id as string,
          'mcp-protocol-version': '2025-11-25',
        },
      });
    }
  });
});

describe('keyless clients on an address other hosts can reach', () => {
  const keyless = 'version: 2\nrules:\n  - { id: all, match: "*", decision: allow }\n';

  it('refuses to start on 0.0.0.0 with no keyed agents, before binding anything', async () => {
    const dir = tempDir().dir;
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, keyless);
    const start = startApp({
      policyFile,
      http: { host: '0.0.0.0', port: 0 },
      ui: 'off',
      dataDir: path.join(dir, 'data'),
      agent: 'anonymous',
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      log: () => {},
    });
    await expect(start).rejects.toBeInstanceOf(StartRefusedError);
    await expect(start).rejects.toThrow(/refusing to serve MCP anonymously on 0\.0\.0\.0.*--allow-anonymous/);
  });

  it('refuses a keyless request on such an address even when a reload removed every key', async () => {
    const dir = tempDir().dir;
    const policy = loadTestedPolicy(keyless, '/virtual/keyless.yml', () => {});
    const audit = await AuditLog.open({ dataDir: dir });
    const endpoint = new HttpEndpoint({
      host: '0.0.0.0',
      policy: () => policy,
      anonymousAgent: 'anonymous',
      allowAnonymous: false,
      log: () => {},
      newSession: (agent) =>
        new DownstreamSession({
          agent,
          policy: () => policy,
          upstreams: () => [],
          gate: new Gate({
            policy: () => policy,
            audit,
            review: { review: async () => ({ kind: 'deny', cause: 'denied', reason: 'no' }) },
            log: () => {},
          }),
          info: PROXY_INFO,
          log: () => {},
        }),
    });
    // Served on loopback, the endpoint still believes it is bound to every interface (host 0.0.0.0).
    const served = await serveOnLoopback(endpoint.listener);
    try {
      const refused = await send(served.url, {
        method: 'POST',
        headers: { ...JSON_AND_SSE, host: '192.0.2.7:3000' },
        body: JSON.stringify(INIT),
      });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /anonymous clients are refused.*--allow-anonymous/,
      );
    } finally {
      await endpoint.close();
      await served.close();
      await audit.close();
    }
  });

  it('prints the address it is bound to', async () => {
    const dir = tempDir().dir;
    const policyFile = path.join(dir, 'policy.yml');
    await writeFile(policyFile, keyless);
    const lines: string[] = [];
    const controller = new AbortController();
    const running = runProxy(
      {
        policy: policyFile,
        http: 0,
        ui: 'off',
        dataDir: path.join(dir, 'data'),
        command: ['node', FIXTURE],
      },
      { out: () => {}, err: (line) => lines.push(line) },
      { signal: controller.signal, onReady: () => setImmediate(() => controller.abort()) },
    );
    expect(await running).toBe(0);
    await waitFor(() => lines.some((l) => l.includes('MCP endpoint')), 'the start-up line');
    expect(lines.join('\n')).toMatch(
      /MCP endpoint http:\/\/127\.0\.0\.1:\d+\/mcp \(listening on 127\.0\.0\.1:\d+\)/,
    );
  });
});
