// AegisMCP version 1 (caps and allow/deny lists) to an equivalent version 2 document.
import type { PolicyV1Doc, PolicyV2Doc } from './schema.js';

type RuleDoc = PolicyV2Doc['rules'][number];

/**
 * Follows AegisMCP's own migration: deny_tools first, then allow_tools (refund and payment-link globs
 * get their caps, over the cap goes to review), then everything else to review. One difference is
 * deliberate: a v1 file without allow_tools allows nothing here (AegisMCP defaulted it to "*").
 */
export function migrateV1(v1: PolicyV1Doc): PolicyV2Doc {
  const rules: RuleDoc[] = [];
  (v1.deny_tools ?? []).forEach((glob, i) => {
    rules.push({ id: `v1-deny-${i + 1}`, match: glob, decision: 'deny', reason: `${glob} is in deny_tools` });
  });
  (v1.allow_tools ?? []).forEach((glob, i) => {
    const rule: RuleDoc = {
      id: `v1-allow-${i + 1}`,
      match: glob,
      decision: 'allow',
      reason: `${glob} is in allow_tools`,
    };
    if (glob.startsWith('refunds') && v1.max_refund_cents !== undefined) {
      rule.ops = ['refund'];
      rule.cap_cents = v1.max_refund_cents;
      rule.reason = `refunds up to ${v1.max_refund_cents} cents are allowed`;
    } else if (glob.startsWith('payment_links') && v1.max_payment_link_cents !== undefined) {
      rule.cap_cents = v1.max_payment_link_cents;
      rule.reason = `payment links up to ${v1.max_payment_link_cents} cents are allowed`;
    }
    rules.push(rule);
  });
  rules.push({
    id: 'v1-fallback',
    match: '*',
    decision: 'review',
    reason: 'tools not explicitly allowed need approval',
  });
  return { version: 2, default: 'deny', rules };
}
