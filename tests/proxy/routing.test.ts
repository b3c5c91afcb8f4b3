// With naming.prefix: never, a name two upstreams list goes to neither, however they restart or relist; a down upstream is named, never replaced.

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { fixtureLog, resultText } from '../helpers/fixture-log.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { artifactsDir, tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'routing-admin-token-0123456789abcdef';

function fixtureServer(name: string, prefix: string, log: string, prompts: string, extra: string): string {
  const env = {
    FIXTURE_LOG: log,
    FIXTURE_NAME: name,
    FIXTURE_TOOL_PREFIX: prefix,
    FIXTURE_EXTRA_TOOLS: extra,
    FIXTURE_PROMPTS: prompts,
  };
  return `  ${name}: { command: node, args: [${JSON.stringify(FIXTURE)}], env: ${JSON.stringify(env)} }`;
}

describe('a tool name two upstreams list, with naming.prefix: never', () => {
  let proxy: TestProxy;
  let alphaLog: string;
  let betaLog: string;
  const clients: Client[] = [];

  const connect = async (): Promise<Client> => {
    const client = await httpClient(proxy.url);
    clients.push(client);
    return client;
  };
  /** Sessions shared by tests that only read, and by tests that rename tools on beta. */
  let readerClient: Promise<Client> | undefined;
  let renamerClient: Promise<Client> | undefined;
  const reader = (): Promise<Client> => {
    readerClient ??= connect();
    return readerClient;
  };
  const renamer = (): Promise<Client> => {
    renamerClient ??= connect();
    return renamerClient;
  };
  /** Calls of `shared` (or the shared prompt) that reached either upstream: there must never be one. */
  const reachedShared = async () =>
    [...(await fixtureLog(alphaLog)), ...(await fixtureLog(betaLog))].filter(
      (e) =>
        (e.method === 'tools/call' || e.method === 'prompts/get') &&
        (e.name?.startsWith('shared') || e.name === 'late_tool'),
    );
  const expectAmbiguous = (result: unknown) => {
    const text = resultText(result);
    expect((result as CallToolResult).isError, text).toBe(true);
    expect(text).toContain('"shared" is ambiguous');
    expect(text).toContain('"alpha"');
    expect(text).toContain('"beta"');
  };

  beforeAll(async () => {
    const dir = tempDir().dir;
    alphaLog = path.join(dir, 'alpha.jsonl');
    betaLog = path.join(dir, 'beta.jsonl');
    proxy = await startHttpProxy({
      policy: `version: 2
default: deny
naming: { prefix: never }
servers:
${fixtureServer('alpha', 'a_', alphaLog, 'shared_prompt,alpha_prompt', 'shared,late_tool')}
${fixtureServer('beta', 'b_', betaLog, 'shared_prompt', 'shared')}
rules:
  - { id: late, match: late_tool, decision: review, reason: "a person looks first" }
  - { id: all, match: "*", decision: allow }
`,
      ui: 0,
      env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await proxy?.close();
  });

  it('is denied naming both upstreams when called before any listing, and reaches neither', async () => {
    // A session that has listed nothing yet; the next tests go on with it (each session spawns both upstreams).
    const client = await reader();
    expectAmbiguous(await client.callTool({ name: 'shared', arguments: { first: true } }));
    // Names only one upstream lists still work.
    const unique = await client.callTool({ name: 'a_echo', arguments: { only: 'alpha' } });
    expect(unique.content).toEqual([{ type: 'text', text: '{"only":"alpha"}' }]);
    expect(await reachedShared()).toEqual([]);
  });

  it('is hidden from tools/list and prompts/list, and warned about once on stderr and on the Policy page', async () => {
    const client = await reader();
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['a_echo', 'b_echo', 'a_crash', 'b_rename']));
    expect(tools).not.toContain('shared');
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(['alpha_prompt']);

    const warnings = proxy.logs.filter((l) => l.startsWith('warning:') && l.includes('tool "shared"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('upstreams "alpha" and "beta"');
    expect(
      proxy.logs.filter((l) => l.startsWith('warning:') && l.includes('prompt "shared_prompt"')),
    ).toHaveLength(1);

    const web = proxy.app.web?.url as string;
    const api = await fetch(`${web}/api/policy`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const status = (await api.json()) as { warnings: string[] };
    expect(status.warnings).toEqual([
      expect.stringContaining('tool "shared" is listed by upstreams "alpha" and "beta"'),
      expect.stringContaining('prompt "shared_prompt" is listed by upstreams "alpha" and "beta"'),
    ]);

    // The Policy page, as a person sees it after signing in with the token.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${web}/login`);
      await page.fill('#token', TOKEN);
      await Promise.all([page.waitForURL(`${web}/`), page.click('button[type=submit]')]);
      await page.goto(`${web}/policy`);
      const warning = page.locator('h2.warn', { hasText: 'Warnings' });
      await warning.waitFor();
      const items = await page.locator('ul.warnings li').allTextContents();
      expect(items).toEqual([
        expect.stringContaining('tool "shared" is listed by upstreams "alpha" and "beta"'),
        expect.stringContaining('prompt "shared_prompt"'),
      ]);
      const shot = path.join(artifactsDir(), 'policy-ambiguous.png');
      await page.screenshot({ path: shot, fullPage: true });
      process.stderr.write(`Policy page screenshot: ${shot}\n`);
    } finally {
      await browser.close();
    }
  });

  it('refuses the prompt the same way, for prompts/get and completions', async () => {
    const client = await reader();
    await expect(client.getPrompt({ name: 'shared_prompt' })).rejects.toThrow(
      /"shared_prompt" is ambiguous: upstreams "alpha" and "beta"/,
    );
    await expect(
      client.complete({
        ref: { type: 'ref/prompt', name: 'shared_prompt' },
        argument: { name: 'a', value: '' },
      }),
    ).rejects.toThrow(/ambiguous/);
    const unique = await client.getPrompt({ name: 'alpha_prompt' });
    expect(unique.messages).toEqual([
      { role: 'user', content: { type: 'text', text: 'alpha:alpha_prompt' } },
    ]);
    expect(await reachedShared()).toEqual([]);
  });

  it('stays refused while one upstream is killed and restarts, and after', async () => {
    const client = await connect();
    await client.listTools();
    // The alpha child of this session: the one that answers this call.
    await client.callTool({ name: 'a_echo', arguments: { whose: 'this session' } });
    const pid = (await fixtureLog(alphaLog)).find((e) => e.args?.whose === 'this session')?.pid as number;
    const count = (text: string) => proxy.logs.filter((l) => l.includes(text)).length;
    const drops = count('upstream alpha: disconnected');
    const reconnects = count('upstream alpha: reconnected');
    process.kill(pid, 'SIGKILL');
    await waitFor(() => count('upstream alpha: disconnected') > drops, 'the proxy to see alpha drop');
    // While alpha is down its earlier names still count: the call must not fall through to beta.
    expectAmbiguous(await client.callTool({ name: 'shared', arguments: { during: 'restart' } }));
    await waitFor(() => count('upstream alpha: reconnected') > reconnects, 'alpha to restart');
    const again = await client.callTool({ name: 'a_echo', arguments: { after: 'restart' } });
    expect(again.content).toEqual([{ type: 'text', text: '{"after":"restart"}' }]);
    expectAmbiguous(await client.callTool({ name: 'shared', arguments: { after: 'restart' } }));
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('shared');
    expect(await reachedShared()).toEqual([]);
  });

  it('stays refused when one upstream stops listing it (ambiguity, once seen, is kept)', async () => {
    const client = await renamer();
    await client.listTools();
    let changed = false;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed = true;
    });
    await client.callTool({ name: 'b_rename', arguments: { from: 'shared', to: 'b_shared' } });
    await waitFor(() => changed, 'tools/list_changed from beta');
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('b_shared');
    // Only alpha lists `shared` now, but the client may still mean beta's: refused, not handed to alpha.
    expect(tools).not.toContain('shared');
    expectAmbiguous(await client.callTool({ name: 'shared', arguments: { after: 'rename' } }));
    const renamed = await client.callTool({ name: 'b_shared', arguments: { via: 'new name' } });
    expect(resultText(renamed)).toBe('beta:b_shared:{"via":"new name"}');
    expect(await reachedShared()).toEqual([]);
  });

  it('is not forwarded when it becomes ambiguous while a person reviews the call', async () => {
    const client = await renamer();
    await client.listTools();
    const held = client.callTool({ name: 'late_tool', arguments: { reviewed: true } }, undefined, {
      onprogress: () => {},
      resetTimeoutOnProgress: true,
      timeout: 20_000,
    });
    const store = proxy.app.approvals.queue.store;
    const pending = await waitFor(
      () => store.list({ status: 'pending' }).find((a) => a.tool === 'late_tool'),
      'the call to be parked for review',
    );
    // Meanwhile beta starts listing the same name.
    let changed = false;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      changed = true;
    });
    await client.callTool({ name: 'b_rename', arguments: { from: 'b_echo', to: 'late_tool' } });
    await waitFor(() => changed, 'tools/list_changed from beta');
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('late_tool');
    proxy.app.approvals.queue.decide(pending.id, { decision: 'approve', by: 'test reviewer' });
    await expect(held).rejects.toThrow(/"late_tool" is ambiguous/);
    expect(await reachedShared()).toEqual([]);
  });
});

describe('an upstream that stays down', () => {
  let proxy: TestProxy;
  let log: string;
  let refuse: string;
  let client: Client;

  beforeAll(async () => {
    const dir = tempDir().dir;
    log = path.join(dir, 'fixture.jsonl');
    refuse = path.join(dir, 'refuse');
    proxy = await startHttpProxy({
      policy: 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n',
      command: { name: 'fixture', command: 'node', args: [FIXTURE] },
      env: { ...process.env, FIXTURE_LOG: log, FIXTURE_EXIT_IF_EXISTS: refuse },
      // Short, so the test does not sit through the default few seconds.
      routing: { upstreamWaitMs: 300, missIntervalMs: 100 },
    });
    client = await httpClient(proxy.url);
  });

  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  it('is named as down, never as "not listed", and serves again once back', async () => {
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('echo');
    await writeFile(refuse, 'the fixture exits at start while this file exists');
    const pid = (await fixtureLog(log)).find((e) => e.event === 'started')?.pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await fixtureLog(log)).some((e) => e.event === 'refused'), 'a failed restart');

    // A listed tool: routed to its upstream, whose absence is the error.
    await expect(client.callTool({ name: 'echo', arguments: { while: 'down' } })).rejects.toMatchObject({
      code: -32000,
      message: expect.stringContaining('upstream fixture is down: '),
    });
    // A name nobody listed: the denial says which upstream could not be asked.
    const unknown = await client.callTool({ name: 'maybe_new', arguments: {} });
    expect(unknown.isError).toBe(true);
    expect(resultText(unknown)).toContain('upstream fixture is down: ');
    expect(resultText(unknown)).not.toContain('not listed');

    await rm(refuse);
    const back = await waitFor(
      async () => {
        const result = await client
          .callTool({ name: 'echo', arguments: { while: 'back' } })
          .catch(() => undefined);
        return result && result.isError !== true ? result : undefined;
      },
      'the upstream to come back',
      20_000,
    );
    expect(back.content).toEqual([{ type: 'text', text: '{"while":"back"}' }]);
    const calls = (await fixtureLog(log)).filter((e) => e.method === 'tools/call');
    expect(calls.map((e) => e.args)).toEqual([{ while: 'back' }]);
  });
});
