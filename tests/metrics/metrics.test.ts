// /metrics through a real proxy and a real SDK client: the counters and histograms move with the calls, upstreams and audit log.

import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { fixtureLog } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { type Sample, samples, scrape, sum } from './scrape.js';

const POLICY = [
  'version: 2',
  'default: deny',
  'rules:',
  '  - { id: echo-ok, match: "echo", decision: allow }',
  '  - { id: extras, match: "x*", decision: allow }',
  '',
].join('\n');

const open: Array<{ proxy: TestProxy; client: Client }> = [];
afterEach(async () => {
  for (const { proxy, client } of open.splice(0).reverse()) {
    await client.close().catch(() => {});
    await proxy.close();
  }
});

async function start(
  env: NodeJS.ProcessEnv = {},
): Promise<{ proxy: TestProxy; client: Client; log: string }> {
  const log = path.join(tempDir().dir, 'fixture.jsonl');
  const proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: log, ...env },
    routing: { upstreamWaitMs: 300, missIntervalMs: 100 },
  });
  const client = await httpClient(proxy.url);
  open.push({ proxy, client });
  return { proxy, client, log };
}

const metricsUrl = (proxy: TestProxy) => new URL('/metrics', proxy.url).toString();

const value = (all: Sample[], name: string, labels: Record<string, string> = {}): number =>
  sum(all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)));

describe('/metrics of a running proxy (--ui off: served on the MCP port)', () => {
  it('counts allowed and denied calls by decision, server, tool and rule, and times them', async () => {
    const { proxy, client } = await start();
    const before = samples(await scrape(metricsUrl(proxy)));
    expect(value(before, 'portcullis_sessions')).toBe(1);
    expect(value(before, 'portcullis_calls_total')).toBe(0);

    for (let i = 0; i < 3; i++) await client.callTool({ name: 'echo', arguments: { i } });
    const denied = await client.callTool({ name: 'env', arguments: { keys: [] } });
    expect(denied.isError).toBe(true);

    const after = samples(await scrape(metricsUrl(proxy)));
    expect(
      value(after, 'portcullis_calls_total', {
        decision: 'allow',
        server: 'fixture',
        tool: 'echo',
        rule: 'echo-ok',
      }),
    ).toBe(3);
    expect(
      value(after, 'portcullis_calls_total', {
        decision: 'deny',
        server: 'fixture',
        tool: 'env',
        rule: 'none',
      }),
    ).toBe(1);
    // Four evaluations, three forwarded calls, each timed once.
    expect(value(after, 'portcullis_policy_evaluation_seconds_count')).toBe(4);
    expect(value(after, 'portcullis_upstream_seconds_count', { server: 'fixture' })).toBe(3);
    expect(value(after, 'portcullis_proxy_overhead_seconds_count')).toBe(3);
    expect(value(after, 'portcullis_upstream_seconds_sum', { server: 'fixture' })).toBeGreaterThan(0);
    // Decision and execution records of the allowed calls, the decision of the denied one, the upstream's start.
    expect(value(after, 'portcullis_audit_write_seconds_count')).toBeGreaterThanOrEqual(7);
    expect(value(after, 'portcullis_audit_write_failures_total')).toBe(0);
    expect(value(after, 'portcullis_upstream_up', { server: 'fixture' })).toBe(1);
    expect(value(after, 'portcullis_agents_suspended')).toBe(0);
  });

  it('is served by the approvals UI when the UI is on, on the same registry as the approval metrics', async () => {
    const log = path.join(tempDir().dir, 'fixture.jsonl');
    const proxy = await startHttpProxy({
      policy: POLICY,
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      env: { ...process.env, FIXTURE_LOG: log },
      ui: 0,
    });
    const client = await httpClient(proxy.url);
    open.push({ proxy, client });
    await client.callTool({ name: 'echo', arguments: {} });
    const all = samples(await scrape(`${proxy.app.web?.url}/metrics`));
    expect(value(all, 'portcullis_calls_total', { decision: 'allow', tool: 'echo' })).toBe(1);
    expect(all.some((s) => s.name === 'portcullis_approvals_pending')).toBe(true);
    // The MCP port serves no metrics while the UI does.
    expect((await fetch(metricsUrl(proxy))).status).not.toBe(200);
  });

  it('keeps labels bounded: 500 unlisted tool names are one "other" series, never 500', async () => {
    const { proxy, client } = await start();
    // In batches: each unlisted name makes the proxy list again once before it refuses.
    for (let batch = 0; batch < 5; batch++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          client.callTool({ name: `made-up-${batch * 100 + i}-${'z'.repeat(i % 7)}`, arguments: {} }),
        ),
      );
      expect(results.every((r) => r.isError === true)).toBe(true);
    }
    const all = samples(await scrape(metricsUrl(proxy))).filter((s) => s.name === 'portcullis_calls_total');
    expect(all.length).toBe(1);
    expect(all[0]?.labels).toEqual({ decision: 'deny', server: 'none', tool: 'other', rule: 'none' });
    expect(all[0]?.value).toBe(500);
  }, 60_000);

  it('caps the tool label at 200 names even for tools an upstream lists', async () => {
    const extras = Array.from({ length: 205 }, (_, i) => `x${i}`);
    const { proxy, client } = await start({ FIXTURE_EXTRA_TOOLS: extras.join(',') });
    await Promise.all(extras.map((name) => client.callTool({ name, arguments: {} })));
    const tools = new Set(
      samples(await scrape(metricsUrl(proxy)))
        .filter((s) => s.name === 'portcullis_calls_total')
        .map((s) => s.labels.tool),
    );
    expect(tools.size).toBe(201);
    expect(tools.has('other')).toBe(true);
    expect(value(samples(await scrape(metricsUrl(proxy))), 'portcullis_calls_total', { tool: 'other' })).toBe(
      5,
    );
  }, 60_000);

  it('sets upstream_up to 0 when the upstream is killed, and counts the restart once it is back', async () => {
    const refuse = path.join(tempDir().dir, 'refuse');
    const { proxy, client, log } = await start({ FIXTURE_EXIT_IF_EXISTS: refuse });
    await client.callTool({ name: 'echo', arguments: {} });
    expect(
      value(samples(await scrape(metricsUrl(proxy))), 'portcullis_upstream_up', { server: 'fixture' }),
    ).toBe(1);

    await writeFile(refuse, 'the fixture exits at start while this file exists');
    const pid = (await fixtureLog(log)).find((e) => e.event === 'started')?.pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await fixtureLog(log)).some((e) => e.event === 'refused'), 'a failed restart');
    const down = samples(await scrape(metricsUrl(proxy)));
    expect(value(down, 'portcullis_upstream_up', { server: 'fixture' })).toBe(0);
    expect(value(down, 'portcullis_upstream_restarts_total', { server: 'fixture' })).toBe(0);

    await rm(refuse);
    await waitFor(
      async () =>
        value(samples(await scrape(metricsUrl(proxy))), 'portcullis_upstream_up', { server: 'fixture' }) ===
        1,
      'the upstream to be up again',
    );
    const back = samples(await scrape(metricsUrl(proxy)));
    expect(value(back, 'portcullis_upstream_restarts_total', { server: 'fixture' })).toBe(1);
  });

  it('counts approvals decided and how long they waited, by outcome', async () => {
    const log = path.join(tempDir().dir, 'fixture.jsonl');
    const proxy = await startHttpProxy({
      policy: 'version: 2\ndefault: deny\nrules:\n  - { id: ask, match: "echo", decision: review }\n',
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      env: { ...process.env, FIXTURE_LOG: log },
    });
    const client = await httpClient(proxy.url);
    open.push({ proxy, client });
    const idOf = (result: { _meta?: unknown }) =>
      (result._meta as Record<string, { approval_id: string }>)['portcullis/decision']?.approval_id as string;
    // A client without a progress token is answered "pending" at once: the approval waits in the queue.
    const first = idOf(await client.callTool({ name: 'echo', arguments: { n: 1 } }));
    const second = idOf(await client.callTool({ name: 'echo', arguments: { n: 2 } }));
    expect(value(samples(await scrape(metricsUrl(proxy))), 'portcullis_approvals_pending')).toBe(2);
    expect(
      value(samples(await scrape(metricsUrl(proxy))), 'portcullis_calls_total', {
        decision: 'review',
        rule: 'ask',
      }),
    ).toBe(2);
    proxy.app.approvals.queue.decide(first, { decision: 'approve', by: 'test' });
    proxy.app.approvals.queue.decide(second, { decision: 'deny', by: 'test' });
    const all = samples(await scrape(metricsUrl(proxy)));
    expect(value(all, 'portcullis_approvals_decided_total', { outcome: 'approved' })).toBe(1);
    expect(value(all, 'portcullis_approvals_decided_total', { outcome: 'denied' })).toBe(1);
    expect(value(all, 'portcullis_approval_wait_seconds_count', { outcome: 'approved' })).toBe(1);
    expect(value(all, 'portcullis_approval_wait_seconds_count')).toBe(2);
    expect(value(all, 'portcullis_approvals_pending')).toBe(0);
  });

  it('counts an audit write that fails, and the call it denied', async () => {
    const { proxy, client } = await start();
    const auditDir = path.join(proxy.dataDir, 'audit');
    // Tests run as root, so permissions would not stop the write: take the directory away instead.
    await rename(auditDir, `${auditDir}.moved`);
    await writeFile(auditDir, 'not a directory');
    try {
      const result = await client.callTool({ name: 'echo', arguments: { should: 'not run' } });
      expect(JSON.stringify(result.content)).toContain('audit log cannot be written');
      const all = samples(await scrape(metricsUrl(proxy)));
      expect(value(all, 'portcullis_audit_write_failures_total')).toBeGreaterThanOrEqual(1);
      // Unrecorded, the call was denied: it counts as one, not as the allow the rule gave.
      expect(value(all, 'portcullis_calls_total', { decision: 'deny', tool: 'echo' })).toBe(1);
      expect(value(all, 'portcullis_calls_total', { decision: 'allow' })).toBe(0);
    } finally {
      await rm(auditDir);
      await rename(`${auditDir}.moved`, auditDir);
    }
  });
});
