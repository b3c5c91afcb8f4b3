// What the UI and API show of an approval: its arguments with secrets masked, and which values a reviewer may reveal.
import { randomBytes } from 'node:crypto';
import type { Approval } from '../approvals/index.js';
import { canonicalJson } from '../audit/chain.js';
import { Redactor } from '../audit/redact.js';
import type { Redaction } from '../secrets/redact.js';
import type { WebAppOptions } from './app.js';

/** An approval as shown: masked arguments, plus the JSON Pointer of each masked value (what Reveal takes). */
export interface Displayed extends Approval {
  maskedPaths: readonly string[];
}

/**
 * Without the audit log's redactor, secrets are still masked (fail closed), with a key of this
 * process's own: equal values look equal here, but not like the audit log's HMACs.
 */
let fallback: Redactor | undefined;
function maskWithoutAuditKey(args: unknown): Redaction {
  fallback ??= new Redactor(randomBytes(32));
  return fallback.review(args);
}

/** The reviewer's view of `args` (src/secrets/redact.ts, mode `review`). */
export function reviewArgs(options: Pick<WebAppOptions, 'redactArgs'>, args: unknown): Redaction {
  return (options.redactArgs ?? maskWithoutAuditKey)(args);
}

/**
 * A copy for display. `argsCanonical` becomes the canonical JSON of the masked arguments; `argsSha256`
 * stays the hash of the real ones, so a reviewer can still tell two calls apart.
 */
export function displayed(options: Pick<WebAppOptions, 'redactArgs'>, approval: Approval): Displayed {
  const { value, masked } = reviewArgs(options, JSON.parse(approval.argsCanonical));
  return { ...approval, argsCanonical: canonicalJson(value), maskedPaths: masked };
}
