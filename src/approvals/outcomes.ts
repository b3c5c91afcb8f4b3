// What a caller of the queue is told: the outcome of a settled approval, and the texts naming where it waits.
import type { Approval, ReviewOutcome } from './types.js';

/** The address of one approval in the UI, when the UI is served. */
function approvalUrl(base: string | undefined, id: string): string | undefined {
  return base ? `${base.replace(/\/+$/, '')}/#${id}` : undefined;
}

function where(base: string | undefined, id: string): string {
  const url = approvalUrl(base, id);
  return url ? ` at ${url}` : '';
}

/** The progress text of a held call. */
export function waitingMessage(id: string, uiUrl: string | undefined): string {
  return `awaiting approval ${id}${where(uiUrl, id)}`;
}

/** A decided approval as this caller's outcome; only the caller that claimed an approval may get `approved`. */
export function outcomeOfSettled(approval: Approval, retry: boolean): ReviewOutcome {
  switch (approval.status) {
    case 'approved':
      return {
        status: 'approved',
        approval,
        args: JSON.parse(approval.argsCanonical) as Record<string, unknown>,
        retry,
      };
    case 'denied':
      return { status: 'denied', approval, note: approval.note };
    case 'expired':
      return { status: 'expired', approval };
    default:
      return { status: 'withdrawn', approval };
  }
}

/** For a client that cannot wait (longer): the approval id and the UI address, never a credential. */
export function pendingOutcome(
  approval: Approval,
  uiUrl: string | undefined,
  retryWindowMs: number,
): ReviewOutcome {
  const minutes = Math.max(1, Math.round(retryWindowMs / 60_000));
  const message =
    `Approval ${approval.id} is waiting for a person${where(uiUrl, approval.id)}. ` +
    `Nothing has run. Retry the same call with the same arguments after it is approved ` +
    `(within ${minutes} minute${minutes === 1 ? '' : 's'} of the approval); it then runs once.`;
  return { status: 'pending', approval, uiUrl, message };
}
