// Evaluation: first match wins, default deny, every condition kind, trust, hiding, and the index agrees with a scan.
import { describe, expect, it } from 'vitest';
import type { Call, CompiledPolicy } from '../../src/policy/index.js';
import { policyFrom } from './helpers.js';

describe('evaluation', () => {
  const p = policyFrom(`
version: 2
agents:
  - { id: support-bot, trust: medium }
  - { id: ops-lead, trust: admin }
  - { id: intern, trust: low }
rules:
  - id: admin-anything
    match: "*"
    trust_at_least: admin
    decision: allow
    reason: admins may
  - id: low-trust-writes
    match: ["*.write", "*.delete"]
    trust_below: medium
    decision: deny
  - id: docs-only-on-docs
    match: "search"
    server: "docs*"
    decision: allow
  - id: eu-customers
    match: "customers.get"
    args:
      region: { in: [eu-west, eu-central] }
      id: { glob: "cus_*" }
    decision: allow
  - id: not-archived
    match: "customers.update"
    args:
      status: { ne: archived }
      priority: { gte: 1, lt: 5 }
    decision: review
  - id: must-not-have-force
    match: "deploy"
    args: { force: { present: false } }
    decision: allow
  - id: bot-only
    match: "tickets.*"
    agent: "support-*"
    decision: allow
  - id: files
    match: "read_file"
    args: { path: { glob: "/srv/data/**" } }
    decision: allow
  - id: everything-else
    match: "*"
    decision: deny
    reason: nothing else
`);

  it('first match wins and names its rule and the policy hash', () => {
    const d = p.evaluate({ tool: 'customers.delete', agent: 'ops-lead' });
    expect(d).toEqual({
      decision: 'allow',
      rule: 'admin-anything',
      reason: 'admins may',
      policySha256: p.sha256,
    });
    expect(p.evaluate({ tool: 'customers.delete', agent: 'support-bot' })).toMatchObject({
      rule: 'everything-else',
    });
  });

  it('compares trust levels, treating an unknown agent as the least trusted', () => {
    expect(p.evaluate({ tool: 'notes.write', agent: 'intern' }).rule).toBe('low-trust-writes');
    expect(p.evaluate({ tool: 'notes.write', agent: 'stranger' }).rule).toBe('low-trust-writes');
    expect(p.evaluate({ tool: 'notes.write' }).rule).toBe('low-trust-writes');
    expect(p.evaluate({ tool: 'notes.write', agent: 'support-bot' }).rule).toBe('everything-else');
    expect(p.evaluate({ tool: 'notes.write', agent: 'intern', trust: 'admin' }).rule).toBe('admin-anything');
  });

  it('matches server and agent globs only when they are known', () => {
    expect(p.evaluate({ tool: 'search', server: 'docs-eu' }).rule).toBe('docs-only-on-docs');
    expect(p.evaluate({ tool: 'search', server: 'payments' }).rule).toBe('everything-else');
    expect(p.evaluate({ tool: 'search' }).rule).toBe('everything-else');
    expect(p.evaluate({ tool: 'tickets.close', agent: 'support-bot' }).rule).toBe('bot-only');
    expect(p.evaluate({ tool: 'tickets.close', agent: 'Support-bot' }).rule).toBe('everything-else');
  });

  it('checks argument conditions; an absent path fails every condition but present: false', () => {
    const get = (args: unknown) => p.evaluate({ tool: 'customers.get', args }).rule;
    expect(get({ region: 'eu-west', id: 'cus_1' })).toBe('eu-customers');
    expect(get({ region: 'us-east', id: 'cus_1' })).toBe('everything-else');
    expect(get({ region: 'eu-west', id: 'acct_1' })).toBe('everything-else');
    expect(get({ region: 'eu-west' })).toBe('everything-else');
    expect(get({ region: ['eu-west'], id: 'cus_1' })).toBe('everything-else');
    const update = (args: unknown) => p.evaluate({ tool: 'customers.update', args }).rule;
    expect(update({ status: 'active', priority: 1 })).toBe('not-archived');
    expect(update({ status: 'archived', priority: 1 })).toBe('everything-else');
    expect(update({ priority: 1 })).toBe('everything-else');
    expect(update({ status: 'active', priority: 5 })).toBe('everything-else');
    const deploy = (args: unknown) => p.evaluate({ tool: 'deploy', args }).rule;
    expect(deploy({})).toBe('must-not-have-force');
    expect(deploy({ force: false })).toBe('everything-else');
  });

  it('fails closed when a numeric condition meets something that is not a number', () => {
    for (const priority of ['1', null, [1], Number.NaN, Number.POSITIVE_INFINITY]) {
      const d = p.evaluate({ tool: 'customers.update', args: { status: 'active', priority } });
      expect(d).toMatchObject({ decision: 'deny', rule: 'not-archived' });
    }
  });

  it('refuses paths that climb out of a glob with ..', () => {
    expect(p.evaluate({ tool: 'read_file', args: { path: '/srv/data/a.txt' } }).rule).toBe('files');
    const climb = p.evaluate({ tool: 'read_file', args: { path: '/srv/data/../../etc/passwd' } });
    expect(climb).toMatchObject({ decision: 'deny', rule: 'files' });
    expect(climb.reason).toContain('..');
    expect(p.evaluate({ tool: 'read_file', args: { path: '/etc/passwd' } }).rule).toBe('everything-else');
  });

  it('explains itself with a trace of every rule looked at', () => {
    const d = p.evaluate({ tool: 'deploy', args: { force: true } }, { explain: true });
    expect(d.rule).toBe('everything-else');
    expect(d.trace?.map((t) => t.rule)).toEqual([
      'admin-anything',
      'low-trust-writes',
      'docs-only-on-docs',
      'eu-customers',
      'not-archived',
      'must-not-have-force',
      'bot-only',
      'files',
      'everything-else',
    ]);
    expect(d.trace?.find((t) => t.rule === 'must-not-have-force')?.detail).toContain('force');
  });

  it('falls back to the default with rule null', () => {
    const q = policyFrom('version: 2\nrules:\n  - {match: a, decision: allow}\n');
    expect(q.evaluate({ tool: 'b' })).toMatchObject({ decision: 'deny', rule: null });
    const r = policyFrom('version: 2\ndefault: review\nrules: []\n');
    expect(r.evaluate({ tool: 'b' })).toMatchObject({ decision: 'review', rule: null });
  });

  it('is deterministic: the same call gets the same decision', () => {
    const call: Call = { tool: 'customers.get', args: { region: 'eu-west', id: 'cus_9' } };
    expect(p.evaluate(call)).toEqual(p.evaluate(structuredClone(call)));
  });
});

describe('hiding tools that are always denied', () => {
  const p = policyFrom(`
version: 2
agents: [{ id: bot, trust: low }, { id: boss, trust: admin }]
rules:
  - { id: boss, match: "*", trust_at_least: admin, decision: allow }
  - { id: export, match: users.export, decision: deny }
  - { id: big-deletes, match: files.delete, args: { recursive: { eq: true } }, decision: deny }
  - { id: capped-deny, match: payouts.send, cap_cents: 10, decision: deny }
  - { id: reads, match: "*.get", decision: allow }
`);
  it('hides what is denied whatever the arguments, and only that', () => {
    expect(p.alwaysDenies({ tool: 'users.export', agent: 'bot' })).toBe(true);
    expect(p.alwaysDenies({ tool: 'payouts.send', agent: 'bot' })).toBe(true);
    expect(p.alwaysDenies({ tool: 'unknown.tool', agent: 'bot' })).toBe(true);
    expect(p.alwaysDenies({ tool: 'files.delete', agent: 'bot' })).toBe(true);
    expect(p.alwaysDenies({ tool: 'users.get', agent: 'bot' })).toBe(false);
    expect(p.alwaysDenies({ tool: 'users.export', agent: 'boss' })).toBe(false);
  });
  it('does not hide a tool that some arguments would allow', () => {
    const q = policyFrom(`
version: 2
rules:
  - { id: big-deletes, match: files.delete, args: { recursive: { eq: true } }, decision: deny }
  - { id: deletes, match: files.delete, decision: review }
`);
    expect(q.alwaysDenies({ tool: 'files.delete' })).toBe(false);
  });
});

/** A small deterministic PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('the prefix index', () => {
  it('agrees with a plain top-down scan on random policies and calls', () => {
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const words = ['refunds', 'Refunds', 'users', 'pay', 'payments', 'a', 'ab', 'abc', 'files'];
    const verbs = ['list', 'get', 'export', 'refund', 'create', 'x'];
    const globOf = () =>
      pick([
        () => `${pick(words)}.${pick(verbs)}`,
        () => `${pick(words)}.*`,
        () => `${pick(words)}*`,
        () => '*',
        () => `*.${pick(verbs)}`,
        () => `{${pick(words)},${pick(words)}}.*`,
        () => `${pick(words)}.?${pick(verbs).slice(1)}`,
        () => `[ap]*.${pick(verbs)}`,
      ])();
    for (let round = 0; round < 30; round++) {
      const rules = Array.from({ length: 1 + Math.floor(rand() * 40) }, (_, i) => {
        const match =
          rand() < 0.2
            ? `[${JSON.stringify(globOf())}, ${JSON.stringify(globOf())}]`
            : JSON.stringify(globOf());
        const op = rand() < 0.3 ? `, ops: [${pick(verbs)}]` : '';
        return `  - { id: r${i}, match: ${match}${op}, decision: ${pick(['allow', 'deny', 'review'])} }`;
      });
      const policy: CompiledPolicy = policyFrom(`version: 2\nrules:\n${rules.join('\n')}\n`);
      for (let i = 0; i < 200; i++) {
        const call: Call = { tool: `${pick(words)}.${pick(verbs)}`, args: { op: pick(verbs) } };
        const fast = policy.evaluate(call);
        const { trace: _trace, ...scanned } = policy.evaluate(call, { explain: true });
        expect(fast, JSON.stringify({ call, rules })).toEqual(scanned);
      }
    }
  });
});
