// Policy evaluation speed: decisions per second for 10 to 10,000 rules (deciding rule last), and for path arguments.
import { readFileSync } from 'node:fs';
import { type Call, type CompiledPolicy, loadPolicy } from '../src/policy/index.js';

function policyOf(rules: number, shape: 'distinct' | 'wildcard'): CompiledPolicy {
  const lines = ['version: 2', 'rules:'];
  for (let i = 0; i < rules - 1; i++) {
    // distinct: each rule names its own tool family, as real policies do.
    // wildcard: every rule matches every tool and differs only by server, so no index can skip it.
    lines.push(
      shape === 'distinct'
        ? `  - { id: r${i}, match: ["svc${i}.*", "tool_${i}"], args: { region: { in: [eu, us] } }, decision: allow }`
        : `  - { id: r${i}, match: "*", server: "srv${i}", decision: allow }`,
    );
  }
  lines.push('  - { id: last, match: "refunds.*", ops: [refund], cap_cents: 15000, decision: allow }');
  const result = loadPolicy(`${lines.join('\n')}\n`, 'bench.yml');
  if (!result.ok) throw new Error('bench policy failed to load');
  return result.policy;
}

function measure(
  policy: CompiledPolicy,
  call: Call,
  rule = 'last',
): { perSecond: number; nsPerDecision: number } {
  const expected = policy.evaluate(call);
  if (expected.rule !== rule) throw new Error(`bench call decided by ${expected.rule}, not ${rule}`);
  for (let i = 0; i < 20_000; i++) policy.evaluate(call);
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = 300_000_000n; // 0.3 s per case
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) policy.evaluate(call);
    n += 1000;
    elapsed = process.hrtime.bigint() - start;
  }
  const ns = Number(elapsed) / n;
  return { perSecond: 1e9 / ns, nsPerDecision: ns };
}

export async function run(): Promise<void> {
  const call: Call = {
    tool: 'refunds.refund',
    server: 'payments',
    args: { op: 'refund', amount_cents: 12000 },
  };
  console.log('policy evaluation (deciding rule last; target < 2 us at 100 rules, < 20 us at 10,000)');
  console.log('rules    shape      load+compile ms   decisions/s     ns/decision');
  for (const shape of ['distinct', 'wildcard'] as const) {
    for (const rules of [10, 100, 1_000, 10_000]) {
      const t0 = process.hrtime.bigint();
      const policy = policyOf(rules, shape);
      const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const r = measure(policy, call);
      console.log(
        `${String(rules).padEnd(8)} ${shape.padEnd(10)} ${loadMs.toFixed(1).padStart(15)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(15)} ${r.nsPerDecision.toFixed(0).padStart(15)}`,
      );
    }
  }

  // Path arguments: the shipped filesystem policy, whose secret rules every read passes first.
  const fsText = readFileSync(new URL('../policies/filesystem.yml', import.meta.url), 'utf8');
  const loaded = loadPolicy(fsText, 'policies/filesystem.yml');
  if (!loaded.ok) throw new Error('policies/filesystem.yml failed to load');
  console.log('\npath arguments (policies/filesystem.yml)');
  console.log('call                                        decisions/s     ns/decision');
  const home = '/home/me/projects/app';
  for (const [label, fsCall, rule] of [
    ['read_text_file, allowed', { tool: 'read_text_file', args: { path: `${home}/src/index.ts` } }, 'reads'],
    ['read_text_file, secret', { tool: 'read_text_file', args: { path: `${home}/.env` } }, 'no-secrets'],
    [
      'read_multiple_files, 3 paths',
      {
        tool: 'read_multiple_files',
        args: { paths: [`${home}/a.ts`, `${home}/b/c.md`, `${home}/README.md`] },
      },
      'reads',
    ],
  ] as const) {
    const r = measure(loaded.policy, fsCall, rule);
    console.log(
      `${label.padEnd(40)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(15)} ${r.nsPerDecision.toFixed(0).padStart(15)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
