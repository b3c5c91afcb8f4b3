// AegisMCP policies load and decide as AegisMCP documents them; v1 migrates to an equivalent v2.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type CompiledPolicy, loadPolicy, migrateV1 } from '../../src/policy/index.js';
import { policyFrom, repoFile } from './helpers.js';

function documentedBehaviour(name: string, policy: CompiledPolicy): void {
  describe(name, () => {
    const refund = (amount_cents: unknown) =>
      policy.evaluate({ tool: 'refunds.refund', args: { op: 'refund', amount_cents, charge_id: 'ch_1' } })
        .decision;
    it('allows refunds under $150 and escalates larger ones to review', () => {
      expect(refund(100)).toBe('allow');
      expect(refund(14999)).toBe('allow');
      expect(refund(15000)).toBe('allow');
      expect(refund(15001)).toBe('review');
      expect(refund(2_000_000)).toBe('review');
    });
    it('allows payment links under $250 and reviews larger ones', () => {
      const link = (amount_cents: number) =>
        policy.evaluate({ tool: 'payment_links.create', args: { amount_cents } }).decision;
      expect(link(25000)).toBe('allow');
      expect(link(25001)).toBe('review');
    });
    it('denies users.export', () => {
      expect(policy.evaluate({ tool: 'users.export', args: {} }).decision).toBe('deny');
    });
    it('reviews anything else', () => {
      expect(policy.evaluate({ tool: 'customers.delete', args: { id: 'c' } }).decision).toBe('review');
      expect(policy.evaluate({ tool: 'refunds.list', args: {} }).decision).toBe('review');
    });
    it('departs from AegisMCP on purpose: a missing or unreadable amount is denied, not allowed', () => {
      expect(policy.evaluate({ tool: 'refunds.refund', args: { op: 'refund' } }).decision).toBe('deny');
      expect(refund('100')).toBe('deny');
    });
  });
}

const v1 = loadPolicy(repoFile('policies/aegismcp-v1.yml'), 'policies/aegismcp-v1.yml');
const v2 = loadPolicy(repoFile('policies/aegismcp-v2.yml'), 'policies/aegismcp-v2.yml');
if (!v1.ok || !v2.ok) throw new Error('the AegisMCP policies must load');
documentedBehaviour('AegisMCP version 1 file', v1.policy);
documentedBehaviour('AegisMCP version 2 file', v2.policy);
// What `portcullis policy migrate` prints must load as version 2 and decide the same.
documentedBehaviour('migrated version 1, printed and reloaded', policyFrom(stringify(v1.doc)));

describe('migration', () => {
  it('recognises version 1 and converts it like AegisMCP does: deny first, capped allows, review fallback', () => {
    expect(v1.sourceVersion).toBe(1);
    expect(v1.doc.rules.map((r) => [r.id, r.match, r.decision, r.cap_cents ?? null])).toEqual([
      ['v1-deny-1', 'users.export', 'deny', null],
      ['v1-allow-1', 'refunds.*', 'allow', 15000],
      ['v1-allow-2', 'payment_links.create', 'allow', 25000],
      ['v1-fallback', '*', 'review', null],
    ]);
  });

  it('allows nothing when allow_tools is absent (AegisMCP defaulted it to everything)', () => {
    const doc = migrateV1({ max_refund_cents: 100 });
    expect(doc.rules.map((r) => r.decision)).toEqual(['review']);
  });

  it('refuses unknown version 1 keys and bad caps', () => {
    const bad = loadPolicy('max_refund_cents: "lots"\nallow_tool: [x]\n', 'v1.yml');
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors.map((e) => `${e.line}:${e.col} ${e.message}`)).toEqual([
        '1:19 max_refund_cents: must be integer',
        '2:1 (top level): unknown key "allow_tool"',
      ]);
    }
  });
});
