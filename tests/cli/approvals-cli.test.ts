// Deciding held calls without a browser: the pending call names the command, `portcullis approvals` decides, the proxy runs it once.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { cli } from '../helpers/cli.js';
import { callsOf, fixtureLog, resultText } from '../helpers/fixture-log.js';
import { fixtureProxyPerTest } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const POLICY = `version: 2
approval: { max_hold: 0s }
rules:
  - { id: sends-need-a-person, match: send, decision: review, reason: "a person reads what is sent" }
  - { match: "*", decision: allow }
`;

const open = fixtureProxyPerTest();
const start = () => open({ policy: POLICY, upstream: 'in-process', env: { FIXTURE_EXTRA_TOOLS: 'send' } });

const send = async (c: Client, args: Record<string, unknown>) =>
  (await c.callTool({ name: 'send', arguments: args })) as CallToolResult;
const idIn = (text: string) => (/\b(ap_[A-Za-z0-9_-]+)/.exec(text) as RegExpExecArray)[1] as string;

describe('portcullis approvals', () => {
  it('approves from the shell: the pending call names the command, list shows it masked, the retry runs once', async () => {
    const { proxy, client } = await start();
    const args = { to: 'ops@example.com', password: 'hunter2-hunter2' };
    const pending = resultText(await send(client, args));
    const id = idIn(pending);
    // No UI is served (ui off): the client is told exactly how a person decides.
    expect(pending).toContain(
      `(no approvals UI is served: decide with "portcullis approvals approve ${id} --data-dir ${proxy.dataDir}" or "portcullis approvals deny ${id} --data-dir ${proxy.dataDir}")`,
    );

    const list = await cli('approvals', 'list', '--data-dir', proxy.dataDir);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${id}  pending  agent=anonymous  fixture/send  rule=sends-need-a-person`);
    expect(list.stdout).toContain('reason: a person reads what is sent');
    expect(list.stdout).toContain('"to":"ops@example.com"');
    expect(list.stdout).not.toContain('hunter2');
    expect(list.stdout).toMatch(/asked \d+s ago, expires in \d+m/);
    expect((await cli('approvals', 'list', '--reveal', '--data-dir', proxy.dataDir)).stdout).toContain(
      'hunter2-hunter2',
    );

    const approved = await cli(
      'approvals',
      'approve',
      id,
      '--by',
      'alice',
      '--note',
      'checked',
      '--data-dir',
      proxy.dataDir,
    );
    expect(approved).toMatchObject({
      code: 0,
      stdout: `${id} approved by alice (command line): fixture/send\n`,
    });
    expect(await callsOf(proxy.fixtureLog, 'send')).toBe(0);
    // It runs with exactly the arguments shown (the echo in the result is masked like any secret in a result).
    expect(resultText(await send(client, args))).toContain('"to":"ops@example.com"');
    const ran = (await fixtureLog(proxy.fixtureLog)).filter(
      (e) => e.method === 'tools/call' && e.name === 'send',
    );
    expect(ran.map((e) => e.args)).toEqual([args]);
    expect(await callsOf(proxy.fixtureLog, 'send')).toBe(1);

    const records = (await queryAudit(join(proxy.dataDir, 'audit'), { event: 'approval' })).records;
    expect(records.find((r) => r.status === 'approved')).toMatchObject({
      approval_id: id,
      decided_by: 'alice (command line)',
      note: 'checked',
    });
    const tail = await cli('audit', 'tail', '-n', '20', '--data-dir', proxy.dataDir);
    expect(tail.stdout).toContain(`approval_id=${id}  status=approved  decided_by=alice (command line)`);

    // Decided once: a second decision is a usage error that changes nothing.
    const again = await cli('approvals', 'deny', id, '--data-dir', proxy.dataDir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`approval ${id} is already approved`);
    expect((await cli('approvals', 'list', '--all', '--data-dir', proxy.dataDir)).stdout).toContain(
      'approved by alice (command line) at',
    );
  });

  it('denies from the shell, and the retry is refused without running', async () => {
    const { proxy, client } = await start();
    const id = idIn(resultText(await send(client, { to: 'x' })));
    expect((await cli('approvals', 'deny', id, '--data-dir', proxy.dataDir)).code).toBe(0);
    const refused = await send(client, { to: 'x' });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/denied/i);
    expect(await callsOf(proxy.fixtureLog, 'send')).toBe(0);
    expect((await cli('approvals', 'list', '--data-dir', proxy.dataDir)).stdout).toBe(
      'nothing is waiting for a person\n',
    );
  });

  it('says what is wrong with an unknown id or a data dir without approvals, and creates nothing', async () => {
    const { proxy } = await start();
    const unknown = await cli('approvals', 'approve', 'ap_nope', '--data-dir', proxy.dataDir);
    expect(unknown).toMatchObject({ code: 2, stderr: 'portcullis: no approval with id ap_nope\n' });
    const empty = tempDir('portcullis-empty-');
    try {
      mkdirSync(join(empty.dir, 'data'));
      const none = await cli('approvals', 'list', '--data-dir', join(empty.dir, 'data'));
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no approvals in');
    } finally {
      empty.cleanup();
    }
  });
});
