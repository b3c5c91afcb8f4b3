// Tool names of different upstreams that are the same or read alike (case, homoglyphs) are flagged in any naming mode; routing is unchanged.

import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { nameSkeleton } from '../../src/proxy/index.js';
import { fixtureLog } from '../helpers/fixture-log.js';
import { inProcessFixtures } from '../helpers/in-process.js';
import { FIXTURE } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { tempDir } from '../helpers/temp.js';

const TOKEN = 'confusables-admin-token-0123456789abcdef';

function fixture(name: string, log: string, tools: readonly string[]): string {
  const env = {
    FIXTURE_LOG: log,
    FIXTURE_NAME: name,
    FIXTURE_TOOL_PREFIX: `${name}_`,
    FIXTURE_EXTRA_TOOLS: tools.join(','),
  };
  return `  ${name}: { command: node, args: [${JSON.stringify(FIXTURE)}], env: ${JSON.stringify(env)} }`;
}

async function start(prefix: 'auto' | 'never', alpha: string[], beta: string[]) {
  const dir = tempDir().dir;
  const logs = { alpha: path.join(dir, 'alpha.jsonl'), beta: path.join(dir, 'beta.jsonl') };
  const proxy = await startHttpProxy({
    policy: `version: 2\nnaming: { prefix: ${prefix} }\nservers:\n${fixture('alpha', logs.alpha, alpha)}\n${fixture('beta', logs.beta, beta)}\nrules:\n  - { id: all, match: "*", decision: allow }\n`,
    ui: 0,
    env: { ...process.env, PORTCULLIS_UI_TOKEN: TOKEN },
    upstreamTransport: inProcessFixtures(),
  });
  return { proxy, logs };
}

async function policyWarnings(proxy: TestProxy): Promise<string[]> {
  const response = await fetch(`${proxy.app.web?.url}/api/policy`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  return ((await response.json()) as { warnings?: string[] }).warnings ?? [];
}

async function listed(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name);
}

describe('look-alike tool names across upstreams', () => {
  it('reads case, Unicode confusables, fullwidth, invisible characters and l/I/1, O/0 as one name, and nothing else', () => {
    const base = nameSkeleton('send_email');
    for (const alike of [
      'Send_Email',
      'SEND_EMAIL',
      'send_em\u0430il', // Cyrillic а
      'send_ema\u0456l', // Cyrillic і
      'send_emai\u0406', // Cyrillic І, read as l
      'send_emaiI', // capital i for l
      'send_emai1',
      '\uff53end_email', // fullwidth s
      'send\u200b_email', // zero-width space
    ]) {
      expect(nameSkeleton(alike), alike).toBe(base);
    }
    for (const other of ['send_emails', 'send-email', 'sendemail', 'send_mail']) {
      expect(nameSkeleton(other), other).not.toBe(base);
    }
    expect(nameSkeleton('get_v0')).toBe(nameSkeleton('get_vO'));
  });

  it('prefixed names: flagged on the Policy page and once in the log, and every tool still routes to its own upstream', async () => {
    const { proxy, logs } = await start(
      'auto',
      ['send_email', 'transfer_funds', 'lookup', 'alpha_only'],
      ['send_ema\u0456l', 'send_emai1', 'Transfer_Funds', 'lookup', 'beta_only'],
    );
    const client = await httpClient(proxy.url);
    try {
      const tools = await listed(client);
      // Flagging is not routing: nothing new is hidden or renamed. (A non-ASCII name was already
      // hidden and denied by the policy's tool-name check.)
      expect(tools).toEqual(
        expect.arrayContaining([
          'alpha__send_email',
          'beta__send_emai1',
          'alpha__transfer_funds',
          'beta__Transfer_Funds',
          'alpha__lookup',
          'beta__lookup',
        ]),
      );
      expect(tools).not.toContain('beta__send_ema\u0456l');
      const warnings = await policyWarnings(proxy);
      expect(warnings).toHaveLength(3);
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^tool names "send_email" \(upstream "alpha"\), "send_ema\\u\{456\}l", "send_emai1" \(upstream "beta"\) look alike/,
          ),
          expect.stringMatching(
            /^tool names "transfer_funds" \(upstream "alpha"\), "Transfer_Funds" \(upstream "beta"\) look alike/,
          ),
          expect.stringMatching(
            /^tool names "lookup" \(upstream "alpha"\), "lookup" \(upstream "beta"\) are the same/,
          ),
        ]),
      );
      expect(warnings.join('\n')).not.toMatch(/_only|echo/);
      // A second listing (and a second session) logs nothing new.
      await listed(client);
      const other = await httpClient(proxy.url);
      await listed(other);
      await other.close();
      expect(proxy.logs.filter((l) => l.startsWith('warning: tool names'))).toHaveLength(3);

      const variant = await client.callTool({ name: 'beta__Transfer_Funds', arguments: { to: 'x' } });
      expect(variant.content).toEqual([{ type: 'text', text: 'beta:Transfer_Funds:{"to":"x"}' }]);
      const original = await client.callTool({ name: 'alpha__transfer_funds', arguments: { to: 'y' } });
      expect(original.content).toEqual([{ type: 'text', text: 'alpha:transfer_funds:{"to":"y"}' }]);
      const calls = async (file: string) =>
        (await fixtureLog(file)).filter((e) => e.method === 'tools/call').map((e) => e.name);
      expect(await calls(logs.alpha)).toEqual(['transfer_funds']);
      expect(await calls(logs.beta)).toEqual(['Transfer_Funds']);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('naming.prefix: never: a case variant is flagged and still callable; an identical name is left to the ambiguity warning', async () => {
    const { proxy } = await start('never', ['Send_Email', 'shared'], ['send_email', 'shared']);
    const client = await httpClient(proxy.url);
    try {
      const tools = await listed(client);
      expect(tools).toEqual(expect.arrayContaining(['Send_Email', 'send_email']));
      expect(tools).not.toContain('shared');
      const warnings = await policyWarnings(proxy);
      expect(warnings).toEqual([
        expect.stringContaining('tool "shared" is listed by upstreams "alpha" and "beta"'),
        expect.stringMatching(
          /^tool names "Send_Email" \(upstream "alpha"\), "send_email" \(upstream "beta"\) look alike/,
        ),
      ]);
      const result = await client.callTool({ name: 'send_email', arguments: {} });
      expect(result.content).toEqual([{ type: 'text', text: 'beta:send_email:{}' }]);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});
