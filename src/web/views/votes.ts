// The two-person rule on an approval's card or page: how many approvals it has, whose, and whether this viewer may add one.
import { html } from 'hono/html';
import type { Approval, ReviewerRef } from '../../approvals/index.js';
import type { Html } from './layout.js';

/** Whether `viewer` already approved this approval (a second approve by the same account is refused). */
export function hasVoted(approval: Pick<Approval, 'votes'>, viewer: ReviewerRef | undefined): boolean {
  return viewer !== undefined && approval.votes.some((vote) => vote.reviewerId === viewer.id);
}

/** Whether `viewer` may press Approve here: not when they voted already (Deny stays possible). */
export function mayApprove(approval: Pick<Approval, 'votes'>, viewer: ReviewerRef | undefined): boolean {
  return !hasVoted(approval, viewer);
}

/**
 * "1 of 2 approvals: alice", and for the one who gave it, why there is no Approve button. Empty for
 * an approval one reviewer settles.
 */
export function voteLine(
  approval: Pick<Approval, 'approvers' | 'votes' | 'status'>,
  viewer: ReviewerRef | undefined,
): Html | string {
  if (approval.approvers < 2) return '';
  const names = approval.votes.map((vote) => vote.name).join(', ');
  const count = html`<span class="vote-count">${approval.votes.length} of ${approval.approvers} approvals</span>`;
  const who =
    approval.votes.length > 0
      ? html`: ${names}`
      : html` <span class="muted">(two different reviewer accounts must approve)</span>`;
  const you =
    approval.status === 'pending' && hasVoted(approval, viewer)
      ? html`<br><span class="you-voted">You approved this already: a second, different reviewer must approve it. You can still deny it.</span>`
      : '';
  return html`<p class="votes${you === '' ? '' : ' voted-by-you'}" data-votes="${approval.votes.length}" data-approvers="${approval.approvers}">${count}${who}${you}</p>`;
}
