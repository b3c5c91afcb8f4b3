// The `results:` settings: redact by default, a policy-wide choice, a rule's own override, and bad values refused.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RESULTS, formatProblem, loadPolicy } from '../../src/policy/index.js';
import { errorsOf, policyFrom } from './helpers.js';

const rules = [
  'rules:',
  '  - { id: reads, match: "read_*", decision: allow, results: { secrets: allow } }',
  '  - { id: plain, match: "*", decision: allow }',
  '  - { id: empty, match: "x", decision: allow, results: {} }',
].join('\n');

describe('results.secrets', () => {
  it('is redact when the policy says nothing', () => {
    const policy = policyFrom(`version: 2\n${rules}\n`);
    expect(DEFAULT_RESULTS.secrets).toBe('redact');
    expect(policy.results.secrets).toBe('redact');
    expect(policy.resultsFor(null).secrets).toBe('redact');
    expect(policy.resultsFor('plain').secrets).toBe('redact');
    expect(policy.resultsFor('reads').secrets).toBe('allow');
  });

  it('a policy-wide choice applies to the default and to rules without their own, which override it', () => {
    const policy = policyFrom(`version: 2\nresults: { secrets: block }\n${rules}\n`);
    expect(policy.resultsFor(null).secrets).toBe('block');
    expect(policy.resultsFor('plain').secrets).toBe('block');
    // An empty block inherits, it does not reset to the built-in default.
    expect(policy.resultsFor('empty').secrets).toBe('block');
    expect(policy.resultsFor('reads').secrets).toBe('allow');
    // A rule id the policy does not have (a reload removed it) gets the policy-wide setting.
    expect(policy.resultsFor('gone').secrets).toBe('block');
  });

  it('refuses unknown actions and unknown keys, at top level and in a rule', () => {
    expect(errorsOf('version: 2\nresults: { secrets: mask }\nrules: []\n').join('\n')).toMatch(
      /results\.secrets|results/,
    );
    expect(errorsOf('version: 2\nresults: { secret: block }\nrules: []\n').join('\n')).toContain(
      'unknown key "secret"',
    );
    expect(
      errorsOf('version: 2\nrules:\n  - { match: "*", decision: allow, results: { secrets: off } }\n'),
    ).not.toEqual([]);
  });

  it('warns that results on a deny rule never apply', () => {
    const loaded = loadPolicy(
      'version: 2\nrules:\n  - { match: "*", decision: deny, results: { secrets: allow } }\n',
      'test.yml',
    );
    expect(loaded.ok).toBe(true);
    expect(loaded.warnings.map(formatProblem)).toEqual([
      "test.yml:3:35: warning: rules[0].results: a deny rule's calls never run, so their results are never scanned",
    ]);
  });
});
