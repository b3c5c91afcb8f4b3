// The approval queue's own values (what it stores, lists and refuses) and its errors; the review seam is the proxy's.

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = [
  'pending',
  'approved',
  'denied',
  'expired',
  'withdrawn',
];

export type ApprovalKind = 'tool' | 'resource' | 'prompt';

/** An approval's id as the store makes it: `ap_` and 16 hex digits. */
export const APPROVAL_ID_PATTERN = /^ap_[0-9a-f]{16}$/;

export const APPROVAL_KINDS: readonly ApprovalKind[] = ['tool', 'resource', 'prompt'];

/** One approval as stored; times are epoch milliseconds. */
export interface Approval {
  id: string;
  status: ApprovalStatus;
  /** A tool call, a resource read (`tool` holds its URI) or a prompt get (`tool` holds its name). */
  kind: ApprovalKind;
  agent: string | null;
  server: string | null;
  tool: string;
  /** RFC 8785 canonical JSON of the call's arguments: exactly what the reviewer saw and what runs. */
  argsCanonical: string;
  argsSha256: string;
  rule: string | null;
  reason: string;
  policySha256: string | null;
  correlationId: string | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
  note: string | null;
  /** Set once a caller has been handed the outcome (for an approval: the one execution was claimed). */
  deliveredAt: number | null;
  executedAt: number | null;
  executionOk: boolean | null;
  executionError: string | null;
  /** Different reviewer accounts that must approve (the rule's `approvers:`): 1, or 2 (two-person). */
  approvers: number;
  /** Approvals cast so far, oldest first; the approval is `approved` once `approvers` different reviewers agreed. */
  votes: ApprovalVote[];
  /** The account that made the final decision (`rv_…`, `admin`, `client:…`, `cli:…`), null while pending. */
  decidedById: string | null;
  /** Where a person may decide it (the rule's `approve_in:`); `client` approvals the UI can only deny. */
  approveIn: 'ui' | 'client' | 'both';
  /** A standing grant may be made from it: the rule's own review (not a cap's or a breach's), one reviewer, grants allowed. */
  grantable: boolean;
}

/** Who decides: a reviewer account, the admin token, the person at the client (elicitation), or the CLI. */
export interface ReviewerRef {
  /** Stable id: `rv_…` for an account, `admin`, `client:<agent>`, `cli:<os user>`. */
  id: string;
  /** Shown to people and written as `decided_by`. */
  name: string;
  kind: 'reviewer' | 'admin' | 'client' | 'cli';
}

/** One reviewer's approval of an approval that needs several. */
export interface ApprovalVote {
  reviewerId: string;
  name: string;
  at: number;
  note: string | null;
}

/** What a standing grant is asked about: one call the policy sent to review. */
export interface GrantQuery {
  kind: ApprovalKind;
  agent: string | null;
  server: string | null;
  tool: string;
  /** The call's arguments as received (parsed JSON). */
  args: unknown;
}

/** A grant that covered a call: named in the audit record and the client's result metadata. */
export interface GrantUse {
  grantId: string;
  /** One line for people: who granted what, until when. */
  summary: string;
}

/**
 * Standing grants, as the queue asks them (src/grants implements it). Asked only for reviews that
 * may take a grant (ReviewRequest.grantable); a grant never widens past a deny rule, a cap or a budget.
 */
export interface GrantChecker {
  /** The active grant that covers this call now, counted as used; undefined: none, a person decides. Throws: the store failed. */
  cover(query: GrantQuery, now: number): GrantUse | undefined;
}

/** Why a review call was not queued: its agent was at `approval.max_pending_per_agent`. */
export interface Refusal {
  agent: string | null;
  /** The agent's pending approvals when the call was refused. */
  pending: number;
  cap: number;
  /** Calls of this agent refused since its current flood began (this one included), and since when. */
  refused: number;
  refusedSince: number;
  /** For the client and the audit log: names the agent, the count and the cap. */
  reason: string;
}

/** One agent's share of the pending queue, so a reviewer sees a flood as one line. */
export interface AgentPending {
  agent: string | null;
  pending: number;
  /** Calls refused over the cap while this agent's current pending approvals waited (0: none). */
  refused: number;
  refusedSince: number | null;
  lastRefusedAt: number | null;
}

export interface PendingByAgent {
  /** Most pending first; at most the number asked for. */
  agents: AgentPending[];
  /** How many agents have pending approvals in all. */
  agentCount: number;
}

/** One page of a list of approvals (see src/approvals/paging.ts for the order). */
export interface ApprovalPage {
  approvals: Approval[];
  /** Every approval the list holds (with this status and agent), not only this page's. */
  total: number;
  /** How many approvals of the list come before this page's first one. */
  offset: number;
  /** Continues after this page's last approval; null when nothing follows. */
  nextCursor: string | null;
  /** Continues before this page's first approval; null on the first page. */
  prevCursor: string | null;
}

export type DecisionVerb = 'approve' | 'deny';

export interface DecideInput {
  decision: DecisionVerb;
  /** Who decided, for the record and the audit log (e.g. "alice (browser)"). */
  by: string;
  /** The account deciding; absent: `by` alone (older callers), which cannot vote on a two-person approval. */
  reviewer?: ReviewerRef | undefined;
  note?: string | null | undefined;
}

/** Base class of the queue's errors; callers branch on `code`, never on the message. */
export class ApprovalError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApprovalError';
    this.code = code;
  }
}

export class ApprovalNotFoundError extends ApprovalError {
  constructor(id: string) {
    super('E_APPROVAL_NOT_FOUND', `no approval with id ${id}`);
  }
}

/** The approval is no longer pending (decided, expired or withdrawn): the HTTP API answers 409. */
export class ApprovalConflictError extends ApprovalError {
  readonly status: ApprovalStatus;
  constructor(id: string, status: ApprovalStatus) {
    super('E_APPROVAL_CONFLICT', `approval ${id} is already ${status}`);
    this.status = status;
  }
}

/** A list request the store cannot answer (a cursor it did not write, a limit out of range): HTTP 400. */
export class ApprovalQueryError extends ApprovalError {
  constructor(message: string) {
    super('E_APPROVAL_QUERY', message);
  }
}

export class ApprovalArgsError extends ApprovalError {
  constructor(message: string) {
    super('E_APPROVAL_ARGS', message);
  }
}

/** An approve from outside the client on an approval the policy keeps there (`approve_in: client`): HTTP 409. */
export class ApprovalInClientError extends ApprovalError {
  constructor(id: string) {
    super(
      'E_APPROVAL_IN_CLIENT',
      `approval ${id} is approved in the agent's client only; here it can only be denied`,
    );
  }
}

/** An approve of a two-person approval without a reviewer account (the CLI, a typed name): HTTP 403. */
export class ApprovalNeedsAccountError extends ApprovalError {
  constructor(id: string) {
    super(
      'E_APPROVAL_NEEDS_ACCOUNT',
      `approval ${id} needs two reviewer accounts; sign in with one to approve it`,
    );
  }
}

/** The same account approving a two-person approval twice: HTTP 409. */
export class ApprovalAlreadyVotedError extends ApprovalError {
  constructor(id: string, name: string) {
    super(
      'E_APPROVAL_ALREADY_VOTED',
      `${name} already approved ${id}; a second, different reviewer must approve it`,
    );
  }
}
