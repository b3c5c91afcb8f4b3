// Approvals asked in the client (MCP elicitation): real SDK clients over HTTP through the real proxy to a recording upstream.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
rules:
  - { id: in-client, match: echo, decision: review, approve_in: client, reason: "echo is asked in the client" }
  - { id: in-both, match: env, decision: review, approve_in: both, reason: "env is asked in both" }
`;

type Text = { content: { type: string; text: string }[]; isError?: boolean };
let proxy: TestProxy;
let fixtureLog: string;
const calls = (name: string) =>
  existsSync(fixtureLog)
    ? readFileSync(fixtureLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { method?: string; name?: string; args?: Record<string, unknown> })
        .filter((e) => e.method === 'tools/call' && e.name === name)
    : [];

/** A client that answers every elicitation with `answer`, recording what it was asked. */
async function asking(answer: (message: string) => unknown | Promise<unknown>) {
  const asked: { message: string; signal: AbortSignal }[] = [];
  const client = await httpClient(proxy.url, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
    const message = (request.params as { message: string }).message;
    asked.push({ message, signal: extra.signal });
    return (await answer(message)) as never;
  });
  return { client, asked };
}

const echo = async (client: Client, args: Record<string, unknown>) =>
  (await client.callTool({ name: 'echo', arguments: args })) as Text;

beforeAll(async () => {
  fixtureLog = path.join(tempDir().dir, 'fixture.jsonl');
  proxy = await startHttpProxy({
    policy: POLICY,
    command: { name: 'fixture', command: 'node', args: [FIXTURE] },
    env: { ...process.env, FIXTURE_LOG: fixtureLog },
    upstreamTransport: inProcessFixtures(),
  });
});
afterAll(async () => {
  await proxy?.close();
});

describe('approve_in: client through the proxy', () => {
  it('accept + approve runs the call exactly once, decided by the client reviewer, with secrets masked in the question', async () => {
    const { client, asked } = await asking(() => ({
      action: 'accept',
      content: { decision: 'approve', note: 'ok' },
    }));
    const result = await echo(client, { text: 'hello-approve', api_key: 'sk-live-abcdefabcdef123456' });
    expect(result.isError).not.toBe(true);
    expect(result.content[0]?.text).toContain('hello-approve');
    expect(calls('echo').filter((c) => JSON.stringify(c.args).includes('hello-approve'))).toHaveLength(1);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toContain('echo');
    expect(asked[0]?.message).toContain('in-client');
    expect(asked[0]?.message).toContain('hello-approve');
    expect(asked[0]?.message).not.toContain('sk-live-abcdefabcdef123456');
    const stored = proxy.app.approvals.store.list().find((a) => a.argsCanonical.includes('hello-approve'));
    expect(stored?.status).toBe('approved');
    expect(stored?.decidedById).toBe('client:anonymous');
    await client.close();
  });

  for (const [label, reply] of [
    ['decline', { action: 'decline' }],
    ['cancel', { action: 'cancel' }],
    ['deny', { action: 'accept', content: { decision: 'deny' } }],
  ] as const) {
    it(`${label} runs nothing and denies`, async () => {
      const { client } = await asking(() => reply);
      const marker = `m-${label}`;
      const result = await echo(client, { text: marker });
      expect(result.isError).toBe(true);
      expect(result.content[0]?.text).toContain('denied');
      expect(calls('echo').filter((c) => JSON.stringify(c.args).includes(marker))).toHaveLength(0);
      await client.close();
    });
  }

  it('a malformed answer denies at once, not at expiry', async () => {
    const { client } = await asking(() => ({ action: 'accept', content: { decision: 'maybe' } }));
    const result = await echo(client, { text: 'm-malformed' });
    expect(result.isError).toBe(true);
    expect(calls('echo').filter((c) => JSON.stringify(c.args).includes('m-malformed'))).toHaveLength(0);
    await client.close();
  });

  it('a client without the capability gets the usual UI pending answer, which says why', async () => {
    const client = await httpClient(proxy.url);
    const result = await echo(client, { text: 'm-nocap' });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/waiting for a person/);
    expect(result.content[0]?.text).toContain('did not declare form elicitation');
    const pending = proxy.app.approvals.store
      .list({ status: 'pending' })
      .find((a) => a.argsCanonical.includes('m-nocap'));
    expect(pending?.approveIn).toBe('ui');
    await client.close();
  });
});

describe('approve_in: both', () => {
  it('a UI decision first aborts the question in the client, and the call runs once', async () => {
    let release: (() => void) | undefined;
    const { client, asked } = await asking(
      () => new Promise((resolve) => (release = () => resolve({ action: 'cancel' }))),
    );
    const call = client.callTool({ name: 'env', arguments: {} }) as Promise<Text>;
    await waitFor(() => asked.length === 1, 'the question in the client');
    const pending = proxy.app.approvals.store
      .list({ status: 'pending' })
      .find((a) => a.tool === 'env' && a.status === 'pending');
    expect(pending?.approveIn).toBe('both');
    proxy.app.approvals.queue.decide(pending?.id as string, {
      decision: 'approve',
      by: 'admin',
      reviewer: { id: 'admin', name: 'admin', kind: 'admin' },
    });
    const result = await call;
    expect(result.isError).not.toBe(true);
    await waitFor(() => asked[0]?.signal.aborted === true, 'the elicitation to be cancelled');
    release?.();
    expect(calls('env')).toHaveLength(1);
    await client.close();
  });
});
