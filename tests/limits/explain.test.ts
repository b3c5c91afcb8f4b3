// `policy explain` with limits and budgets: the budget state it used (the ledger of --data-dir, or none).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Limits } from '../../src/limits/index.js';
import { cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { policyFrom } from '../policy/helpers.js';

const POLICY = `version: 2
limits:
  - { id: per-agent, agent: "*", tool: "*", rate: 1000/minute }
budgets:
  - { id: refunds-per-day, agent: support-bot, tool: refund, arg: amount_cents, max: 2000, window: 24h, unit: cents, over: deny }
rules:
  - { id: refunds, match: refund, decision: allow }
`;

describe('policy explain with budgets', () => {
  const { dir } = tempDir('portcullis-explain-limits-');
  const policy = join(dir, 'p.yml');
  writeFileSync(policy, POLICY);
  const dataDir = join(dir, 'data');
  const explain = (...extra: string[]) =>
    cli(
      'policy',
      'explain',
      policy,
      '--tool',
      'refund',
      '--server',
      'payments',
      '--agent',
      'support-bot',
      ...extra,
    );

  it('says it assumed 0 used without a ledger', async () => {
    const { code, stdout } = await explain('--args', '{"amount_cents":800}');
    expect(code).toBe(0);
    expect(stdout).toContain(
      '  budget refunds-per-day: 0 cents of 2000 cents used in the last 24h; this call 800 cents (over: deny)\n     no ledger (give --data-dir): assumed 0 used\n',
    );
    expect(stdout).toContain('  rate limit per-agent: 1000/minute (over: deny)\n');
    expect(stdout).toContain('  -> after limits and budgets: ALLOW\n');
    const missing = await explain('--args', '{"amount_cents":800}', '--data-dir', join(dir, 'nowhere'));
    expect(missing.stdout).toContain(`no ledger at ${join(dir, 'nowhere', 'governance.db')}: assumed 0 used`);
  });

  it('reads what the ledger of --data-dir holds, and says the call would be over', async () => {
    const compiled = policyFrom(POLICY);
    const limits = Limits.open({ dataDir, policy: () => compiled });
    const call = {
      agent: 'support-bot',
      server: 'payments',
      tool: 'refund',
      args: { amount_cents: 1300 },
      correlationId: 'c1',
    };
    limits
      .admit(call, { decision: 'allow', rule: 'refunds', reason: 'ok', policySha256: compiled.sha256 })
      .end(true);
    limits.close();
    const { stdout } = await explain('--args', '{"amount_cents":800}', '--data-dir', dataDir);
    expect(stdout).toContain(
      '  budget refunds-per-day: 1300 cents of 2000 cents used in the last 24h; this call 800 cents (over: deny)\n',
    );
    expect(stdout).toContain(`     read from the ledger ${join(dataDir, 'governance.db')}\n`);
    expect(stdout).toContain(
      "  -> after limits and budgets: DENY: budget refunds-per-day: agent support-bot has used 1300 cents of 2000 cents in the last 24h; this call's 800 cents would make 2100 cents",
    );
    const json = JSON.parse(
      (await explain('--args', '{"amount_cents":700}', '--data-dir', dataDir, '--json')).stdout,
    );
    expect(json.limits).toMatchObject({
      ledger: join(dataDir, 'governance.db'),
      budgets: [
        {
          id: 'refunds-per-day',
          used: 1300,
          amount: 700,
          max: 2000,
          window: '24h',
          unit: 'cents',
          over: 'deny',
        },
      ],
      decision: 'allow',
    });
    const unreadable = await explain('--args', '{"amount_cents":"lots"}', '--data-dir', dataDir);
    expect(unreadable.stdout).toContain('this call an unreadable amount');
    expect(unreadable.stdout).toContain(
      '-> after limits and budgets: DENY: budget refunds-per-day: the amount cannot be read',
    );
  });
});
