// The policy side of sensitive data flow: `sensitive:` on tool rules and the `flow:` settings, loaded and checked.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLOW, loadPolicy } from '../../src/policy/index.js';

function load(text: string) {
  return loadPolicy(`version: 2\n${text}`, 'policy.yml');
}

describe('flow in the policy', () => {
  it('has closed defaults: 30 minutes, review, 8 characters', () => {
    const result = load('rules: []\n');
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.policy.flow).toEqual({ windowMs: 1_800_000, action: 'review', minLength: 8 });
    expect(DEFAULT_FLOW).toEqual(result.policy.flow);
  });

  it('reads flow settings and which tool rules are sensitive', () => {
    const result = load(`flow: { window: 10m, action: deny, min_length: 12 }
rules:
  - { id: secrets-read, match: read_secret, decision: allow, sensitive: true }
  - { id: plain, match: echo, decision: allow }
`);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.policy.flow).toEqual({ windowMs: 600_000, action: 'deny', minLength: 12 });
    expect(result.policy.sensitive('secrets-read')).toBe(true);
    expect(result.policy.sensitive('plain')).toBe(false);
    expect(result.policy.sensitive(null)).toBe(false);
  });

  it('refuses sensitive on resource and prompt rules, a zero window and an unknown action', () => {
    const resource = load(
      'rules:\n  - { match: "file:///**", kind: resource, decision: allow, sensitive: true }\n',
    );
    expect(resource.ok).toBe(false);
    if (!resource.ok) expect(resource.errors[0]?.message).toMatch(/only tool results are tracked/);
    const zero = load('flow: { window: 0 }\nrules: []\n');
    expect(zero.ok).toBe(false);
    expect(load('flow: { action: allow }\nrules: []\n').ok).toBe(false);
    expect(load('flow: { min_length: 2 }\nrules: []\n').ok).toBe(false);
  });

  it('warns that a sensitive deny rule has no result to remember', () => {
    const result = load('rules:\n  - { match: x, decision: deny, sensitive: true }\n');
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.message).join('\n')).toMatch(/no result to remember/);
  });
});
