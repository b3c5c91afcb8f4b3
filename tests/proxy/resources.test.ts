// resources/read, resources/subscribe and prompts/get through the gate: denied ones never reach the upstream and are hidden from lists.

import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_DENIED, DECISION_META_KEY } from '../../src/proxy/index.js';
import { fixtureLog } from '../helpers/fixture-log.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { everythingServer, FIXTURE } from '../helpers/peers.js';
import { type FixtureProxy, httpClient, startFixtureProxy, startHttpProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const POLICY = `version: 2
default: deny
rules:
  - { id: no-etc, kind: resource, match: "file:///etc/**", decision: deny, reason: "system files" }
  - { id: ask-db, kind: resource, match: "db://prod/**", decision: review }
  - { id: no-admin, kind: prompt, match: "admin-*", decision: deny, reason: "admin prompts" }
  - { id: tools, match: "*", decision: deny }
`;

const FIXTURE_ENV = {
  FIXTURE_RESOURCES: 'file:///etc/shadow,file:///srv/readme,db://prod/users',
  FIXTURE_TEMPLATES: 'file:///etc/{name},file:///srv/{name}',
  FIXTURE_PROMPTS: 'greet,admin-reset',
};

let proxy: FixtureProxy;
let client: Client;

beforeAll(async () => {
  proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process', env: FIXTURE_ENV });
  client = await httpClient(proxy.url);
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

async function received(method: string): Promise<string[]> {
  return (await fixtureLog(proxy.fixtureLog))
    .filter((e) => e.method === method)
    .map((e) => (e.uri ?? e.name) as string);
}

async function refusal(request: Promise<unknown>): Promise<McpError> {
  const error = await request.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(McpError);
  return error as McpError;
}

async function auditRecords(): Promise<Record<string, unknown>[]> {
  return auditOf(proxy.dataDir);
}

async function auditOf(dataDir: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('resources', () => {
  it('reads an allowed resource, with a decision and an execution record', async () => {
    const result = await client.readResource({ uri: 'file:///srv/readme' });
    expect(result.contents[0]).toMatchObject({ text: 'fixture:file:///srv/readme' });
    expect(await received('resources/read')).toContain('file:///srv/readme');
    const records = (await auditRecords()).filter((r) => r.resource === 'file:///srv/readme');
    expect(records.map((r) => r.event)).toEqual(['decision', 'execution']);
    expect(records[0]).toMatchObject({ decision: 'allow', method: 'resources/read', rule: null });
  });

  it('refuses every spelling of a denied URI without forwarding it', async () => {
    const spellings = [
      'file:///etc/shadow',
      'file:///etc/../etc/shadow',
      'file:///srv/../etc/shadow',
      'file:///%65tc/shadow',
      'file:///%2e%2e/etc/shadow',
      'file:///srv/%2e%2e/etc/shadow',
      'file:///etc%2Fshadow',
      'FILE:///etc/shadow',
      'file:///ETC/Shadow',
      'file://localhost/etc/shadow',
      'file:///etc//./shadow',
      'file:///etc\\shadow',
      'file:/etc/shadow',
      'file:///srv/readme#/../../etc/shadow',
    ];
    for (const uri of spellings) {
      const error = await refusal(client.readResource({ uri }));
      expect(error.code, uri).toBe(ACCESS_DENIED);
      expect(error.message, uri).toContain('Denied by Portcullis');
    }
    const forwarded = await received('resources/read');
    for (const uri of spellings) expect(forwarded, uri).not.toContain(uri);
    const denied = (await auditRecords()).filter((r) => r.event === 'decision' && r.decision === 'deny');
    expect(denied.map((r) => r.resource)).toEqual(expect.arrayContaining(spellings));
  });

  it('names the rule in the error and its data', async () => {
    const error = await refusal(client.readResource({ uri: 'file:///etc/shadow' }));
    expect(error.message).toContain('rule "no-etc": system files');
    expect((error.data as Record<string, { rule: string }>)[DECISION_META_KEY]?.rule).toBe('no-etc');
  });

  it('queues a resource under review for a person and reads nothing meanwhile (tests/proxy/resource-review.test.ts)', async () => {
    const error = await refusal(client.readResource({ uri: 'db://prod/users' }));
    expect(error.message).toContain('is waiting for a person');
    expect(await received('resources/read')).not.toContain('db://prod/users');
  });

  it('refuses a subscription to a denied URI and forwards an allowed one', async () => {
    await refusal(client.subscribeResource({ uri: 'file:///etc/../etc/shadow' }));
    await client.subscribeResource({ uri: 'file:///srv/readme' });
    expect(await received('resources/subscribe')).toEqual(['file:///srv/readme']);
  });

  it('hides denied resources and templates from their lists', async () => {
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    // db://prod/users is under review, not denied: offered, and each read waits for a person.
    expect(uris).toEqual(['file:///srv/readme', 'db://prod/users']);
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toEqual(['file:///srv/{name}']);
  });
});

describe('prompts', () => {
  it('gets an allowed prompt and refuses a denied one without forwarding it', async () => {
    const ok = await client.getPrompt({ name: 'greet' });
    expect(JSON.stringify(ok.messages)).toContain('fixture:greet');
    for (const name of ['admin-reset', 'ADMIN-reset']) {
      const error = await refusal(client.getPrompt({ name }));
      expect(error.code).toBe(ACCESS_DENIED);
    }
    expect(await received('prompts/get')).toEqual(['greet']);
  });

  it('refuses prompt arguments that are not valid Unicode', async () => {
    const error = await refusal(client.getPrompt({ name: 'greet', arguments: { a: '\ud800' } }));
    expect(error.message).toContain('not valid Unicode');
    expect(await received('prompts/get')).toEqual(['greet']);
  });

  it('hides a denied prompt from prompts/list', async () => {
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['greet']);
  });

  it('refuses completions of a denied prompt', async () => {
    const error = await refusal(
      client.complete({
        ref: { type: 'ref/prompt', name: 'admin-reset' },
        argument: { name: 'a', value: '' },
      }),
    );
    expect(error.code).toBe(ACCESS_DENIED);
  });
});

describe('default_resources: deny', () => {
  it('denies what no resource rule allows, and a policy without resource rules allows as before', async () => {
    const closed = await startFixtureProxy({
      policy: `version: 2
default_resources: deny
default_prompts: deny
rules:
  - { kind: resource, match: "file:///srv/**", decision: allow }
  - { match: "*", decision: allow }
`,
      upstream: 'in-process',
      env: FIXTURE_ENV,
    });
    const open = await startFixtureProxy({
      policy: 'version: 2\nrules:\n  - { match: "*", decision: deny }\n',
      upstream: 'in-process',
      env: FIXTURE_ENV,
    });
    try {
      const c = await httpClient(closed.url);
      expect((await c.listResources()).resources.map((r) => r.uri)).toEqual(['file:///srv/readme']);
      expect((await c.listPrompts()).prompts).toEqual([]);
      await refusal(c.readResource({ uri: 'db://prod/users' }));
      await refusal(c.getPrompt({ name: 'greet' }));
      expect((await c.readResource({ uri: 'file:///srv/readme' })).contents).toHaveLength(1);
      await c.close();

      const o = await httpClient(open.url);
      expect((await o.listResources()).resources).toHaveLength(3);
      expect((await o.listResourceTemplates()).resourceTemplates).toHaveLength(2);
      expect((await o.listPrompts()).prompts).toHaveLength(2);
      expect((await o.readResource({ uri: 'file:///etc/shadow' })).contents).toHaveLength(1);
      expect((await o.getPrompt({ name: 'admin-reset' })).messages).toHaveLength(1);
      await o.close();
    } finally {
      await closed.close();
      await open.close();
    }
  });
});

describe('an audit log that cannot be written', () => {
  it('forwards no read and no prompt: no record, no call', async () => {
    const failing = await startFixtureProxy({
      policy: 'version: 2\nrules:\n  - { kind: resource, match: "**", decision: allow }\n',
      upstream: 'in-process',
      env: FIXTURE_ENV,
    });
    const c = await httpClient(failing.url);
    const auditDir = path.join(failing.dataDir, 'audit');
    try {
      // Tests run as root, so permissions would not stop the write: take the directory away instead.
      await rename(auditDir, `${auditDir}.moved`);
      await writeFile(auditDir, 'not a directory');
      const error = await refusal(c.readResource({ uri: 'file:///srv/readme' }));
      expect(error.message).toContain('audit log cannot be written');
      await refusal(c.getPrompt({ name: 'greet' }));
      const log = await fixtureLog(failing.fixtureLog);
      expect(log.filter((e) => e.method === 'resources/read' || e.method === 'prompts/get')).toEqual([]);
      await rm(auditDir);
      await rename(`${auditDir}.moved`, auditDir);
    } finally {
      await c.close();
      await failing.close();
    }
  });
});

describe('two upstreams', () => {
  it('judges prompts by the upstream’s own name and server, and resources by their owner', async () => {
    const dir = tempDir('portcullis-res-').dir;
    const logOf = (name: string) => path.join(dir, `${name}.jsonl`);
    const server = (name: string) =>
      `  ${name}: { command: node, args: [${JSON.stringify(FIXTURE)}], env: { FIXTURE_NAME: ${name}, FIXTURE_LOG: ${JSON.stringify(logOf(name))}, FIXTURE_PROMPTS: greet, FIXTURE_RESOURCES: "test://${name}/doc" } }`;
    const two = await startHttpProxy({
      policy: `version: 2
servers:
${server('a')}
${server('b')}
rules:
  - { id: no-b-greet, kind: prompt, server: b, match: greet, decision: deny }
  - { id: no-b-docs, kind: resource, server: b, match: "**", decision: deny }
  - { match: "*", decision: allow }
`,
      upstreamTransport: inProcessFixtures(),
    });
    const c = await httpClient(two.url);
    try {
      expect((await c.listPrompts()).prompts.map((p) => p.name)).toEqual(['a__greet']);
      expect((await c.listResources()).resources.map((r) => r.uri)).toEqual(['test://a/doc']);
      expect(JSON.stringify((await c.getPrompt({ name: 'a__greet' })).messages)).toContain('a:greet');
      expect((await refusal(c.getPrompt({ name: 'b__greet' }))).message).toContain('no-b-greet');
      expect((await c.readResource({ uri: 'test://a/doc' })).contents).toHaveLength(1);
      expect((await refusal(c.readResource({ uri: 'test://b/doc' }))).message).toContain('no-b-docs');
      const b = await fixtureLog(logOf('b'));
      expect(b.filter((e) => e.method === 'prompts/get' || e.method === 'resources/read')).toEqual([]);
      const a = await fixtureLog(logOf('a'));
      expect(a.filter((e) => e.method === 'prompts/get').map((e) => e.name)).toEqual(['greet']);
      const records = await auditOf(two.dataDir);
      expect(records.find((r) => r.prompt === 'greet' && r.server === 'b')).toMatchObject({
        event: 'decision',
        decision: 'deny',
        rule: 'no-b-greet',
      });
    } finally {
      await c.close();
      await two.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('server-everything behind resource and prompt rules', () => {
  it('hides and refuses what the rules deny, and serves the rest', async () => {
    const everything = await startHttpProxy({
      policy: `version: 2
servers:
${everythingServer('everything')}
rules:
  - { id: no-startup, kind: resource, match: "demo://resource/static/document/startup.md", decision: deny }
  - { id: no-blobs, kind: resource, match: "demo://resource/dynamic/blob/**", decision: deny }
  - { id: no-args-prompt, kind: prompt, match: args-prompt, decision: deny }
  - { match: "*", decision: allow }
`,
    });
    const c = await httpClient(everything.url);
    try {
      const uris = (await c.listResources()).resources.map((r) => r.uri);
      expect(uris).toContain('demo://resource/static/document/features.md');
      expect(uris).not.toContain('demo://resource/static/document/startup.md');
      const templates = (await c.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
      expect(templates).toEqual(['demo://resource/dynamic/text/{resourceId}']);
      const prompts = (await c.listPrompts()).prompts.map((p) => p.name);
      expect(prompts).toContain('simple-prompt');
      expect(prompts).not.toContain('args-prompt');

      for (const uri of [
        'demo://resource/static/document/startup.md',
        'DEMO://resource/static/document/./startup.md',
        'demo://resource/static/document/features.md/../startup.md',
        'demo://resource/static/document/%73tartup.md',
        'demo://resource/dynamic/blob/1',
      ]) {
        expect((await refusal(c.readResource({ uri }))).code, uri).toBe(ACCESS_DENIED);
      }
      expect((await c.readResource({ uri: 'demo://resource/dynamic/text/1' })).contents).toHaveLength(1);
      expect(
        (await refusal(c.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris' } }))).message,
      ).toContain('no-args-prompt');
      expect((await c.getPrompt({ name: 'simple-prompt' })).messages.length).toBeGreaterThan(0);
    } finally {
      await c.close();
      await everything.close();
    }
  });
});
