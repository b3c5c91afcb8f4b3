// Loading: every problem has a file:line:col, unknown keys and leaky globs are refused, the schema ships in sync.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicy, publishedSchema } from '../../src/policy/index.js';
import { errorsOf, policyFrom, repoFile } from './helpers.js';

describe('policy validation', () => {
  it('reports an unknown key at its own line and column', () => {
    const errors = errorsOf('version: 2\nrules:\n  - id: a\n    match: "x"\n    decison: allow\n');
    expect(errors).toContain('test.yml:5:5: rules[0]: unknown key "decison"');
    expect(errors).toContain('test.yml:3:5: rules[0]: missing required key "decision"');
  });

  it('reports unknown top-level keys and wrong types with positions', () => {
    expect(errorsOf('version: 2\nrule: []\n')).toEqual([
      'test.yml:1:1: (top level): missing required key "rules"',
      'test.yml:2:1: (top level): unknown key "rule"',
    ]);
    expect(errorsOf('version: 2\nrules:\n  - match: x\n    decision: maybe\n')).toEqual([
      'test.yml:4:15: rules[0].decision: must be allow, deny or review',
    ]);
    expect(errorsOf('version: 2\nrules:\n  - match: [x, 3]\n    decision: allow\n')).toEqual([
      'test.yml:3:12: rules[0].match: must be a glob or a non-empty list of globs',
    ]);
    expect(errorsOf('version: 2\nrules:\n  - match: x\n    decision: allow\n    cap_cents: 10.5\n')).toEqual([
      'test.yml:5:16: rules[0].cap_cents: must be integer',
    ]);
  });

  it('refuses negation and extglobs, which make allow rules leak', () => {
    expect(errorsOf('version: 2\nrules:\n  - match: "!users.export"\n    decision: allow\n')[0]).toMatch(
      /^test.yml:3:12: rules\[0\].match: .*negation/,
    );
    for (const glob of ['@(a|b)', '*(x)', '+(x)', '?(x)', '!(x)']) {
      expect(errorsOf(`version: 2\nrules:\n  - match: "${glob}"\n    decision: allow\n`)[0]).toMatch(
        /extglob|negation/,
      );
    }
    expect(
      errorsOf('version: 2\nrules:\n  - match: x\n    server: ["ok", "!bad"]\n    decision: allow\n')[0],
    ).toMatch(/^test.yml:4:20: rules\[0\].server: .*negation/);
    expect(errorsOf('version: 2\nrules:\n  - match: "[abc"\n    decision: allow\n')[0]).toMatch(/invalid/);
  });

  it('reports YAML syntax errors and duplicate keys with positions', () => {
    expect(errorsOf('version: 2\nrules:\n  - match: "x\n')[0]).toMatch(
      /^test.yml:4:1: YAML: Missing closing/,
    );
    expect(errorsOf('version: 2\nversion: 2\nrules: []\n')[0]).toMatch(/^test.yml:2:1: YAML: .*unique/);
  });

  it('refuses ambiguous or malformed rules', () => {
    expect(
      errorsOf(
        'version: 2\nrules:\n  - {id: a, match: x, decision: allow}\n  - {id: a, match: y, decision: deny}\n',
      ),
    ).toEqual(['test.yml:4:10: rules[1]: duplicate rule id "a"']);
    expect(
      errorsOf(
        'version: 2\nrules:\n  - {match: x, decision: allow, cap_cents: 1, cap: {arg: a, max: 1}}\n',
      )[0],
    ).toMatch(/use cap or cap_cents, not both/);
    expect(
      errorsOf('version: 2\nrules:\n  - {match: x, decision: allow, args: {"a[*]": {eq: 1}}}\n')[0],
    ).toMatch(/\[\*\] is only for caps/);
    expect(
      errorsOf('version: 2\nrules:\n  - {match: x, decision: allow, cap: {arg: "a..b", max: 1}}\n')[0],
    ).toMatch(/malformed/);
    expect(errorsOf('version: 2\nrules:\n  - {match: x, decision: allow, args: {a: {}}}\n')[0]).toMatch(
      /fewer than 1/,
    );
    expect(
      errorsOf('version: 2\nservers:\n  a: {command: x, url: "http://127.0.0.1/mcp"}\nrules: []\n')[0],
    ).toMatch(/exactly one of command or url/);
    expect(errorsOf('version: 2\nservers:\n  a__b: {command: x}\nrules: []\n')[0]).toMatch(/separator/);
    expect(errorsOf('version: 2\nservers:\n  "bad name": {command: x}\nrules: []\n')[0]).toMatch(
      /"bad name" is not a valid name/,
    );
    expect(errorsOf('version: 3\nrules: []\n')).toEqual([
      'test.yml:1:10: version: must be 2 (or 1 for an AegisMCP policy)',
    ]);
    expect(errorsOf('rules: []\n')[0]).toMatch(/missing "version: 2"/);
    expect(errorsOf('- a\n- b\n')[0]).toMatch(/YAML mapping/);
  });

  it('names the mistake of an upstream that is neither a command nor a url server', () => {
    const servers = (server: string) => errorsOf(`version: 2\nservers:\n  a: ${server}\nrules: []\n`);
    expect(servers('{}')).toEqual(['test.yml:3:6: servers.a: give exactly one of command or url']);
    expect(servers('{url: "http://x/mcp", args: [a]}')).toEqual([
      'test.yml:3:6: servers.a: args, env and cwd go with command',
    ]);
    expect(servers('{command: x, headers: {a: b}}')).toEqual([
      'test.yml:3:6: servers.a: headers go with url',
    ]);
    // Once the transport is clear, the problems are that branch's own, at their own positions.
    expect(servers('{command: x, colour: red}')).toEqual(['test.yml:3:19: servers.a: unknown key "colour"']);
    expect(servers('{url: "ftp://x"}')).toEqual([
      'test.yml:3:12: servers.a.url: must be Streamable HTTP upstream: its /mcp URL',
    ]);
    expect(servers('{command: x, cwd: /tmp, env: {A: b}}')).toEqual([]);
  });

  it('refuses infinite and NaN numbers, which would turn a cap into no cap', () => {
    expect(
      errorsOf('version: 2\nrules:\n  - {match: x, decision: allow, cap: {arg: a, max: .inf}}\n'),
    ).toEqual(['test.yml:3:52: rules[0].cap.max: must be a finite number']);
    expect(
      errorsOf('version: 2\nrules:\n  - {match: x, decision: allow, args: {a: {lt: .nan}}}\n')[0],
    ).toMatch(/rules\[0\].args.a.lt: must be a finite number/);
  });

  it('warns about rules that can never match', () => {
    const result = loadPolicy(
      'version: 2\nrules:\n  - {match: "*", decision: review}\n  - {match: x, decision: allow}\n',
      't.yml',
    );
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.warnings.map((w) => w.message)).toEqual([
        'rules[1] can never match: rules[0] before it matches every call',
      ]);
  });

  it('applies defaults and parses durations', () => {
    const p = policyFrom(
      'version: 2\napproval: {timeout: 90s, max_hold: 1.5m, retry_window: 2}\nrules: []\n',
    );
    expect(p.approval).toEqual({
      timeoutMs: 90_000,
      maxHoldMs: 90_000,
      retryWindowMs: 2000,
      maxPendingPerAgent: 20,
      approveIn: 'ui',
      grantMaxMs: 86_400_000,
    });
    expect(p.defaultDecision).toBe('deny');
    expect(p.naming).toEqual({ separator: '__', prefix: 'auto' });
    expect(errorsOf('version: 2\napproval: {timeout: soon}\nrules: []\n')[0]).toMatch(/must be a duration/);
  });

  it('hashes the exact policy text', () => {
    const a = policyFrom('version: 2\nrules: []\n');
    const b = policyFrom('version: 2\nrules: [] # comment\n');
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sha256).toBe(createHash('sha256').update('version: 2\nrules: []\n').digest('hex'));
    expect(a.sha256).not.toBe(b.sha256);
    expect(a.evaluate({ tool: 'x' }).policySha256).toBe(a.sha256);
  });

  it('ships a schema file in sync with the source schema, referenced by the example', () => {
    const shipped = JSON.parse(
      readFileSync(new URL('../../schema/policy.schema.json', import.meta.url), 'utf8'),
    );
    expect(shipped).toEqual(publishedSchema());
    expect(repoFile('policy.example.yml').split('\n')[0]).toBe(
      '# yaml-language-server: $schema=./schema/policy.schema.json',
    );
  });

  it('loads the example and the ready-made policies', () => {
    for (const file of [
      'policy.example.yml',
      'policies/filesystem.yml',
      'policies/aegismcp-v1.yml',
      'policies/aegismcp-v2.yml',
    ]) {
      const result = loadPolicy(repoFile(file), file);
      expect(result.ok, file).toBe(true);
    }
  });
});
