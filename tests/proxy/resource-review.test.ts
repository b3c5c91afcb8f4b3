// Resource reads and prompt gets under a review rule wait in the approval queue: approved, the same request runs once; denied, it never reaches the upstream.
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Approval, ApprovalStore } from '../../src/approvals/index.js';
// Without the kind column: the schema every database of version 3 or older has.
import { MIGRATIONS as MIGRATIONS_V3, SCHEMA_VERSION } from '../../src/approvals/schema.js';
import { ACCESS_DENIED } from '../../src/proxy/index.js';
import type { WebServer } from '../../src/web/index.js';
import { decidedPage, pendingCard } from '../../src/web/views/approvals.js';
import { fixtureLog } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'resource-review-admin-token-0123456789ab';
const POLICY = `version: 2
default: deny
approval: { timeout: 2m }
rules:
  - { id: ask-db, kind: resource, match: "db://prod/**", decision: review, reason: "production data needs a person" }
  - { id: ask-prompt, kind: prompt, match: "deploy-*", decision: review, reason: "deploy prompts need a person" }
  - { id: tools, match: "*", decision: deny }
`;
const awsId = `AKIA${'Z7Q2X9W3E4R5T6Y8'}`;

let proxy: FixtureProxy;
let client: Client;
let web: WebServer;

beforeAll(async () => {
  proxy = await startFixtureProxy({
    policy: POLICY,
    upstream: 'in-process',
    ui: 0,
    env: {
      PORTCULLIS_UI_TOKEN: TOKEN,
      FIXTURE_RESOURCES: 'db://prod/users,db://prod/orders,db://prod/keys',
      FIXTURE_RESOURCE_CONTENTS: JSON.stringify({ 'db://prod/keys': [{ text: `key ${awsId}` }] }),
      FIXTURE_PROMPTS: 'deploy-now,greet',
    },
  });
  client = await httpClient(proxy.url);
  web = proxy.app.web as WebServer;
});

// A failed test must not leave an approval behind for the next one to find.
afterEach(async () => {
  for (const a of pending()) await decide(a.id, 'deny');
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

const pending = () => proxy.app.approvals.queue.store.list({ status: 'pending' });
const decide = (id: string, verb: 'approve' | 'deny', note?: string) =>
  fetch(`${web.url}/api/approvals/${id}/${verb}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(note === undefined ? {} : { note }),
  });
const reads = async (uri: string) =>
  (await fixtureLog(proxy.fixtureLog)).filter((e) => e.method === 'resources/read' && e.uri === uri).length;
const gets = async (name: string) =>
  (await fixtureLog(proxy.fixtureLog)).filter((e) => e.method === 'prompts/get' && e.name === name).length;
const onlyPending = () =>
  waitFor(() => (pending().length === 1 ? pending()[0] : null), 'one pending approval');
async function refusal(request: Promise<unknown>): Promise<McpError> {
  const error = await request.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpError);
  expect((error as McpError).code).toBe(ACCESS_DENIED);
  return error as McpError;
}

describe('resources/read under review', () => {
  it('holds the read until a person approves it; nothing is read before; the content then arrives', async () => {
    const uri = 'db://prod/users';
    const read = client.readResource({ uri }, { onprogress: () => {} });
    const approval = await onlyPending();
    expect(approval).toMatchObject({ kind: 'resource', tool: uri, server: 'fixture', rule: 'ask-db' });
    expect(await reads(uri)).toBe(0);
    const listed = await fetch(`${web.url}/api/approvals/${approval.id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await listed.json()).toMatchObject({ kind: 'resource', tool: uri, status: 'pending' });
    const card = String(await pendingCard(approval, 'csrf', Date.now()));
    expect(card).toContain('<span class="kind kind-resource">resource read</span>');
    expect(card).toContain('run once, for this agent and this URI only');
    expect((await decide(approval.id, 'approve')).status).toBe(200);
    const result = await read;
    const decided = String(await decidedPage([proxy.app.approvals.queue.store.get(approval.id) as Approval]));
    expect(decided).toContain('resource read</span> <span class="server">fixture</span>');
    expect(result.contents[0]).toMatchObject({ text: `fixture:${uri}` });
    expect(await reads(uri)).toBe(1);
    expect(proxy.app.approvals.queue.store.get(approval.id)).toMatchObject({ executionOk: true });
  });

  it('refuses the read with -32003 and the reason when a person denies it', async () => {
    const uri = 'db://prod/orders';
    const read = client.readResource({ uri }, { onprogress: () => {} });
    read.catch(() => {}); // settled below, after the decision
    const approval = await onlyPending();
    await decide(approval.id, 'deny', 'not today');
    const error = await refusal(read);
    expect(error.message).toContain(`approval ${approval.id} was denied`);
    expect(error.message).toContain('not today');
    expect(await reads(uri)).toBe(0);
  });

  it('without a progress token answers pending; an approved retry of the same read runs once, a third waits again', async () => {
    const uri = 'db://prod/keys';
    const first = await refusal(client.readResource({ uri }));
    expect(first.message).toContain('is waiting for a person');
    const approval = await onlyPending();
    expect(await reads(uri)).toBe(0);
    await decide(approval.id, 'approve');
    const result = await client.readResource({ uri });
    // The approved read's result is still screened: the key is masked.
    expect((result.contents[0] as { text: string }).text).not.toContain(awsId);
    expect(await reads(uri)).toBe(1);
    await refusal(client.readResource({ uri }));
    expect(await reads(uri)).toBe(1);
    const again = await onlyPending();
    expect(again.id).not.toBe(approval.id);
    await decide(again.id, 'deny');
  });

  it('denies resources/subscribe under review at once, saying a subscription cannot wait', async () => {
    const error = await refusal(client.subscribeResource({ uri: 'db://prod/users' }));
    expect(error.message).toContain('a subscription cannot wait for a person');
    expect(pending()).toEqual([]);
    const subscribed = (await fixtureLog(proxy.fixtureLog)).filter((e) => e.method === 'resources/subscribe');
    expect(subscribed).toEqual([]);
  });

  it('still lists a resource under review (a person decides each read)', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('db://prod/users');
  });
});

describe('prompts/get under review', () => {
  it('shows the prompt name and arguments to the reviewer; approved, the same get runs once', async () => {
    const get = client.getPrompt(
      { name: 'deploy-now', arguments: { env: 'prod' } },
      { onprogress: () => {} },
    );
    const approval = await onlyPending();
    expect(approval).toMatchObject({ kind: 'prompt', tool: 'deploy-now', argsCanonical: '{"env":"prod"}' });
    expect(await gets('deploy-now')).toBe(0);
    const card = String(await pendingCard(approval, 'csrf', Date.now()));
    expect(card).toContain('<span class="kind kind-prompt">prompt get</span>');
    expect(card).toContain('Prompt arguments');
    expect(card).toContain('&quot;env&quot;: &quot;prod&quot;');
    await decide(approval.id, 'approve');
    const result = await get;
    expect(result.messages[0]?.content).toMatchObject({ text: 'fixture:deploy-now' });
    expect(await gets('deploy-now')).toBe(1);
  });

  it('does not release prompt "x" for a different argument', async () => {
    const first = await refusal(client.getPrompt({ name: 'deploy-now', arguments: { env: 'staging' } }));
    expect(first.message).toContain('is waiting for a person');
    const approval = await onlyPending();
    await decide(approval.id, 'approve');
    await refusal(client.getPrompt({ name: 'deploy-now', arguments: { env: 'prod' } }));
    expect(await gets('deploy-now')).toBe(1);
    for (const a of pending()) await decide(a.id, 'deny');
  });
});

describe('the approvals database', () => {
  it('opens a schema 3 database: its approvals become tool calls, and new ones keep their kind', () => {
    const file = path.join(tempDir().dir, 'approvals.db');
    const old = new Database(file);
    old.exec(MIGRATIONS_V3);
    old.pragma('user_version = 3');
    old
      .prepare(
        `INSERT INTO approvals (id, status, agent, server, tool, args_canonical, args_sha256, call_key, rule, reason,
           created_at, expires_at) VALUES ('ap_old', 'pending', 'a', 's', 'echo', '{}', 'x', 'k', 'r', 'why', 1, 2)`,
      )
      .run();
    old.close();
    const store = new ApprovalStore(file);
    try {
      expect(store.get('ap_old')).toMatchObject({ kind: 'tool', tool: 'echo' });
    } finally {
      store.close();
    }
    const again = new Database(file);
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });
});
