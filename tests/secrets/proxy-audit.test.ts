// Through the real proxy: the upstream gets the arguments exactly as sent, the audit file keeps none of their secrets.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditBytes, strictJsonLines } from '../audit/helpers.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

let proxy: FixtureProxy;
let client: Client;
let log: string;

beforeAll(async () => {
  proxy = await startFixtureProxy({
    policy: 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n',
    upstream: 'in-process',
  });
  log = proxy.fixtureLog;
  client = await httpClient(proxy.url);
});
afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

it('forwards the real arguments and writes only masks of their secrets', async () => {
  const github = `ghp_${'Rk3m'.repeat(9)}`;
  const secrets = [
    'pair-hdr-secret-01',
    'p\u0430ss-secret-02',
    'url-pw-secret-03',
    'query-secret-04',
    'cmd-secret-05',
    github,
  ];
  const args = {
    headers: [{ name: 'Authorization', value: `Bearer ${secrets[0]}` }],
    'p\u0430ssword': secrets[1],
    source: `postgres://app:${secrets[2]}@db.internal:5432/shop`,
    callback: `https://hooks.example.com/in?access_token=${secrets[3]}&v=2`,
    command: `curl -H "Authorization: Bearer ${secrets[4]}" https://api.example.com`,
    note: `rotate ${github} after the release`,
    amount_cents: 1250,
  };
  const result = await client.callTool({ name: 'echo', arguments: args });
  expect(result.isError).not.toBe(true);
  const received = await waitFor(async () => {
    const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return lines
      .map((line) => JSON.parse(line) as { method?: string; args?: unknown })
      .find((e) => e.method === 'tools/call');
  }, 'the forwarded call');
  expect(received.args).toEqual(args);

  await proxy.app.audit.checkpoint();
  const bytes = await auditBytes(path.join(proxy.dataDir, 'audit'));
  for (const secret of secrets) expect(bytes.toString('utf8')).not.toContain(secret);
  const decision = strictJsonLines(bytes).find((r) => r.event === 'decision');
  const stored = decision?.args as Record<string, string>;
  expect(stored.source).toMatch(
    /^postgres:\/\/app:\[redacted\] hmac-sha256:[0-9a-f]{64}@db\.internal:5432\/shop$/,
  );
  expect(stored.note).toMatch(/^rotate \[redacted\] hmac-sha256:[0-9a-f]{64} after the release$/);
  expect(stored.amount_cents).toBe(1250);
});
