// Adapter from the queue's outcomes to the proxy gate's ReviewHandler seam (src/proxy/review.ts).
import type { ReviewHandler, ReviewVerdict } from '../proxy/review.js';
import type { ApprovalQueue } from './queue.js';
import type { ReviewOutcome } from './types.js';

export function verdictOf(queue: ApprovalQueue, outcome: ReviewOutcome): ReviewVerdict {
  if (outcome.status === 'refused') return { kind: 'deny', reason: outcome.refusal.reason };
  const approvalId = outcome.approval.id;
  switch (outcome.status) {
    case 'approved':
      return {
        kind: 'run',
        args: outcome.args,
        approvalId,
        executed: (report) => {
          queue.reportExecution(approvalId, report);
        },
      };
    case 'denied': {
      const by = outcome.approval.decidedBy ? ` by ${outcome.approval.decidedBy}` : '';
      return {
        kind: 'deny',
        reason: `approval ${approvalId} was denied${by}${outcome.note ? `: ${outcome.note}` : ''}`,
        approvalId,
      };
    }
    case 'expired':
      return { kind: 'deny', reason: `approval ${approvalId} expired without a decision`, approvalId };
    case 'withdrawn':
      return {
        kind: 'deny',
        reason: `approval ${approvalId} was withdrawn: the call was cancelled`,
        approvalId,
      };
    case 'consumed':
      return {
        kind: 'deny',
        reason: `approval ${approvalId} was already used; a replayed call does not run`,
        approvalId,
      };
    case 'pending':
      return { kind: 'respond', text: outcome.message, approvalId };
  }
}

/** What the composition root hands the gate: `new Gate({ review: queueReviewHandler(queue), ... })`. */
export function queueReviewHandler(queue: ApprovalQueue): ReviewHandler {
  return {
    async review(request) {
      return verdictOf(queue, await queue.review(request));
    },
  };
}
