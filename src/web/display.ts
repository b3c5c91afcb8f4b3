// What the UI and API show of an approval: its arguments with secret-looking values masked.
import { randomBytes } from 'node:crypto';
import type { Approval } from '../approvals/index.js';
import { canonicalJson } from '../audit/chain.js';
import { Redactor } from '../audit/redact.js';
import type { WebAppOptions } from './app.js';

/**
 * Without the audit log's redactor, secrets are still masked (fail closed), with a key of this
 * process's own: equal values look equal here, but not like the audit log's HMACs.
 */
let fallback: Redactor | undefined;
function maskWithoutAuditKey(args: unknown): unknown {
  fallback ??= new Redactor(randomBytes(32));
  return fallback.redact(args);
}

/**
 * A copy for display. `argsCanonical` becomes the canonical JSON of the masked arguments; `argsSha256`
 * stays the hash of the real ones, so a reviewer can still tell two calls apart.
 */
export function displayed(options: Pick<WebAppOptions, 'redactArgs'>, approval: Approval): Approval {
  const redact = options.redactArgs ?? maskWithoutAuditKey;
  return { ...approval, argsCanonical: canonicalJson(redact(JSON.parse(approval.argsCanonical))) };
}
