// The approval queue: admits calls the policy sent to review, holds or parks them, and settles them once.
import type { ApprovalAuditEvent, ApprovalAuditStatus, AuditSink } from '../audit/index.js';
import { type ApprovalSettings, DEFAULT_APPROVAL } from '../policy/index.js';
import type {
  ExecutionReport,
  ReviewHandler,
  ReviewRequest,
  ReviewVerdict,
  WaitingInfo,
} from '../proxy/index.js';
import { sha256Hex } from '../util/index.js';
import { askClient, askMode, askNote } from './ask-client.js';
import { callKey, canonicalArgs } from './canonical.js';
import type { ApprovalStore, PageOptions } from './store.js';
import {
  type Approval,
  ApprovalConflictError,
  type ApprovalPage,
  type DecideInput,
  type GrantChecker,
  type GrantUse,
  type PendingByAgent,
  type Refusal,
} from './types.js';
import {
  consumedVerdict,
  pendingVerdict,
  refusedVerdict,
  settledVerdict,
  waitingMessage,
  withdrawnVerdict,
} from './verdicts.js';

/** The policy's defaults (one source of truth), for a queue started without a policy getter. */
export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = { ...DEFAULT_APPROVAL };

/** What changed, for live views (SSE) and metrics. `external` means another process wrote. */
export type QueueChange =
  | { kind: 'created' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'executed'; approval: Approval }
  /** One reviewer approved an approval that needs two: still pending, with one more vote. */
  | { kind: 'voted'; approval: Approval }
  | { kind: 'refused'; refusal: Refusal }
  | { kind: 'external' };

/** What the client and the audit log are told about a call refused over the cap. */
export function refusalReason(agent: string | null, pending: number, cap: number): string {
  return (
    `agent ${agent ?? '(unknown)'} already has ${pending} approval${pending === 1 ? '' : 's'} pending, ` +
    `the most approval.max_pending_per_agent allows (${cap}); this call was not queued. ` +
    'Retry it once a person has decided some of them.'
  );
}

export interface ApprovalQueueOptions {
  store: ApprovalStore;
  /** The current policy's approval settings; a getter so a reload applies to the next call. */
  settings?: (() => ApprovalSettings) | undefined;
  /** Where people decide (the UI's address), once known; named in pending results and progress. */
  uiUrl?: (() => string | undefined) | undefined;
  /** The data dir, named in the `portcullis approvals` command a pending call points to when no UI is served. */
  dataDir?: string | undefined;
  audit?: AuditSink | undefined;
  /** Called when an audit record could not be written (the gate's own records are the fail-closed ones). */
  onError?: ((error: unknown) => void) | undefined;
  /** How often the database is polled for decisions made by other processes. */
  pollIntervalMs?: number | undefined;
  /** How often a held call's onWaiting is called. */
  progressIntervalMs?: number | undefined;
  /** Standing grants: a review that may take one (ReviewRequest.grantable) and is covered runs without asking. */
  grants?: GrantChecker | undefined;
  /**
   * What a reviewer may see of arguments (the audit log's review masking), for the question asked in
   * the client; without it the question names the call but not its arguments.
   */
  redactArgs?: ((args: unknown) => unknown) | undefined;
  now?: (() => number) | undefined;
}

type Waker = () => void;

/** The reviewer the gate calls (`ReviewHandler`): each verdict is one settled approval, or why nothing ran. */
export class ApprovalQueue implements ReviewHandler {
  readonly store: ApprovalStore;
  private readonly settingsOf: () => ApprovalSettings;
  private readonly uiUrlOf: () => string | undefined;
  private readonly dataDir: string | undefined;
  private readonly audit: AuditSink | undefined;
  private readonly onError: (error: unknown) => void;
  private readonly progressIntervalMs: number;
  private readonly grants: GrantChecker | undefined;
  private readonly redactArgs: ((args: unknown) => unknown) | undefined;
  /** The clock every expiry is judged by; pages showing time left read it too. */
  readonly now: () => number;
  private readonly waiters = new Map<string, Set<Waker>>();
  /** Local callers holding each approval: a cancelled call withdraws it only when it was the last. */
  private readonly holders = new Map<string, number>();
  private readonly listeners = new Set<(change: QueueChange) => void>();
  private readonly poller: NodeJS.Timeout;
  private lastDataVersion: number;
  private closed = false;

  constructor(options: ApprovalQueueOptions) {
    this.store = options.store;
    this.settingsOf = options.settings ?? (() => DEFAULT_APPROVAL_SETTINGS);
    this.uiUrlOf = options.uiUrl ?? (() => undefined);
    this.dataDir = options.dataDir;
    this.audit = options.audit;
    this.onError = options.onError ?? (() => {});
    this.progressIntervalMs = options.progressIntervalMs ?? 5_000;
    this.grants = options.grants;
    this.redactArgs = options.redactArgs;
    this.now = options.now ?? Date.now;
    this.lastDataVersion = this.store.dataVersion();
    this.poller = setInterval(() => this.tick(), options.pollIntervalMs ?? 250);
    this.poller.unref();
  }

  /** Subscribe to changes; returns the unsubscribe function. */
  subscribe(listener: (change: QueueChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get uiUrl(): string | undefined {
    return this.uiUrlOf();
  }

  /**
   * Settle a call the policy sent to review. Resolves with what the gate does with it; rejects only
   * when the database fails (the gate then denies the call).
   */
  async review(request: ReviewRequest): Promise<ReviewVerdict> {
    this.assertOpen();
    const settings = this.settingsOf();
    const argsCanonical = canonicalArgs(request.args);
    const argsSha256 = sha256Hex(argsCanonical);
    const agent = request.agent ?? null;
    const server = request.server ?? null;
    const started = this.now();
    this.sweep(started);
    const kind = request.kind ?? 'tool';
    // A client that cannot be asked leaves the decision to the UI, `client` rules too.
    const mode = askMode(request);
    const granted = this.grantFor(request, kind, started);
    if (granted !== undefined) {
      await this.recordGrant(request, granted, argsSha256);
      const args = JSON.parse(argsCanonical) as Record<string, unknown>;
      return { kind: 'run', args, grantId: granted.grantId };
    }
    const admission = this.store.admit(
      {
        kind,
        agent,
        server,
        tool: request.tool,
        argsCanonical,
        argsSha256,
        callKey: callKey(agent, server, request.tool, argsSha256, kind),
        rule: request.rule,
        reason: request.reason,
        policySha256: request.policySha256 ?? null,
        correlationId: request.correlationId ?? null,
        approvers: request.approvers ?? 1,
        approveIn: mode,
        grantable: request.grantable === true && (request.approvers ?? 1) === 1,
      },
      started,
      settings,
    );
    if (admission.kind === 'refused') {
      const refusal: Refusal = {
        agent,
        pending: admission.pending,
        cap: admission.cap,
        refused: admission.refused,
        refusedSince: admission.refusedSince,
        reason: refusalReason(agent, admission.pending, admission.cap),
      };
      await this.recordRefusal(request, refusal, argsSha256);
      this.emit({ kind: 'refused', refusal });
      return refusedVerdict(refusal);
    }
    const { approval } = admission;
    if (admission.kind === 'claimed') return this.settled(approval, true);
    if (admission.kind === 'created') {
      this.record(approval, 'pending', { args: JSON.parse(approval.argsCanonical) });
      this.emit({ kind: 'created', approval });
    }
    if (request.signal?.aborted) return this.leave(approval.id, this.holders.get(approval.id) ?? 0);
    // Asked in the client, the call stays open until someone answers or the approval expires.
    if (mode !== 'ui') return this.hold(approval, request, approval.expiresAt, true);
    if (!request.canWait || settings.maxHoldMs <= 0) return this.pendingFor(approval, askNote(request));
    return this.hold(approval, request, started + settings.maxHoldMs, false);
  }

  /** A person's decision. Throws ApprovalNotFoundError / ApprovalConflictError (HTTP 404 / 409). */
  decide(id: string, input: DecideInput): Approval {
    this.assertOpen();
    const now = this.now();
    this.sweep(now);
    const approval = this.store.decide(id, input, now);
    const reviewer = input.reviewer?.id ?? null;
    if (approval.status === 'pending') {
      this.record(approval, 'voted', {
        decided_by: input.by,
        reviewer,
        note: input.note ?? null,
        votes: approval.votes.length,
        approvers: approval.approvers,
      });
      this.emit({ kind: 'voted', approval });
      return approval;
    }
    this.record(approval, approval.status, { decided_by: approval.decidedBy, reviewer, note: approval.note });
    this.emit({ kind: approval.status as 'approved' | 'denied', approval });
    this.wake(id);
    return approval;
  }

  /**
   * Withdraws every pending approval of `agent` (it was suspended): each gets its `withdrawn` record
   * and change event, and a caller holding one is answered at once with `reason`.
   */
  withdrawAgent(agent: string, reason: string, by = 'portcullis'): Approval[] {
    this.assertOpen();
    const withdrawn = this.store.withdrawAgent(agent, this.now(), by, reason);
    for (const approval of withdrawn) {
      this.record(approval, 'withdrawn', { decided_by: by, note: reason });
      this.emit({ kind: 'withdrawn', approval });
      this.wake(approval.id);
    }
    return withdrawn;
  }

  /** The gate ran an approved call: record how it went (once). */
  reportExecution(id: string, report: ExecutionReport): Approval | undefined {
    if (this.closed) return undefined;
    const approval = this.store.recordExecution(id, report, this.now());
    if (approval) {
      this.record(approval, 'executed', {
        ok: report.ok,
        error: report.error ?? undefined,
        duration_ms: report.durationMs,
      });
      this.emit({ kind: 'executed', approval });
    }
    return approval;
  }

  list(...args: Parameters<ApprovalStore['list']>): Approval[] {
    this.sweep(this.now());
    return this.store.list(...args);
  }

  /** One page of a list (see ApprovalStore.page); overdue approvals are expired first, so none shows as pending. */
  page(options: PageOptions): ApprovalPage {
    this.sweep(this.now());
    return this.store.page(options);
  }

  pendingByAgent(limit?: number): PendingByAgent {
    return this.store.pendingByAgent(this.now(), limit);
  }

  /** The cap in force now (the policy may have been reloaded since an approval was queued). */
  get maxPendingPerAgent(): number {
    return this.settingsOf().maxPendingPerAgent;
  }

  get(id: string): Approval | undefined {
    return this.store.get(id);
  }

  /** Stop polling and release held callers with `pending` (their approvals survive in the database). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poller);
    for (const set of this.waiters.values()) for (const wake of set) wake();
    this.waiters.clear();
    this.listeners.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('approval queue is closed');
  }

  /**
   * Hold the caller until the approval is decided, expires, this caller's hold limit passes, or the
   * caller goes away. Every timer, listener and waiter of the hold is bound to `ended`, so the one
   * settle path releases them all at once.
   */
  private hold(
    approval: Approval,
    request: ReviewRequest,
    holdUntil: number,
    ask: boolean,
  ): Promise<ReviewVerdict> {
    const id = approval.id;
    this.holders.set(id, (this.holders.get(id) ?? 0) + 1);
    const ended = new AbortController();
    const { signal } = ended;
    return new Promise<ReviewVerdict>((resolve, reject) => {
      const settle = (verdict: () => ReviewVerdict): void => {
        if (signal.aborted) return;
        ended.abort();
        const left = (this.holders.get(id) ?? 1) - 1;
        if (left > 0) this.holders.set(id, left);
        else this.holders.delete(id);
        try {
          resolve(verdict());
        } catch (error) {
          reject(error);
        }
      };
      // `holdOver` comes from the hold timer itself: timers may fire a millisecond before the clock agrees.
      const check = (holdOver = false): void => {
        if (signal.aborted) return;
        try {
          const next = this.closed
            ? () => this.pendingFor(approval, note)
            : this.verdictNow(id, approval, holdOver || this.now() >= holdUntil, note);
          if (next) settle(next);
        } catch (error) {
          settle(() => {
            throw error;
          });
        }
      };
      const started = this.now();
      const note = askNote(request);
      const sendProgress = (): void => {
        const info: WaitingInfo = { approvalId: id, elapsedMs: this.now() - started, uiUrl: this.uiUrlOf() };
        try {
          request.onWaiting?.(waitingMessage(id, info.uiUrl, this.dataDir, note), info);
        } catch (error) {
          this.onError(error);
        }
      };

      request.signal?.addEventListener(
        'abort',
        () => {
          const others = (this.holders.get(id) ?? 1) - 1;
          settle(() => this.leave(id, others));
        },
        { once: true, signal },
      );
      this.addWaiter(id, () => check(), signal);
      every(this.progressIntervalMs, sendProgress, signal);
      // The earlier of the approval's expiry and this caller's hold limit ends the wait.
      at(approval.expiresAt, this.now, () => check(), signal);
      if (holdUntil < approval.expiresAt) after(holdUntil - this.now(), () => check(true), signal);
      check();
      // Tell the client at once where its call waits; the interval then keeps its timeout from firing.
      if (!signal.aborted) sendProgress();
      if (ask && !signal.aborted && request.elicit) this.ask(approval, request, signal);
    });
  }

  private addWaiter(id: string, wake: Waker, signal: AbortSignal): void {
    let set = this.waiters.get(id);
    if (!set) {
      set = new Set();
      this.waiters.set(id, set);
    }
    set.add(wake);
    signal.addEventListener(
      'abort',
      () => {
        const current = this.waiters.get(id);
        current?.delete(wake);
        if (current?.size === 0) this.waiters.delete(id);
      },
      { once: true },
    );
  }

  /**
   * Asks the person at the client; their answer is a decision like the UI's (the store settles a race
   * with the UI: the later one is a conflict, ignored). `ended` aborts the question when the hold ends.
   */
  private ask(approval: Approval, request: ReviewRequest, ended: AbortSignal): void {
    if (!request.elicit) return;
    let shownArgs: unknown;
    try {
      shownArgs = this.redactArgs?.(JSON.parse(approval.argsCanonical));
    } catch (error) {
      this.onError(error);
    }
    askClient({
      elicit: request.elicit,
      approval,
      shownArgs,
      signal: ended,
      decide: (input) => {
        try {
          this.decide(approval.id, input);
        } catch (error) {
          if (!(error instanceof ApprovalConflictError)) throw error;
        }
      },
      onError: this.onError,
    });
  }

  /** The verdict for a held call now, or undefined while it should keep waiting. */
  private verdictNow(
    id: string,
    held: Approval,
    holdOver: boolean,
    note = '',
  ): (() => ReviewVerdict) | undefined {
    const now = this.now();
    let current = this.store.get(id);
    if (current?.status === 'pending' && current.expiresAt <= now) {
      this.sweep(now);
      current = this.store.get(id);
    }
    if (!current) return () => this.pendingFor(held, note);
    const settled = current;
    if (settled.status !== 'pending') return () => this.claimVerdict(settled);
    if (holdOver) return () => this.pendingFor(settled, note);
    return undefined;
  }

  /** A decided approval as this caller's verdict: an approval runs only for its one claimer. */
  private claimVerdict(approval: Approval): ReviewVerdict {
    if (approval.status === 'withdrawn') return withdrawnVerdict(approval.id, withdrawnWhy(approval));
    const claimed = this.store.claim(approval.id, this.now());
    if (claimed) return this.settled(claimed, false);
    const current = this.store.get(approval.id) ?? approval;
    if (current.status === 'approved') return consumedVerdict(current.id);
    return this.settled(current, false);
  }

  private settled(approval: Approval, retry: boolean): ReviewVerdict {
    const id = approval.id;
    return settledVerdict(approval, retry, (report) => {
      this.reportExecution(id, report);
    });
  }

  private pendingFor(approval: Approval, note = ''): ReviewVerdict {
    return pendingVerdict(approval, this.uiUrlOf(), this.settingsOf().retryWindowMs, this.dataDir, note);
  }

  /**
   * A caller gave up: the approval is withdrawn unless `others` local callers still hold it (then it
   * stays pending for them, and only this caller is told "withdrawn").
   */
  private leave(id: string, others: number): ReviewVerdict {
    if (others === 0) {
      const withdrawn = this.store.withdraw(id, this.now());
      if (withdrawn) {
        this.record(withdrawn, 'withdrawn', {});
        this.emit({ kind: 'withdrawn', approval: withdrawn });
        this.wake(id);
      }
    }
    return withdrawnVerdict(id);
  }

  private sweep(now: number): void {
    for (const approval of this.store.expireDue(now)) {
      this.record(approval, 'expired', {});
      this.emit({ kind: 'expired', approval });
      this.wake(approval.id);
    }
  }

  private tick(): void {
    if (this.closed || !this.store.isOpen) return;
    try {
      this.sweep(this.now());
      const version = this.store.dataVersion();
      if (version !== this.lastDataVersion) {
        this.lastDataVersion = version;
        for (const set of [...this.waiters.values()]) for (const wake of [...set]) wake();
        this.emit({ kind: 'external' });
      }
    } catch (error) {
      this.onError(error);
    }
  }

  private wake(id: string): void {
    for (const wake of [...(this.waiters.get(id) ?? [])]) wake();
  }

  private emit(change: QueueChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** The standing grant that covers this review, if it may take one; a grant store that fails leaves it to a person. */
  private grantFor(request: ReviewRequest, kind: Approval['kind'], now: number): GrantUse | undefined {
    if (request.grantable !== true || this.grants === undefined) return undefined;
    try {
      return this.grants.cover(
        {
          kind,
          agent: request.agent ?? null,
          server: request.server ?? null,
          tool: request.tool,
          args: request.args,
        },
        now,
      );
    } catch (error) {
      this.onError(error);
      return undefined;
    }
  }

  /** A grant's use is the reviewer's decision made in advance: recorded (awaited) before the gate releases the call. */
  private async recordGrant(request: ReviewRequest, use: GrantUse, argsSha256: string): Promise<void> {
    if (!this.audit) return;
    const event: ApprovalAuditEvent = {
      event: 'approval',
      correlation_id: request.correlationId ?? undefined,
      agent: request.agent ?? null,
      server: request.server ?? null,
      ...subjectOf(request.kind ?? 'tool', request.tool),
      decision: 'review',
      rule: request.rule,
      reason: use.summary,
      policy_sha256: request.policySha256 ?? undefined,
      status: 'granted',
      grant_id: use.grantId,
      args_sha256: argsSha256,
    };
    await this.audit.append(event);
  }

  /**
   * A refusal is a decision the queue takes itself, so it is recorded as one (deny, and why). Awaited:
   * the client's answer follows its record. Nothing runs either way, so a failed write is only reported.
   */
  private async recordRefusal(request: ReviewRequest, refusal: Refusal, argsSha256: string): Promise<void> {
    if (!this.audit) return;
    const event: ApprovalAuditEvent = {
      event: 'approval',
      correlation_id: request.correlationId ?? undefined,
      agent: refusal.agent,
      server: request.server ?? null,
      ...subjectOf(request.kind ?? 'tool', request.tool),
      decision: 'deny',
      rule: request.rule,
      reason: refusal.reason,
      policy_sha256: request.policySha256 ?? undefined,
      status: 'refused',
      pending: refusal.pending,
      max_pending_per_agent: refusal.cap,
      refused_in_flood: refusal.refused,
      args_sha256: argsSha256,
    };
    try {
      await this.audit.append(event);
    } catch (error) {
      this.onError(error);
    }
  }

  private record(approval: Approval, status: ApprovalAuditStatus, extra: Record<string, unknown>): void {
    if (!this.audit) return;
    const event: ApprovalAuditEvent = {
      event: 'approval',
      correlation_id: approval.correlationId ?? undefined,
      agent: approval.agent,
      server: approval.server,
      ...subjectOf(approval.kind, approval.tool),
      decision: 'review',
      rule: approval.rule,
      reason: approval.reason,
      policy_sha256: approval.policySha256 ?? undefined,
      approval_id: approval.id,
      status,
      args_sha256: approval.argsSha256,
      ...extra,
    };
    this.audit.append(event).catch((error: unknown) => this.onError(error));
  }
}

/** Why an approval was withdrawn, when it was not its client going away (a suspension names itself in the note). */
function withdrawnWhy(approval: Approval): string | undefined {
  return approval.decidedBy !== 'client' && approval.note ? approval.note : undefined;
}

/** Runs `fn` after `ms` unless `signal` ends first. */
function after(ms: number, fn: () => void, signal: AbortSignal): void {
  const timer = setTimeout(fn, Math.max(0, ms));
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
}

/** Runs `fn` once `now()` has reached `time`, re-arming when a timer fires before the clock agrees. */
function at(time: number, now: () => number, fn: () => void, signal: AbortSignal): void {
  const arm = (): void => {
    const left = time - now();
    if (left > 0) after(left + 1, () => (signal.aborted ? undefined : arm()), signal);
    else fn();
  };
  after(time - now() + 1, arm, signal);
}

function every(ms: number, fn: () => void, signal: AbortSignal): void {
  const interval = setInterval(fn, ms);
  signal.addEventListener('abort', () => clearInterval(interval), { once: true });
}

/** How an audit record names what waited: `tool`, or (as the gate's records do) `resource` / `prompt` with tool null. */
function subjectOf(kind: 'tool' | 'resource' | 'prompt', name: string): Record<string, string | null> {
  return kind === 'tool' ? { tool: name } : { tool: null, [kind]: name };
}
