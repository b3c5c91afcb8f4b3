// The seam between the gate and whoever decides reviewed calls: the gate owns it, the approval queue implements it.

/** What the gate hands the reviewer for a call the policy sent to review. */
export interface ReviewRequest {
  /** What waits: a tool call (the default), a resource read or a prompt get. */
  kind?: ReviewKind | undefined;
  agent?: string | null | undefined;
  server?: string | null | undefined;
  /** The tool name as the upstream lists it; for a resource its URI as sent, for a prompt its name. */
  tool: string;
  /** The call's arguments as received (parsed JSON); a prompt's arguments; none for a resource. */
  args: unknown;
  rule: string | null;
  reason: string;
  policySha256?: string | null | undefined;
  correlationId?: string | null | undefined;
  /** True when the client sent a progress token, so it can be held open with progress. */
  canWait: boolean;
  /** Called every few seconds while the call is held; the gate turns it into a progress notification. */
  onWaiting?: ((message: string, info: WaitingInfo) => void) | undefined;
  /** Aborted when the client cancels or disconnects: the call is withdrawn and never runs. */
  signal?: AbortSignal | undefined;
  /** Different reviewer accounts that must approve (the rule's `approvers:`); 1 when absent. */
  approvers?: 1 | 2 | undefined;
  /** Where a person decides (the rule's `approve_in:`); `ui` when absent, and when `elicit` is. */
  approveIn?: 'ui' | 'client' | 'both' | undefined;
  /**
   * True when a standing grant may settle this review: the rule itself asked for review (never a cap,
   * budget, schema or data-flow review), allows grants, and needs one approver.
   */
  grantable?: boolean | undefined;
  /** Present only when the client declared the elicitation capability: asks the person at the client. */
  elicit?: Elicit | undefined;
}

/** What a form elicitation asks: a message and a flat object schema of primitive fields (MCP `elicitation/create`). */
export interface ElicitRequest {
  message: string;
  requestedSchema: {
    type: 'object';
    properties: Record<string, Record<string, unknown>>;
    required?: string[] | undefined;
  };
}

/** The client's answer: accept (with the form's content), decline, or cancel (dismissed). */
export interface ElicitAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown> | undefined;
}

/**
 * Sends `elicitation/create` to the client whose call is under review, tied to that call's request.
 * Rejects when the client errs, or when `signal` aborts (the call was decided elsewhere, or withdrawn).
 */
export type Elicit = (request: ElicitRequest, signal: AbortSignal) => Promise<ElicitAnswer>;

/** What a reviewed request is: a person approves a tool call, a resource read or a prompt get. */
export type ReviewKind = 'tool' | 'resource' | 'prompt';

export interface WaitingInfo {
  approvalId: string;
  elapsedMs: number;
  /** Where a person decides it, when the UI is being served. */
  uiUrl: string | undefined;
}

/** How the one execution of an approved call went, for the reviewer's record. */
export interface ExecutionReport {
  ok: boolean;
  error?: string | null | undefined;
  durationMs?: number | undefined;
}

/** Why a reviewed call does not run. */
export type DenyCause = 'denied' | 'expired' | 'withdrawn' | 'consumed' | 'refused' | 'failed';

/** What the gate does with a reviewed call. */
export type ReviewVerdict =
  | {
      kind: 'run';
      /** Exactly the arguments to forward (the approved ones), once. */
      args: Record<string, unknown>;
      approvalId?: string | undefined;
      /** True when this call is the retry of an earlier call that was answered `respond`. */
      retry?: boolean | undefined;
      /** Set when a standing grant (not a one-off approval) let the call run: the grant's id. */
      grantId?: string | undefined;
      /** Told how the single execution went. */
      executed?: ((report: ExecutionReport) => void) | undefined;
    }
  | { kind: 'deny'; cause: DenyCause; reason: string; approvalId?: string | undefined }
  /** Answer the client with this text without running anything (e.g. "pending approval <id>, retry later"). */
  | { kind: 'respond'; text: string; approvalId?: string | undefined };

export interface ReviewHandler {
  /** Resolves with what to do; a rejection means the reviewer failed, and the gate denies the call. */
  review(request: ReviewRequest): Promise<ReviewVerdict>;
}
