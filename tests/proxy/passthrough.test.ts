// One real server-everything behind the proxy over Streamable HTTP: everything but tools/call passes untouched.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  type Progress,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECISION_META_KEY } from '../../src/proxy/index.js';
import { everythingServer } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
default: deny
servers:
${everythingServer('everything')}
rules:
  - { id: no-sums, match: get-sum, args: { a: { gt: 100 } }, decision: deny, reason: "big sums are forbidden" }
  - { id: no-env, match: get-env, decision: deny, reason: "environment is private" }
  - { id: all, match: "*", decision: allow }
`;

let proxy: TestProxy;
let client: Client;
const samplingRequests: unknown[] = [];
const toolListChanges: number[] = [];

beforeAll(async () => {
  proxy = await startHttpProxy({ policy: POLICY });
  client = await httpClient(proxy.url, {
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
    samplingRequests.push(request.params);
    return {
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: 'sampled by the test client' },
    };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada' } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///tmp/test-root', name: 'root' }],
  }));
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
    toolListChanges.push(Date.now());
  });
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

describe('initialize', () => {
  it("presents the single upstream's identity and capabilities, tools always with listChanged", () => {
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    const caps = client.getServerCapabilities();
    expect(caps?.tools).toEqual({ listChanged: true });
    expect(caps?.resources).toEqual({ subscribe: true, listChanged: true });
    expect(caps?.prompts).toBeDefined();
    expect(caps?.completions).toBeDefined();
    expect(caps?.logging).toBeDefined();
  });

  it('passes the client capabilities upstream: capability-dependent tools appear', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['trigger-sampling-request', 'trigger-elicitation-request', 'get-roots-list']),
    );
  });
});

describe('tools', () => {
  it('lists names unchanged and hides tools the policy always denies', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).toContain('get-sum'); // denied only for some arguments: stays listed
    expect(names).not.toContain('get-env');
  });

  it('forwards an allowed call and returns the result unchanged', async () => {
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello' } });
    expect(result).toEqual({ content: [{ type: 'text', text: 'Echo: hello' }] });
  });

  it('returns structured content untouched', async () => {
    const result = await client.callTool({
      name: 'get-structured-content',
      arguments: { location: 'Chicago' },
    });
    expect(result.structuredContent).toMatchObject({ temperature: expect.any(Number) });
  });

  it('denies by rule with isError naming the rule and the reason', async () => {
    const result = await client.callTool({ name: 'get-sum', arguments: { a: 1000, b: 1 } });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('no-sums');
    expect(JSON.stringify(result.content)).toContain('big sums are forbidden');
    expect(result._meta?.[DECISION_META_KEY]).toMatchObject({ decision: 'deny', rule: 'no-sums' });
    const allowed = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    expect(JSON.stringify(allowed.content)).toContain('3');
  });

  it('denies a hidden tool when called anyway', async () => {
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('environment is private');
  });

  it('denies a name no upstream listed, without forwarding', async () => {
    const result = await client.callTool({ name: 'no-such-tool', arguments: {} });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('not listed');
  });

  it('restores the client progress token on progress notifications of a long call', async () => {
    const progress: Progress[] = [];
    const result = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      CallToolResultSchema,
      {
        onprogress: (p) => progress.push(p),
      },
    );
    expect(result.isError).toBeFalsy();
    expect(progress.length).toBe(3);
    expect(progress.at(-1)).toMatchObject({ progress: 3, total: 3 });
  });

  it('cancels upstream when the client aborts a call, and keeps serving', async () => {
    const controller = new AbortController();
    // Aborted at its first progress (every 100 ms), so the call is surely running upstream by then.
    const call = client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 30, steps: 300 } },
      CallToolResultSchema,
      {
        signal: controller.signal,
        onprogress: () => controller.abort('test cancels'),
      },
    );
    await expect(call).rejects.toThrow();
    const after = await client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    expect(JSON.stringify(after.content)).toContain('still here');
  });

  it('routes a sampling request from the upstream to this client and its answer back', async () => {
    const result = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'hi', maxTokens: 5 },
    });
    expect(samplingRequests.length).toBeGreaterThan(0);
    expect(JSON.stringify(result.content)).toContain('sampled by the test client');
  });

  it('routes elicitation and roots requests to this client', async () => {
    const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(elicited.content)).toContain('Ada');
    const roots = await client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(JSON.stringify(roots.content)).toContain('file:///tmp/test-root');
  });

  it('writes a decision record before and an execution record after each forwarded call', async () => {
    const text = await readFile(path.join(proxy.dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
    const records = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const decision = records.find((r) => r.tool === 'echo' && r.args?.message === 'hello');
    const echo = records.filter((r) => r.correlation_id === decision?.correlation_id);
    expect(echo.map((r) => r.event)).toEqual(['decision', 'execution']);
    expect(echo[0]).toMatchObject({
      agent: 'anonymous',
      server: 'everything',
      decision: 'allow',
      rule: 'all',
    });
    expect(echo[1]).toMatchObject({ outcome: 'ok', correlation_id: echo[0].correlation_id });
    const denied = records.filter((r) => r.tool === 'get-env');
    expect(denied.map((r) => r.event)).toEqual(['decision']);
    expect(denied[0]).toMatchObject({
      decision: 'deny',
      rule: 'no-env',
      policy_sha256: proxy.app.policy.current.sha256,
    });
  });
});

describe('resources, prompts, completion, logging', () => {
  it('lists, reads and subscribes to resources with URIs unchanged', async () => {
    const { resources } = await client.listResources();
    const first = resources[0];
    expect(first?.uri).toMatch(/^demo:\/\//);
    const read = await client.readResource({ uri: first?.uri as string });
    expect(read.contents[0]?.uri).toBe(first?.uri);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(
      'demo://resource/dynamic/text/{resourceId}',
    );
    const dynamic = await client.readResource({ uri: 'demo://resource/dynamic/text/7' });
    expect(dynamic.contents[0]?.uri).toBe('demo://resource/dynamic/text/7');
    await expect(client.subscribeResource({ uri: first?.uri as string })).resolves.toEqual({});
    await expect(client.unsubscribeResource({ uri: first?.uri as string })).resolves.toEqual({});
  });

  it('gets prompts with arguments and completes prompt arguments', async () => {
    const names = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(names).toContain('args-prompt');
    const prompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris' } });
    expect(JSON.stringify(prompt.messages)).toContain('Paris');
    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'department', value: 'En' },
    });
    expect(completion.completion.values).toContain('Engineering');
  });

  it('forwards logging/setLevel and the upstream log messages', async () => {
    const messages: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => {
      messages.push(n.params);
    });
    await client.setLoggingLevel('debug');
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await waitFor(() => messages.length > 0, 'a logging notification');
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  });

  it('answers ping and refuses unknown methods such as server/discover with -32601', async () => {
    await expect(client.ping()).resolves.toEqual({});
    const refused = client.request({ method: 'server/discover' as 'ping' }, CallToolResultSchema);
    await expect(refused).rejects.toMatchObject({ code: -32601 });
    await expect(refused).rejects.toBeInstanceOf(McpError);
  });
});

describe('policy reload', () => {
  it('applies an edited policy live, sends tools/list_changed, and refuses a broken one', async () => {
    const before = toolListChanges.length;
    await writeFile(
      proxy.policyFile,
      POLICY.replace('id: all, match: "*", decision: allow', 'id: all, match: "*", decision: deny'),
    );
    await waitFor(() => toolListChanges.length > before, 'tools/list_changed after the reload');
    expect((await client.listTools()).tools).toEqual([]);
    const denied = await client.callTool({ name: 'echo', arguments: { message: 'x' } });
    expect(denied.isError).toBe(true);

    const sha = proxy.app.policy.current.sha256;
    await writeFile(proxy.policyFile, 'version: 2\nrules: [ {id: x, match: "*", decision: maybe} ]\n');
    await waitFor(() => proxy.logs.some((l) => l.includes('reload refused')), 'the refused reload');
    expect(proxy.logs.some((l) => /policy\.yml:\d+:\d+: /.test(l))).toBe(true);
    expect(proxy.app.policy.current.sha256).toBe(sha);

    await writeFile(proxy.policyFile, POLICY);
    await waitFor(() => proxy.app.policy.current.sha256 !== sha, 'the good policy again');
    const allowed = await client.callTool({ name: 'echo', arguments: { message: 'back' } });
    expect(JSON.stringify(allowed.content)).toContain('back');
  });
});
