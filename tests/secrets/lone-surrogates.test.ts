// A call whose arguments are not valid Unicode (a lone UTF-16 surrogate) is denied, never forwarded, and logged as strict JSON.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify.js';
import { hasLoneSurrogate } from '../../src/secrets/index.js';
import { auditBytes, strictJsonLines } from '../audit/helpers.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { runStdioProxy } from '../helpers/stdio-proxy.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = 'version: 2\ndefault: deny\nrules:\n  - { id: all, match: "*", decision: allow }\n';

/** What the recording upstream received as tools/call arguments. */
async function forwarded(log: string): Promise<unknown[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { method?: string; args?: unknown })
    .filter((entry) => entry.method === 'tools/call')
    .map((entry) => entry.args);
}

function textOf(result: unknown): string {
  return (((result as { content?: unknown }).content ?? []) as { text?: string }[])
    .map((c) => c.text ?? '')
    .join('\n');
}

describe('over Streamable HTTP, with a real SDK client', () => {
  let proxy: FixtureProxy;
  let client: Client;
  let log: string;

  beforeAll(async () => {
    proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process' });
    log = proxy.fixtureLog;
    client = await httpClient(proxy.url);
  });
  afterAll(async () => {
    await client?.close();
    await proxy?.close();
  });

  it.each([
    ['a lone high surrogate in a value', { note: 'refund \uD800 now' }, '/note'],
    [
      'a lone low surrogate deep in a list',
      { items: [{ sku: 'A', memo: ['ok', '\uDC00'] }] },
      '/items/0/memo/1',
    ],
    ['a high surrogate at the very end', { note: 'cut off \uD83D' }, '/note'],
    ['a lone surrogate in a key', { 'k\uDBFF': 1 }, '/k\uFFFD'],
  ])('denies %s, naming where, and forwards nothing', async (_what, args, where) => {
    const before = (await forwarded(log)).length;
    const result = await client.callTool({ name: 'echo', arguments: args });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('not valid Unicode: a lone UTF-16 surrogate at');
    expect(textOf(result)).toContain(`surrogate at ${where}`);
    expect(hasLoneSurrogate(textOf(result))).toBe(false);
    expect((await forwarded(log)).length).toBe(before);
  });

  it('forwards well-formed text, astral characters included, unchanged', async () => {
    const args = { note: 'pairs are fine \uD83D\uDE00 \u{1F4A9}', plain: 'ä' };
    const result = await client.callTool({ name: 'echo', arguments: args });
    expect(result.isError).not.toBe(true);
    await waitFor(
      async () => (await forwarded(log)).some((a) => JSON.stringify(a) === JSON.stringify(args)),
      'the call upstream',
    );
  });

  it('writes every decision as strict JSON, the replacement named, and the chain verifies', async () => {
    await proxy.app.audit.checkpoint();
    const records = strictJsonLines(await auditBytes(path.join(proxy.dataDir, 'audit')));
    const denied = records.filter((r) => r.event === 'decision' && r.decision === 'deny');
    expect(denied).toHaveLength(4);
    for (const record of denied) {
      expect(record.lone_surrogates_replaced).toEqual(
        expect.arrayContaining([expect.stringMatching(/^\/args\//)]),
      );
      expect(JSON.stringify(record)).toContain('\uFFFD');
    }
    expect(await verifyAudit(path.join(proxy.dataDir, 'audit'))).toMatchObject({ ok: true });
  });
});

describe('over stdio, raw JSON lines with \\ud800 escapes', () => {
  it('denies the call, forwards the well-formed one, and keeps the log strict', async () => {
    const dir = tempDir().dir;
    const policy = path.join(dir, 'policy.yml');
    await import('node:fs/promises').then((fs) => fs.writeFile(policy, POLICY));
    const log = path.join(dir, 'fixture.jsonl');
    const dataDir = path.join(dir, 'data');
    // In this process through runProxy's streams: the escapes on the pipe are the point, not the process.
    const child = runStdioProxy({ dir, fixtureLog: log });
    const responses = new Map<number, Record<string, unknown>>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { id?: number };
      if (typeof message.id === 'number') responses.set(message.id, message as Record<string, unknown>);
    });
    // Written by hand: a JSON text may spell a lone surrogate as an escape, and JSON.parse accepts it.
    const send = (line: string) => child.stdin.write(`${line}\n`);
    try {
      send(
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}',
      );
      await waitFor(() => responses.get(1), 'initialize', 20_000);
      send('{"jsonrpc":"2.0","method":"notifications/initialized"}');
      send('{"jsonrpc":"2.0","id":2,"method":"tools/list"}');
      await waitFor(() => responses.get(2), 'tools/list', 20_000);
      send(
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"note":"a\\ud800b"}}}',
      );
      send(
        '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"note":"a\\ud83d\\ude00b"}}}',
      );
      const bad = await waitFor(() => responses.get(3), 'the bad call');
      const good = await waitFor(() => responses.get(4), 'the good call');
      const badResult = bad.result as { isError?: boolean; content: { text: string }[] };
      expect(badResult.isError).toBe(true);
      expect(badResult.content[0]?.text).toContain('lone UTF-16 surrogate at /note');
      expect((good.result as { isError?: boolean }).isError).not.toBe(true);
      expect(await forwarded(log)).toEqual([{ note: 'a\uD83D\uDE00b' }]);
    } finally {
      child.stdin.end();
      await child.exited;
    }
    const records = strictJsonLines(await auditBytes(path.join(dataDir, 'audit')));
    const decisions = records.filter((r) => r.event === 'decision');
    expect(decisions.map((r) => [r.decision, (r.args as { note: string }).note])).toEqual([
      ['deny', 'a\uFFFDb'],
      ['allow', 'a\uD83D\uDE00b'],
    ]);
    expect(decisions[0]?.lone_surrogates_replaced).toEqual(['/args/note']);
    expect(await verifyAudit(path.join(dataDir, 'audit'))).toMatchObject({ ok: true });
  });
});
