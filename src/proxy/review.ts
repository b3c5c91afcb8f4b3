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
}

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
