// How a rule's reviews are decided (approvers, approve_in, grants) and the load errors that keep the two-person rule whole.
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/index.js';
import { errorsOf, policyFrom } from './helpers.js';

describe('review settings', () => {
  const policy = policyFrom(`version: 2
approval: { approve_in: both, grant_max: 2h }
rules:
  - { id: pay, match: "pay*", decision: review, approvers: 2 }
  - { id: ask, match: "ask", decision: review, approve_in: client }
  - { id: nogrant, match: "nogrant", decision: review, grants: false }
  - { id: capped, match: "refund", cap: { arg: amount_cents, max: 100 }, decision: allow }
  - { id: plain, match: "plain", decision: review }
`);

  it('gives each rule its approvers, where it is decided and whether grants apply', () => {
    expect(policy.reviewFor('pay')).toEqual({ approvers: 2, approveIn: 'ui', grants: false });
    expect(policy.reviewFor('ask')).toEqual({ approvers: 1, approveIn: 'client', grants: true });
    expect(policy.reviewFor('nogrant')).toEqual({ approvers: 1, approveIn: 'both', grants: false });
    expect(policy.reviewFor('plain')).toEqual({ approvers: 1, approveIn: 'both', grants: true });
    expect(policy.reviewFor(null)).toEqual({ approvers: 1, approveIn: 'both', grants: true });
    expect(policy.approval.grantMaxMs).toBe(2 * 3_600_000);
  });

  it('never lets a grant settle a review a cap asked for (an allow rule is reviewed only over its cap)', () => {
    expect(policy.reviewFor('capped').grants).toBe(false);
    const over = policy.evaluate({ tool: 'refund', args: { amount_cents: 500 } });
    expect(over.decision).toBe('review');
    expect(policy.reviewFor(over.rule).grants).toBe(false);
  });

  it('defaults to the UI, one approver and a day-long grant limit', () => {
    const plain = policyFrom('version: 2\nrules:\n  - { match: "*", decision: review }\n');
    expect(plain.approval.approveIn).toBe('ui');
    expect(plain.approval.grantMaxMs).toBe(24 * 3_600_000);
    expect(plain.reviewFor(null)).toEqual({ approvers: 1, approveIn: 'ui', grants: true });
  });

  it('refuses a two-person rule decided in the client or answered with a grant', () => {
    const client = errorsOf(
      'version: 2\nrules:\n  - { match: "*", decision: review, approvers: 2, approve_in: client }\n',
    );
    expect(client.join('\n')).toMatch(/approvers: 2 needs two reviewer accounts in the UI/);
    const both = errorsOf(
      'version: 2\nrules:\n  - { match: "*", decision: review, approvers: 2, approve_in: both }\n',
    );
    expect(both.join('\n')).toMatch(/rules\[0\]\.approve_in/);
    const grants = errorsOf(
      'version: 2\nrules:\n  - { match: "*", decision: review, approvers: 2, grants: true }\n',
    );
    expect(grants.join('\n')).toMatch(/rules\[0\]\.grants: a standing grant is one reviewer's word/);
    expect(errorsOf('version: 2\nrules:\n  - { match: "*", decision: review, approvers: 3 }\n')).not.toEqual(
      [],
    );
    expect(
      errorsOf('version: 2\nrules:\n  - { match: "*", decision: review, approve_in: phone }\n'),
    ).not.toEqual([]);
  });

  it('warns that review settings on a deny rule do nothing', () => {
    const result = loadPolicy(
      'version: 2\nrules:\n  - { match: "*", decision: deny, approvers: 2 }\n',
      'w.yml',
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.warnings.map((w) => w.message).join('\n')).toMatch(
      /a deny rule's calls are never reviewed, so approvers does nothing/,
    );
  });
});
