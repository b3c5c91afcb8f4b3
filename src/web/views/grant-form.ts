// The "approve for a while" offer on an approval's page: a standing grant's scope, constraints and expiry (src/grants).
import type { Approval } from '../../approvals/index.js';

/** What the offer needs besides the approval: the form's CSRF token and whether grants may answer it. */
export interface GrantOfferProps {
  csrf: string;
  /** False when the approval's rule takes no grants (approvers: 2, grants: false, a cap's review): nothing is offered. */
  grantable: boolean;
  /** The longest grant the policy allows (`approval.grant_max`), in milliseconds. */
  maxMs: number;
}

/** The form that approves this call and grants its like for a while; '' until src/grants serves it. */
export function grantOffer(_approval: Approval, _props: GrantOfferProps): string {
  return '';
}
