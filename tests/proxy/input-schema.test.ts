// tools/call arguments checked against the tool's own inputSchema: real clients, the real proxy, a recording upstream.

import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { ArgumentSchemas, toolInputSchema } from '../../src/proxy/index.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { everythingServer, FIXTURE } from '../helpers/peers.js';
import { type FixtureProxy, httpClient, startFixtureProxy, startHttpProxy } from '../helpers/proxy.js';
import { openSession, post } from '../helpers/raw-http.js';
import { tempDir } from '../helpers/temp.js';
import { errorsOf, policyFrom } from '../policy/helpers.js';

const SCHEMAS = {
  typed: {
    type: 'object',
    properties: { message: { type: 'string' }, count: { type: 'integer' } },
    required: ['message'],
  },
  nested: {
    type: 'object',
    properties: {
      target: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      list: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' } } } },
    },
    required: ['target'],
  },
  either: {
    type: 'object',
    anyOf: [
      { properties: { a: { type: 'string' } }, required: ['a'] },
      { properties: { b: { type: 'string' } }, required: ['b'] },
    ],
  },
  open: {
    type: 'object',
    properties: { message: { type: 'string' } },
    additionalProperties: true,
  },
  // A remote $ref: never fetched, so the schema does not compile.
  exotic: { type: 'object', properties: { x: { $ref: 'https://example.invalid/remote.json' } } },
  pair: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: {
      pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false },
    },
    required: ['pair'],
  },
  sloppy: {
    type: 'object',
    properties: { q: { type: 'string', 'x-made-up': { weird: true }, format: 'not-a-known-format' } },
    required: ['q'],
  },
  secret: { type: 'object', properties: { message: { type: 'string' } } },
};
const ENV = {
  FIXTURE_EXTRA_TOOLS: Object.keys(SCHEMAS).join(','),
  FIXTURE_TOOL_SCHEMAS: JSON.stringify(SCHEMAS),
};
const RULES = `rules:
  - { id: no-secret, match: secret, decision: deny, reason: "secret is forbidden" }
  - { id: all, match: "*", decision: allow }
`;

type Result = CallToolResult & { _meta?: Record<string, { reason?: string; correlation_id?: string }> };
const call = async (client: Client, name: string, args?: Record<string, unknown>) =>
  (await client.callTool({ name, ...(args !== undefined && { arguments: args }) })) as Result;
const reasonOf = (result: Result) => result._meta?.['portcullis/decision']?.reason ?? '';

async function withProxy(settings: string): Promise<{ proxy: FixtureProxy; client: Client }> {
  const proxy = await startFixtureProxy({
    policy: `version: 2\ndefault: deny\n${settings}${RULES}`,
    upstream: 'in-process',
    env: ENV,
  });
  return { proxy, client: await httpClient(proxy.url) };
}

describe('the default: check on, mismatch and extra properties denied', () => {
  let proxy: FixtureProxy;
  let client: Client;
  beforeAll(async () => ({ proxy, client } = await withProxy('')));
  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  /** Denied by Portcullis itself, with a reason naming the problem and never the value, and not forwarded. */
  const expectRefused = async (name: string, args: Record<string, unknown> | undefined, reason: RegExp) => {
    const before = await callsOf(proxy.fixtureLog, name);
    const result = await call(client, name, args);
    const text = resultText(result);
    expect(result.isError, text).toBe(true);
    expect(text).toMatch(/^Denied by Portcullis: /);
    expect(reasonOf(result)).toMatch(reason);
    expect(text).not.toContain('SMUGGLED-VALUE');
    expect(text).not.toContain('987654321');
    expect(await callsOf(proxy.fixtureLog, name)).toBe(before);
    return result;
  };

  it('forwards arguments that match, unchanged', async () => {
    const result = await call(client, 'typed', { message: 'hi', count: 2 });
    expect(result.isError).toBeUndefined();
    expect(resultText(result)).toBe('fixture:typed:{"message":"hi","count":2}');
  });

  it('denies a wrong type, naming the path and the rule the schema broke', async () => {
    await expectRefused(
      'typed',
      { message: 987654321 },
      /inputSchema of tool "typed": at \/message: must be string/,
    );
    await expectRefused('typed', { message: 'hi', count: 1.5 }, /at \/count: must be integer/);
  });

  it('denies a missing required property, and a call without arguments at all', async () => {
    await expectRefused('typed', { count: 1 }, /must have required property 'message'/);
    await expectRefused('typed', undefined, /must have required property 'message'/);
  });

  it('denies a property the schema does not declare, at the top level and nested', async () => {
    await expectRefused(
      'typed',
      { message: 'hi', shell: 'SMUGGLED-VALUE' },
      /does not declare: "shell" at the top level/,
    );
    await expectRefused('nested', { target: { path: '/a', mode: 'SMUGGLED-VALUE' } }, /"mode" at \/target/);
    // A key that differs only in case, or by a look-alike letter, is another key.
    await expectRefused('typed', { message: 'hi', Message: 'SMUGGLED-VALUE' }, /"Message" at the top level/);
    await expectRefused('typed', { message: 'hi', mеssage: 'SMUGGLED-VALUE' }, /does not declare/);
    await expectRefused(
      'nested',
      { target: { path: '/a' }, list: [{ id: 1 }, { id: 2, as: 'x' }] },
      /"as" at \/list\/1/,
    );
  });

  it('catches prototype-flavoured keys as undeclared properties', async () => {
    // Own keys once the proxy parses the JSON; a validator walking the prototype would miss them.
    await expectRefused('typed', JSON.parse('{"message":"hi","__proto__":{"admin":true}}'), /"__proto__"/);
    await expectRefused('typed', { message: 'hi', constructor: 'SMUGGLED-VALUE' }, /"constructor"/);
  });

  it('leaves alternatives open (anyOf) but still denies what matches none of them', async () => {
    expect((await call(client, 'either', { a: 'x', c: 1 })).isError).toBeUndefined();
    await expectRefused('either', { c: 'SMUGGLED-VALUE' }, /inputSchema of tool "either"/);
  });

  it('lets extra properties through where the schema allows them, and free-form objects stay free', async () => {
    expect((await call(client, 'open', { message: 'hi', more: 1 })).isError).toBeUndefined();
    expect((await call(client, 'echo', { anything: { at: ['all'] } })).isError).toBeUndefined();
  });

  it('reads draft 2020-12 schemas (prefixItems)', async () => {
    expect((await call(client, 'pair', { pair: ['a', 1] })).isError).toBeUndefined();
    await expectRefused('pair', { pair: ['a', 'b'] }, /at \/pair\/1: must be integer/);
    await expectRefused('pair', { pair: ['a', 1, 'c'] }, /at \/pair/);
  });

  it('ignores unknown keywords and formats in a sloppy schema, and still checks its types', async () => {
    expect((await call(client, 'sloppy', { q: 'anything' })).isError).toBeUndefined();
    await expectRefused('sloppy', { q: 987654321 }, /at \/q: must be string/);
  });

  it('skips a schema that cannot be compiled, with one warning per definition', async () => {
    expect((await call(client, 'exotic', { x: 1 })).isError).toBeUndefined();
    expect((await call(client, 'exotic', { x: 2 })).isError).toBeUndefined();
    expect(await callsOf(proxy.fixtureLog, 'exotic')).toBe(2);
    expect(proxy.logs.filter((l) => l.includes('inputSchema of tool "exotic"'))).toHaveLength(1);
  });

  it('audits the refusal like the other refusals: a deny decision without a rule, the reason naming the path', async () => {
    const result = await call(client, 'typed', { message: 987654321 });
    const correlation = result._meta?.['portcullis/decision']?.correlation_id;
    await expect
      .poll(
        async () => (await queryAudit(proxy.app.audit.root, { correlation_id: correlation })).records.length,
      )
      .toBe(1);
    const [record] = (await queryAudit(proxy.app.audit.root, { correlation_id: correlation })).records;
    expect(record).toMatchObject({ event: 'decision', decision: 'deny', rule: null, tool: 'typed' });
    expect(record?.reason).toContain('at /message: must be string');
  });
});

describe('on_mismatch and extra_properties: review', () => {
  let proxy: FixtureProxy;
  let client: Client;
  beforeAll(
    async () =>
      ({ proxy, client } = await withProxy(
        'input_schema: { on_mismatch: review, extra_properties: review }\n',
      )),
  );
  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  it('holds a mismatch for a person with the schema reason, forwards nothing, and runs it once approved', async () => {
    const held = await call(client, 'typed', { message: 5 });
    expect(resultText(held)).toMatch(/^Approval ap_[0-9a-f]{16} is waiting for a person/);
    const queue = proxy.app.approvals.queue;
    const [pending] = queue.list({ status: 'pending' });
    expect(pending?.reason).toContain('at /message: must be string');
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(0);

    queue.decide(pending?.id as string, { decision: 'approve', by: 'alice' });
    const ran = await call(client, 'typed', { message: 5 });
    expect(resultText(ran)).toBe('fixture:typed:{"message":5}');
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(1);
  });

  it('holds an extra property too', async () => {
    const held = await call(client, 'typed', { message: 'hi', extra: true });
    expect(resultText(held)).toMatch(/^Approval ap_/);
    const reasons = proxy.app.approvals.queue.list({ status: 'pending' }).map((a) => a.reason);
    expect(reasons).toEqual(expect.arrayContaining([expect.stringContaining('"extra" at the top level')]));
  });

  it('never turns a policy deny into a review', async () => {
    const result = await call(client, 'secret', { message: 5 });
    expect(resultText(result)).toContain('Denied by Portcullis, rule "no-secret"');
    expect(await callsOf(proxy.fixtureLog, 'secret')).toBe(0);
  });
});

describe('settings that loosen or tighten the check', () => {
  it('check: false passes mismatches on to the upstream (the rules still decide)', async () => {
    const { proxy, client } = await withProxy('input_schema: { check: false }\n');
    try {
      expect(resultText(await call(client, 'typed', { message: 5, extra: 1 }))).toBe(
        'fixture:typed:{"message":5,"extra":1}',
      );
      expect(resultText(await call(client, 'secret', {}))).toContain('rule "no-secret"');
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('extra_properties: allow passes undeclared properties but still denies wrong types', async () => {
    const { proxy, client } = await withProxy('input_schema: { extra_properties: allow }\n');
    try {
      expect((await call(client, 'typed', { message: 'hi', extra: 1 })).isError).toBeUndefined();
      expect(reasonOf(await call(client, 'typed', { message: 5, extra: 1 }))).toContain('must be string');
      expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('on_invalid_schema: deny refuses calls of a tool whose schema cannot be compiled', async () => {
    const { proxy, client } = await withProxy('input_schema: { on_invalid_schema: deny }\n');
    try {
      const result = await call(client, 'exotic', { x: 1 });
      expect(result.isError).toBe(true);
      expect(reasonOf(result)).toContain('inputSchema of tool "exotic" cannot be compiled');
      expect(await callsOf(proxy.fixtureLog, 'exotic')).toBe(0);
      expect((await call(client, 'typed', { message: 'hi' })).isError).toBeUndefined();
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('refuses unknown settings and values in the policy file', () => {
    expect(errorsOf(`version: 2\ninput_schema: { on_mismatch: allow }\nrules: []\n`).join('\n')).toContain(
      'on_mismatch',
    );
    expect(errorsOf(`version: 2\ninput_schema: { strictness: high }\nrules: []\n`).join('\n')).toContain(
      'strictness',
    );
    expect(policyFrom('version: 2\nrules: []\n').inputSchema).toEqual({
      check: true,
      onMismatch: 'deny',
      extraProperties: 'deny',
      onInvalidSchema: 'skip',
    });
  });
});

describe("server-everything's echo (zod-to-json-schema, draft-07)", () => {
  it('denies a number, a missing message and an extra property; forwards a string', async () => {
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n${everythingServer('everything')}\nrules:\n  - { match: "*", decision: allow }\n`,
    });
    const client = await httpClient(proxy.url);
    try {
      const ok = await call(client, 'echo', { message: 'hello' });
      expect(resultText(ok)).toContain('hello');
      for (const [args, reason] of [
        [{ message: 42 }, /at \/message: must be string/],
        [{}, /must have required property 'message'/],
        [{ message: 'hi', note: 'SMUGGLED-VALUE' }, /"note" at the top level/],
      ] as const) {
        const result = await call(client, 'echo', args);
        expect(result.isError).toBe(true);
        expect(resultText(result)).toMatch(/^Denied by Portcullis: /);
        expect(reasonOf(result)).toMatch(reason);
      }
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('ArgumentSchemas, the validator cache', () => {
  it('gives a changed definition of the same tool a validator of its own', () => {
    const schemas = new ArgumentSchemas({ log: () => {} });
    const v1 = toolInputSchema({ inputSchema: { type: 'object', properties: { n: { type: 'string' } } } });
    const v2 = toolInputSchema({ inputSchema: { type: 'object', properties: { n: { type: 'number' } } } });
    expect(v1?.sha256).not.toBe(v2?.sha256);
    expect(schemas.check('s', 't', v1, { n: 'x' })).toBeUndefined();
    expect(schemas.check('s', 't', v2, { n: 'x' })?.kind).toBe('mismatch');
    expect(schemas.check('s', 't', v1, { n: 'x' })).toBeUndefined();
  });

  it('keeps two servers apart whose schemas share an $id', () => {
    const schemas = new ArgumentSchemas({ log: () => {} });
    const a = toolInputSchema({
      inputSchema: {
        $id: 'https://example.invalid/same.json',
        type: 'object',
        properties: { n: { type: 'string' } },
      },
    });
    const b = toolInputSchema({
      inputSchema: {
        $id: 'https://example.invalid/same.json',
        type: 'object',
        properties: { m: { type: 'string' } },
      },
    });
    expect(schemas.check('a', 't', a, { n: 'x' })).toBeUndefined();
    expect(schemas.check('b', 't', b, { m: 'x' })).toBeUndefined();
  });

  it('closes definitions reached by $ref, unless a $ref sits in an alternative (allOf would then refuse valid calls)', () => {
    const schemas = new ArgumentSchemas({ log: () => {} });
    const nested = toolInputSchema({
      inputSchema: {
        type: 'object',
        properties: { item: { $ref: '#/$defs/Item' } },
        $defs: { Item: { type: 'object', properties: { id: { type: 'integer' } } } },
      },
    });
    expect(schemas.check('s', 'nested', nested, { item: { id: 1 } })).toBeUndefined();
    expect(schemas.check('s', 'nested', nested, { item: { id: 1, sneaky: 2 } })).toMatchObject({
      kind: 'extra',
      reason: expect.stringContaining('"sneaky" at /item'),
    });
    const composed = toolInputSchema({
      inputSchema: {
        type: 'object',
        allOf: [{ $ref: '#/definitions/base' }, { properties: { b: { type: 'string' } } }],
        definitions: { base: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    });
    expect(schemas.check('s', 'composed', composed, { a: 'x', b: 'y' })).toBeUndefined();
    expect(schemas.check('s', 'composed', composed, { a: 1 })?.kind).toBe('mismatch');
  });

  it('calls a tool listed without a schema, or with one that is not an object, invalid (not a match)', () => {
    const schemas = new ArgumentSchemas({ log: () => {} });
    expect(schemas.check('s', 't', undefined, {})?.kind).toBe('invalid');
    expect(schemas.check('s', 't', toolInputSchema({ inputSchema: 'object' }), {})?.kind).toBe('invalid');
  });
});

describe('a definition that changes mid-session', () => {
  it('is checked against the new schema once the upstream relists (the old validator is not reused)', async () => {
    // Pinning off: with it on, the changed definition is held before any schema check (tests/proxy/pins.test.ts).
    const { proxy, client } = await withProxy('pins: { enabled: false }\n');
    try {
      const extra = { message: 'hi', more: 1 };
      expect(reasonOf(await call(client, 'typed', extra))).toContain('"more" at the top level');
      // The fixture renames in place and sends list_changed: "typed" now lists the open schema.
      await call(client, 'rename', { from: 'typed', to: 'retired' });
      await call(client, 'rename', { from: 'open', to: 'typed' });
      expect(resultText(await call(client, 'typed', extra))).toBe('fixture:typed:{"message":"hi","more":1}');
      // And back: the closed schema again, from the cache under its own hash.
      await call(client, 'rename', { from: 'typed', to: 'open' });
      await call(client, 'rename', { from: 'retired', to: 'typed' });
      expect(reasonOf(await call(client, 'typed', extra))).toContain('"more" at the top level');
      expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('two upstreams, names prefixed (the merged list)', () => {
  it("checks each call against its own upstream's schema for the same tool name", async () => {
    const logDir = tempDir('portcullis-fixture-').dir;
    const server = (name: string, schema: unknown) => {
      const env = {
        FIXTURE_LOG: path.join(logDir, `${name}.jsonl`),
        FIXTURE_NAME: name,
        FIXTURE_EXTRA_TOOLS: 'lookup',
        FIXTURE_TOOL_SCHEMAS: JSON.stringify({ lookup: schema }),
      };
      return `  ${name}: { command: node, args: [${JSON.stringify(FIXTURE)}], env: ${JSON.stringify(env)} }`;
    };
    const proxy = await startHttpProxy({
      policy: `version: 2\nservers:\n${server('alpha', { type: 'object', properties: { id: { type: 'string' } } })}\n${server('beta', { type: 'object', properties: { id: { type: 'integer' } } })}\nrules:\n  - { match: "*", decision: allow }\n`,
      upstreamTransport: inProcessFixtures(),
    });
    const client = await httpClient(proxy.url);
    try {
      await client.listTools();
      expect(resultText(await call(client, 'alpha__lookup', { id: 'a1' }))).toBe('alpha:lookup:{"id":"a1"}');
      expect(reasonOf(await call(client, 'beta__lookup', { id: 'a1' }))).toContain('at /id: must be integer');
      expect(resultText(await call(client, 'beta__lookup', { id: 7 }))).toBe('beta:lookup:{"id":7}');
      expect(reasonOf(await call(client, 'alpha__lookup', { id: 7 }))).toContain('at /id: must be string');
      expect(await callsOf(path.join(logDir, 'alpha.jsonl'), 'lookup')).toBe(1);
      expect(await callsOf(path.join(logDir, 'beta.jsonl'), 'lookup')).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
      await rm(logDir, { recursive: true, force: true });
    }
  });
});

describe('arguments that are not an object at all (a raw client)', () => {
  it('are denied by the schema check; without it they reach the upstream', async () => {
    const send = async (settings: string) => {
      const { proxy, client } = await withProxy(settings);
      try {
        const session = await openSession(proxy.url);
        const answers: { result?: Result; error?: unknown }[] = [];
        for (const [id, args] of [
          [1, [1, 2]],
          [2, 'message'],
          [3, 42],
          [4, null],
        ] as const) {
          const { messages } = await post(proxy.url, session, {
            jsonrpc: '2.0',
            id,
            method: 'tools/call',
            params: { name: 'echo', arguments: args },
          });
          answers.push(messages.find((m) => m.id === id) as { result?: Result });
        }
        const records = (await queryAudit(proxy.app.audit.root, { tool: 'echo' })).records;
        return { answers, executions: records.filter((r) => r.event === 'execution').length };
      } finally {
        await client.close();
        await proxy.close();
      }
    };
    const checked = await send('');
    for (const answer of checked.answers) {
      expect(answer.result?.isError, JSON.stringify(answer)).toBe(true);
      expect(reasonOf(answer.result as Result)).toContain('at the top level: must be object');
    }
    expect(checked.executions).toBe(0);
    // The control: the same calls with the check off were forwarded (the upstream's SDK refused them).
    expect((await send('input_schema: { check: false }\n')).executions).toBe(4);
  });
});
