// Tool-definition pinning through the real proxy: a definition that changes mid-session (rug pull) is hidden and its calls refused until a person accepts it.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { PinStore } from '../../src/pins/index.js';
import { cli } from '../helpers/cli.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';

// Two tools with different definitions: swapping their names changes what "typed" is, as a server
// that rewrites a trusted tool's description or schema would.
const ENV = {
  FIXTURE_EXTRA_TOOLS: 'typed,open',
  FIXTURE_TOOL_SCHEMAS: JSON.stringify({
    typed: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
    open: { type: 'object', properties: { message: { type: 'string' }, to: { type: 'string' } } },
  }),
};

let proxy: FixtureProxy | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await proxy?.close();
  proxy = undefined;
  client = undefined;
});

async function start(settings = ''): Promise<{ proxy: FixtureProxy; client: Client }> {
  proxy = await startFixtureProxy({
    policy: `version: 2\n${settings}rules:\n  - { match: "*", decision: allow }\n`,
    upstream: 'in-process',
    env: ENV,
  });
  client = await httpClient(proxy.url);
  return { proxy, client };
}

const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;
const names = async (c: Client) => (await c.listTools()).tools.map((t) => t.name).sort();

/** The fixture swaps the names of `typed` and `open` (sending list_changed each time). */
async function swap(c: Client): Promise<void> {
  await call(c, 'rename', { from: 'typed', to: 'swap' });
  await call(c, 'rename', { from: 'open', to: 'typed' });
  await call(c, 'rename', { from: 'swap', to: 'open' });
}

describe('tool-definition pins', () => {
  it('pins on first use, holds a changed definition (hidden, refused, audited once), and runs it once a person accepts it', async () => {
    const { proxy, client } = await start();
    expect(await names(client)).toContain('typed');
    expect(resultText(await call(client, 'typed', { message: 'first' }))).toBe(
      'fixture:typed:{"message":"first"}',
    );
    expect(new PinStore(proxy.dataDir).servers()).toEqual(['fixture']);

    await swap(client);
    const listed = await names(client);
    expect(listed).not.toContain('typed');
    expect(listed).not.toContain('open');
    const refused = await call(client, 'typed', { message: 'second', to: 'x' });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(
      /^Denied by Portcullis: the definition of tool "typed" on fixture changed since it was pinned \(pinned sha256:[0-9a-f]{12}…, now sha256:[0-9a-f]{12}…\): it is held until a person accepts it \(portcullis pins diff fixture typed\)$/,
    );
    await names(client);
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(1);

    const audit = await queryAudit(`${proxy.dataDir}/audit`, { event: 'pin' });
    const holds = audit.records.filter((r) => r.action === 'held');
    expect(holds.map((r) => [r.tool, r.status]).sort()).toEqual([
      ['open', 'changed'],
      ['typed', 'changed'],
    ]);

    const diff = await cli('pins', 'diff', 'fixture', 'typed', '--data-dir', proxy.dataDir);
    expect(diff.stdout).toContain('+      "to": {');
    expect((await cli('pins', 'accept', 'fixture', 'typed', '--data-dir', proxy.dataDir)).code).toBe(0);
    expect(await names(client)).toContain('typed');
    expect(resultText(await call(client, 'typed', { message: 'third', to: 'x' }))).toBe(
      'fixture:typed:{"message":"third","to":"x"}',
    );
    // "open" was not accepted: still held.
    expect(resultText(await call(client, 'open', { message: 'x' }))).toContain('changed since it was pinned');
  });

  it('holds every tool of a server whose pin file is damaged, and leaves the file as it is', async () => {
    const { proxy, client } = await start();
    await names(client);
    const file = new PinStore(proxy.dataDir).fileOf('fixture');
    const damaged = '{"version": 1, "server": "fixture"';
    writeFileSync(file, damaged);
    expect(await names(client)).toEqual([]);
    const refused = await call(client, 'typed', { message: 'x' });
    expect(resultText(refused)).toContain('the pins of fixture cannot be trusted');
    expect(await callsOf(proxy.fixtureLog, 'typed')).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(damaged);
  });

  it('holds a tool that appears later when pins.new_tools is quarantine, and lets it in by default', async () => {
    const quarantined = await start('pins: { new_tools: quarantine }\n');
    await names(quarantined.client);
    await call(quarantined.client, 'rename', { from: 'echo', to: 'echo_v2' });
    expect(await names(quarantined.client)).not.toContain('echo_v2');
    expect(resultText(await call(quarantined.client, 'echo_v2', {}))).toContain(
      'tool "echo_v2" appeared on fixture after its tools were pinned, and pins.new_tools is quarantine',
    );
    await client?.close();
    await proxy?.close();

    const open = await start();
    await names(open.client);
    await call(open.client, 'rename', { from: 'echo', to: 'echo_v2' });
    expect(await names(open.client)).toContain('echo_v2');
  });

  it('pins nothing and holds nothing with pins.enabled false', async () => {
    const { proxy, client } = await start('pins: { enabled: false }\n');
    await names(client);
    await swap(client);
    expect(await names(client)).toContain('typed');
    expect(resultText(await call(client, 'typed', { message: 'm', to: 't' }))).toBe(
      'fixture:typed:{"message":"m","to":"t"}',
    );
    expect(new PinStore(proxy.dataDir).servers()).toEqual([]);
  });
});
