// What the UI and API show of an approval: its arguments with secrets masked, and which values a reviewer may reveal.
import { randomBytes } from 'node:crypto';
import type { Approval } from '../approvals/index.js';
import { Redactor } from '../audit/index.js';
import type { Redaction } from '../secrets/index.js';
import { canonicalJson } from '../util/index.js';

/** An approval as a reviewer sees it: masked arguments, plus the JSON Pointer of each masked value (what Reveal takes). */
export interface MaskedApproval extends Approval {
  maskedPaths: readonly string[];
}

/** Masks one approval for a reviewer; every route that shows approvals gets one of these, not the redactor. */
export type MaskApproval = (approval: Approval) => MaskedApproval;

/**
 * Without the audit log's redactor, secrets are still masked (fail closed), with a key of this
 * process's own: equal values look equal here, but not like the audit log's HMACs.
 */
let fallback: Redactor | undefined;
function maskWithoutAuditKey(args: unknown): Redaction {
  fallback ??= new Redactor(randomBytes(32));
  return fallback.review(args);
}

/**
 * Masking with `redactArgs` (the audit log's Redactor, mode `review`), or a key of our own without
 * it. `argsCanonical` becomes the canonical JSON of the masked arguments; `argsSha256` stays the
 * hash of the real ones, so a reviewer can still tell two calls apart.
 */
export function approvalMasker(redactArgs?: ((args: unknown) => Redaction) | undefined): MaskApproval {
  const review = redactArgs ?? maskWithoutAuditKey;
  return (approval) => {
    const { value, masked } = review(JSON.parse(approval.argsCanonical));
    return { ...approval, argsCanonical: canonicalJson(value), maskedPaths: masked };
  };
}
