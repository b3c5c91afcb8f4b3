// What the UI and API show of an approval: its arguments with secret-looking values masked.
import type { Approval } from '../approvals/index.js';
import { canonicalJson } from '../audit/chain.js';
import type { WebAppOptions } from './app.js';

/**
 * A copy for display. `argsCanonical` becomes the canonical JSON of the masked arguments; `argsSha256`
 * stays the hash of the real ones, so a reviewer can still tell two calls apart.
 */
export function displayed(options: Pick<WebAppOptions, 'redactArgs'>, approval: Approval): Approval {
  if (!options.redactArgs) return approval;
  return {
    ...approval,
    argsCanonical: canonicalJson(options.redactArgs(JSON.parse(approval.argsCanonical))),
  };
}
