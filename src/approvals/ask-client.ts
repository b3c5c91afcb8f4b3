// Asks the person at the client to decide a held approval (MCP elicitation) and turns the answer into a decision.
import {
  approvalElicitation,
  type ClientDecision,
  type Elicit,
  errorText,
  type ReviewRequest,
  readAnswer,
} from '../proxy/index.js';
import type { Approval, DecideInput, ReviewerRef } from './types.js';

/** Where a reviewed call is decided, given whether its client can be asked. */
export type AskMode = 'ui' | 'client' | 'both';

/**
 * Where this request is decided: the client only when the rule says so and the client declared form
 * elicitation; a client that cannot be asked falls back to the UI, for `client` too.
 */
export function askMode(request: Pick<ReviewRequest, 'approveIn' | 'elicit'>): AskMode {
  const wanted = request.approveIn ?? 'ui';
  return wanted !== 'ui' && request.elicit !== undefined ? wanted : 'ui';
}

/** What the held call's progress and pending text add about where it is decided. */
export function askNote(request: Pick<ReviewRequest, 'approveIn' | 'elicit'>): string {
  const wanted = request.approveIn ?? 'ui';
  const mode = askMode(request);
  if (mode === 'client') return '; asked in your client (approve it there; the UI can only deny it)';
  if (mode === 'both') return '; also asked in your client (the first answer decides)';
  if (wanted !== 'ui')
    return '; the policy asks in the client, but this client did not declare form elicitation, so a person decides in the UI';
  return '';
}

/** The person at the agent's client, as the store records a decision of theirs. */
export function clientReviewer(agent: string | null): ReviewerRef {
  const name = `${agent ?? '(unknown)'} (client)`;
  return { id: `client:${agent ?? '(unknown)'}`, name, kind: 'client' };
}

export interface AskClientDeps {
  elicit: Elicit;
  approval: Approval;
  /** The arguments as a reviewer may see them (masked), or undefined when there is no redactor. */
  shownArgs: unknown;
  /** Aborted when the hold ends (decided in the UI, expired, withdrawn): the elicitation is cancelled. */
  signal: AbortSignal;
  /** Settles the approval; a conflict (decided elsewhere first) is the caller's to ignore. */
  decide(input: DecideInput): void;
  onError(error: unknown): void;
}

/** Why a reply did not approve, for the record: a closed default, cancel included. */
const WHY: Record<Exclude<ClientDecision, { decision: 'approve' }>['why'], string> = {
  declined: 'declined in the client',
  cancelled: 'cancelled in the client (a dismissed question denies; nothing ran)',
  denied: 'denied in the client',
  malformed: 'the client answered the approval question with something other than approve or deny',
};

/** Sends the question; the answer decides at once. A failure or a malformed reply denies, and says why. */
export function askClient(deps: AskClientDeps): void {
  const { approval, signal } = deps;
  const reviewer = clientReviewer(approval.agent);
  const question = approvalElicitation({
    approvalId: approval.id,
    agent: approval.agent,
    server: approval.server,
    kind: approval.kind,
    tool: approval.tool,
    rule: approval.rule,
    reason: approval.reason,
    shownArgs: deps.shownArgs,
    expiresAt: approval.expiresAt,
  });
  const settle = (input: DecideInput): void => {
    if (signal.aborted) return;
    try {
      deps.decide(input);
    } catch (error) {
      deps.onError(error);
    }
  };
  let asked: Promise<unknown>;
  try {
    asked = deps.elicit(question, signal);
  } catch (error) {
    asked = Promise.reject(error);
  }
  asked.then(
    (reply) => {
      const answer = readAnswer(reply);
      if (answer.decision === 'approve') {
        settle({ decision: 'approve', by: reviewer.name, reviewer, note: answer.note });
        return;
      }
      const note = answer.note ? `${WHY[answer.why]}: ${answer.note}` : WHY[answer.why];
      settle({ decision: 'deny', by: reviewer.name, reviewer, note });
    },
    (error: unknown) => {
      // Aborted by us: the hold ended (decided in the UI, expired, the call withdrawn) and says why itself.
      if (signal.aborted) return;
      settle({
        decision: 'deny',
        by: 'portcullis',
        note: `asking in the client failed, so nothing ran: ${errorText(error)}`,
      });
    },
  );
}
