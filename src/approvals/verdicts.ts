// What a caller of the queue is told: the verdict for an approval in each state, and the texts naming where it waits.
import type { ExecutionReport, ReviewVerdict } from '../proxy/index.js';
import type { Approval, Refusal } from './types.js';

/** The address of one approval's own page in the UI, when the UI is served. */
function approvalUrl(base: string | undefined, id: string): string | undefined {
  return base ? `${base.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}` : undefined;
}

/**
 * Where a person decides: the UI's page, or without a UI the command that decides from a shell, so a
 * pending call never says "waiting for a person" without saying where.
 */
function where(base: string | undefined, id: string, dataDir?: string): string {
  const url = approvalUrl(base, id);
  if (url) return ` at ${url}`;
  if (dataDir === undefined) return '';
  const dir = /^[\w./:-]+$/.test(dataDir) ? dataDir : JSON.stringify(dataDir);
  return ` (no approvals UI is served: decide with "portcullis approvals approve ${id} --data-dir ${dir}" or "portcullis approvals deny ${id} --data-dir ${dir}")`;
}

/** The progress text of a held call. */
export function waitingMessage(id: string, uiUrl: string | undefined, dataDir?: string, note = ''): string {
  return `awaiting approval ${id}${where(uiUrl, id, dataDir)}${note}`;
}

/**
 * A decided approval as this caller's verdict. Only the caller that claimed an approval may be told to
 * run it; `executed` reports how that one run went.
 */
export function settledVerdict(
  approval: Approval,
  retry: boolean,
  executed: (report: ExecutionReport) => void,
): ReviewVerdict {
  const approvalId = approval.id;
  switch (approval.status) {
    case 'approved':
      return {
        kind: 'run',
        args: JSON.parse(approval.argsCanonical) as Record<string, unknown>,
        approvalId,
        retry,
        executed,
      };
    case 'denied': {
      const by = approval.decidedBy ? ` by ${approval.decidedBy}` : '';
      const note = approval.note ? `: ${approval.note}` : '';
      return {
        kind: 'deny',
        cause: 'denied',
        reason: `approval ${approvalId} was denied${by}${note}`,
        approvalId,
      };
    }
    case 'expired':
      return {
        kind: 'deny',
        cause: 'expired',
        reason: `approval ${approvalId} expired without a decision`,
        approvalId,
      };
    default:
      return withdrawnVerdict(approvalId);
  }
}

/** `why`: set when the call was withdrawn for it (a suspension), not because its client went away. */
export function withdrawnVerdict(approvalId: string, why?: string): ReviewVerdict {
  return {
    kind: 'deny',
    cause: 'withdrawn',
    reason: `approval ${approvalId} was withdrawn: ${why ?? 'the call was cancelled'}`,
    approvalId,
  };
}

/** Another caller already ran (or was told about) this approval. */
export function consumedVerdict(approvalId: string): ReviewVerdict {
  return {
    kind: 'deny',
    cause: 'consumed',
    reason: `approval ${approvalId} was already used; a replayed call does not run`,
    approvalId,
  };
}

/** The agent already had its cap of pending approvals: nothing was queued. */
export function refusedVerdict(refusal: Refusal): ReviewVerdict {
  return { kind: 'deny', cause: 'refused', reason: refusal.reason };
}

/** For a client that cannot wait (longer): the approval id and the UI address, never a credential. */
export function pendingVerdict(
  approval: Approval,
  uiUrl: string | undefined,
  retryWindowMs: number,
  dataDir?: string,
  /** Where else it is asked, or why not (see askNote). */
  note = '',
): ReviewVerdict {
  const minutes = Math.max(1, Math.round(retryWindowMs / 60_000));
  const text =
    `Approval ${approval.id} is waiting for a person${where(uiUrl, approval.id, dataDir)}${note}. ` +
    `Nothing has run. Retry the same call with the same arguments after it is approved ` +
    `(within ${minutes} minute${minutes === 1 ? '' : 's'} of the approval); it then runs once.`;
  return { kind: 'respond', text, approvalId: approval.id };
}
