// The bundled demo: the payments server behind the proxy with the repo's policy.example.yml.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/index.js';
import { DECISION_META_KEY } from '../../src/proxy/index.js';
import { builtFile } from '../helpers/built.js';
import { REPO } from '../helpers/peers.js';
import { httpClient, startHttpProxy, type TestProxy } from '../helpers/proxy.js';
import { waitFor } from '../helpers/wait.js';

let proxy: TestProxy;
let client: Client;
let policy: string;

beforeAll(async () => {
  const example = await readFile(path.join(REPO, 'policy.example.yml'), 'utf8');
  // Same policy, but the server is this run's transpiled source, so the test does not depend on `npm run build`.
  policy = example.replace(
    /command: node\n(\s+)args: \[dist\/src\/demo\/payments-server\.js\]/,
    `command: node\n$1args: [${JSON.stringify(builtFile('src/demo/payments-server.ts'))}]`,
  );
  expect(policy).not.toBe(example);
  proxy = await startHttpProxy({ policy });
  client = await httpClient(proxy.url, { headers: { authorization: 'Bearer demo-support-key' } });
}, 30_000);

afterAll(async () => {
  await client?.close();
  await proxy?.close();
});

it('allows a small refund, holds a large one, and forbids the user export', async () => {
  const names = (await client.listTools()).tools.map((t) => t.name);
  expect(names).toEqual(['refunds.refund', 'refunds.list', 'payment_links.create', 'customers.email']);
  const small = await client.callTool({
    name: 'refunds.refund',
    arguments: { charge_id: 'ch_1', amount_cents: 12000, op: 'refund' },
  });
  expect(small.isError).toBeFalsy();
  expect(small.structuredContent).toMatchObject({ amount_cents: 12000, charge_id: 'ch_1' });
  const large = await client.callTool({
    name: 'refunds.refund',
    arguments: { charge_id: 'ch_1', amount_cents: 90000, op: 'refund' },
  });
  expect(large.isError).toBe(true);
  expect(large._meta?.[DECISION_META_KEY]).toMatchObject({ rule: 'small-refunds' });
  const exported = await client.callTool({ name: 'users.export', arguments: {} });
  expect(exported._meta?.[DECISION_META_KEY]).toMatchObject({ decision: 'deny', rule: 'export-forbidden' });
});

it('the demo client shows each decision, a budget, a rate limit, a client-side approval, a standing grant and a suspension, and waits for a person on the over-the-cap refund', async () => {
  // Its own proxy, UI and data dir: the budget, grants and incidents start from nothing, as after `npm start`.
  const demo = await startHttpProxy({ policy, ui: 0 });
  const child = spawn(process.execPath, [builtFile('src/demo/client.ts'), demo.url], {
    cwd: REPO,
    env: { ...process.env, PORTCULLIS_DATA_DIR: demo.dataDir },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const id = await waitFor(
      () => /awaiting approval (ap_[0-9a-f]+)/.exec(out)?.[1],
      'the demo client to be held',
      20_000,
    );
    expect(out).toMatch(/ALLOW +Refund \$120\.00/);
    expect(out).toMatch(/DENY +Refund with the amount as a string/);
    expect(out).toMatch(/ALLOW +Refund \$150\.00/);
    // The budget: $270 of $300 used, so a $100 refund under the cap goes to a person.
    expect(out).toMatch(
      /REVIEW +Refund \$100\.00.*\n.*\n.*budget refunds-per-day: agent support-bot has used 27000 cents of 30000 cents/,
    );
    expect(out).toMatch(/ALLOW +List refunds again \(3rd this minute\)/);
    expect(out).toMatch(
      /DENY +List refunds again \(4th.*\n.*\n +Denied by Portcullis: rate limit refund-history-rate: 3 calls per minute for agent support-bot; retry in \d+ s/,
    );
    // rogue-bot: three high-severity denials, then even an allowed call is denied and nothing is offered.
    expect(out.match(/DENY +Export every user/g)).toHaveLength(3);
    expect(out).toMatch(
      /DENY +List recent refunds \(allowed by the policy.*\n.*\n +Denied by Portcullis: agent suspended: inc_/,
    );
    expect(out).toMatch(/Tools offered to rogue-bot now: \(none\)/);
    // Asked in the client (elicitation): the question names the rule, and the approved link was created once.
    expect(out).toMatch(/ASKED +Portcullis asked the person at this client/);
    expect(out).toMatch(
      /\| Policy rule "small-payment-links" sends it to review: amount_cents 90000 is over the cap/,
    );
    expect(out).toMatch(
      /ALLOW +Create a \$900\.00 payment link.*\n.*\n +upstream answered: .*"amount_cents": 90/,
    );
    // The standing grant: the first e-mail waits, the grant is made, its like runs, another customer's waits.
    expect(out).toMatch(/REVIEW +E-mail Ada about her refund.*\n.*\n +rule: customer-email/);
    expect(out).toMatch(
      /GRANT +A reviewer approved ap_[0-9a-f]+ and allowed calls like it for 1 hour \(gr_[0-9a-f]{16}\)/,
    );
    expect(out).toMatch(
      /ALLOW +E-mail Ada again.*\n.*\n +upstream answered: Sent "Refund sent" to Ada Lovelace/,
    );
    expect(out).toMatch(/REVIEW +E-mail Grace.*\n.*\n +rule: customer-email/);
    const granted = (
      await queryAudit(demo.app.audit.root, { event: 'approval', limit: 1000 })
    ).records.filter((r) => r.status === 'granted');
    expect(granted).toHaveLength(1);
    expect(granted[0]).toMatchObject({ tool: 'customers.email', agent: 'support-bot' });
    expect(out).not.toMatch(/Refunded \$900/);
    demo.app.approvals.queue.decide(id, { decision: 'approve', by: 'test reviewer' });
    expect(await exited).toBe(0);
    expect(out).toMatch(/ALLOW +Refund \$900\.00 .*: decided\n.*\n +upstream answered: Refunded \$900\.00/);
  } finally {
    child.kill();
    await demo.close();
  }
}, 40_000);
