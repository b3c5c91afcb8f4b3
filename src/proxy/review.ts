// The seam between the gate and the approval queue: what happens to a call the policy sent to review.

import type { ExecutionReport, ReviewRequest } from '../approvals/types.js';

/** What the gate does with a reviewed call. */
export type ReviewVerdict =
  | {
      kind: 'run';
      /** Exactly the arguments to forward (the approved ones), once. */
      args: Record<string, unknown>;
      approvalId?: string | undefined;
      /** Told how the single execution went, for the queue's record. */
      executed?: ((report: ExecutionReport) => void) | undefined;
    }
  | { kind: 'deny'; reason: string; approvalId?: string | undefined }
  /** Answer the client with this text without running anything (e.g. "pending approval <id>, retry later"). */
  | { kind: 'respond'; text: string; approvalId?: string | undefined };

export interface ReviewHandler {
  review(request: ReviewRequest): Promise<ReviewVerdict>;
}

/** Until the approval queue is wired in: a call that needs review is denied (fail closed). */
export const denyReviews: ReviewHandler = {
  async review() {
    return { kind: 'deny', reason: 'review required (approvals not yet available)' };
  },
};
