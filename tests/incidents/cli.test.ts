// `portcullis incidents ...` beside a running proxy on the same data dir: a suspension from the shell reaches the agent's open session, and a reinstatement undoes it.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type CallToolResult, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { callsOf, resultText } from '../helpers/fixture-log.js';
import { type FixtureProxy, httpClient, startFixtureProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

const POLICY = `version: 2
approval: { max_hold: 60s }
rules:
  - { id: bad, match: crash, decision: deny, severity: medium }
  - { match: returns, decision: review }
  - { match: "*", decision: allow }
`;

let proxy: FixtureProxy | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await proxy?.close();
});

const call = async (c: Client, name: string, args: Record<string, unknown> = {}) =>
  (await c.callTool({ name, arguments: args })) as CallToolResult;

describe('portcullis incidents', () => {
  it('suspends and reinstates a running agent from the shell; lists, shows, acks and resolves', async () => {
    proxy = await startFixtureProxy({ policy: POLICY, upstream: 'in-process' });
    client = await httpClient(proxy.url);
    const listChanged = { count: 0 };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged.count += 1;
    });
    const dataDir = proxy.dataDir;
    expect((await call(client, 'crash')).isError).toBe(true);
    const held = client.callTool({ name: 'returns', arguments: { result: { content: [] } } }, undefined, {
      onprogress: () => {},
      timeout: 30_000,
    }) as Promise<CallToolResult>;
    await waitFor(() => proxy?.app.approvals.store.countPending() === 1, 'the held approval');

    const suspended = await cli(
      'incidents',
      'suspend',
      'anonymous',
      '--reason',
      'odd refunds',
      '--by',
      'ops',
      '--data-dir',
      dataDir,
    );
    expect(suspended).toMatchObject({ code: 0, stdout: 'anonymous suspended: odd refunds\n' });
    expect(resultText(await held)).toContain(
      'withdrawn: agent suspended: by ops (command line): odd refunds',
    );
    await waitFor(() => listChanged.count > 0, 'tools/list_changed');
    expect((await client.listTools()).tools).toEqual([]);
    expect(resultText(await call(client, 'echo'))).toContain(
      'agent suspended: by ops (command line): odd refunds',
    );
    expect((await cli('incidents', 'suspend', 'anonymous', '--data-dir', dataDir)).code).toBe(2);

    const list = await cli('incidents', 'list', '--data-dir', dataDir);
    expect(list.stdout).toMatch(/^SUSPENDED anonymous {2}since .* by ops \(command line\): -: odd refunds\n/);
    const id = /(inc_[0-9a-f]+) {2}open {2}medium {2}agent=anonymous {2}policy_violation/.exec(
      list.stdout,
    )?.[1];
    expect(id).toBeDefined();
    expect(
      (await cli('incidents', 'list', '--status', 'resolved', '--data-dir', dataDir)).stdout,
    ).not.toContain(id);
    expect((await cli('incidents', 'list', '--severity', 'urgent', '--data-dir', dataDir)).code).toBe(2);
    expect((await cli('incidents', 'show', id as string, '--data-dir', dataDir)).stdout).toContain(
      'source: rule (bad)',
    );
    const acked = await cli('incidents', 'ack', id as string, '--by', 'ops', '--data-dir', dataDir);
    expect(acked.stdout).toContain(`${id}  acknowledged`);
    expect((await cli('incidents', 'ack', id as string, '--data-dir', dataDir)).code).toBe(2);
    expect((await cli('incidents', 'resolve', id as string, '--data-dir', dataDir)).code).toBe(0);
    expect((await cli('incidents', 'show', id as string, '--data-dir', dataDir)).stdout).toMatch(
      /acknowledged .* by ops \(command line\)\n {2}resolved .* by /,
    );

    const before = listChanged.count;
    expect((await cli('incidents', 'reinstate', 'anonymous', '--data-dir', dataDir)).code).toBe(0);
    await waitFor(() => listChanged.count > before, 'tools/list_changed after reinstatement');
    expect(resultText(await call(client, 'echo', { message: 'back' }))).toContain('back');
    expect((await cli('incidents', 'reinstate', 'anonymous', '--data-dir', dataDir)).code).toBe(2);
    expect(await callsOf(proxy.fixtureLog, 'echo')).toBe(1);
    expect(await callsOf(proxy.fixtureLog, 'returns')).toBe(0);
  });

  it('says so when the data dir has no incidents', async () => {
    const result = await cli('incidents', 'list', '--data-dir', '/nonexistent-portcullis-dir');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no incidents in /nonexistent-portcullis-dir');
  });
});
