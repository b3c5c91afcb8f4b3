// The approval queue: admits calls the policy sent to review, holds or parks them, and settles them once.
import type { ApprovalAuditEvent, ApprovalAuditStatus, AuditSink } from '../audit/index.js';
import { DEFAULT_APPROVAL } from '../policy/compile.js';
import type { ApprovalSettings } from '../policy/types.js';
import { sha256Hex } from '../util/index.js';
import { callKey, canonicalArgs } from './canonical.js';
import { outcomeOfSettled, pendingOutcome, waitingMessage } from './outcomes.js';
import type { ApprovalStore, PageOptions } from './store.js';
import type {
  Approval,
  ApprovalPage,
  DecideInput,
  ExecutionReport,
  PendingByAgent,
  Refusal,
  ReviewOutcome,
  ReviewRequest,
  WaitingInfo,
} from './types.js';

/** The policy's defaults (one source of truth), for a queue started without a policy getter. */
export const DEFAULT_APPROVAL_SETTINGS: ApprovalSettings = { ...DEFAULT_APPROVAL };

/** What changed, for live views (SSE) and metrics. `external` means another process wrote. */
export type QueueChange =
  | { kind: 'created' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'executed'; approval: Approval }
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
  audit?: AuditSink | undefined;
  /** Called when an audit record could not be written (the gate's own records are the fail-closed ones). */
  onError?: ((error: unknown) => void) | undefined;
  /** How often the database is polled for decisions made by other processes. */
  pollIntervalMs?: number | undefined;
  /** How often a held call's onWaiting is called. */
  progressIntervalMs?: number | undefined;
  now?: (() => number) | undefined;
}

type Waker = () => void;

export class ApprovalQueue {
  readonly store: ApprovalStore;
  private readonly settingsOf: () => ApprovalSettings;
  private readonly uiUrlOf: () => string | undefined;
  private readonly audit: AuditSink | undefined;
  private readonly onError: (error: unknown) => void;
  private readonly progressIntervalMs: number;
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
    this.audit = options.audit;
    this.onError = options.onError ?? (() => {});
    this.progressIntervalMs = options.progressIntervalMs ?? 5_000;
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
   * Settle a call the policy sent to review. Resolves with how it ended for this caller; rejects only
   * when the database fails (the gate must then treat the call as denied).
   */
  async review(request: ReviewRequest): Promise<ReviewOutcome> {
    this.assertOpen();
    const settings = this.settingsOf();
    const argsCanonical = canonicalArgs(request.args);
    const argsSha256 = sha256Hex(argsCanonical);
    const agent = request.agent ?? null;
    const server = request.server ?? null;
    const started = this.now();
    this.sweep(started);
    const admission = this.store.admit(
      {
        agent,
        server,
        tool: request.tool,
        argsCanonical,
        argsSha256,
        callKey: callKey(agent, server, request.tool, argsSha256),
        rule: request.rule,
        reason: request.reason,
        policySha256: request.policySha256 ?? null,
        correlationId: request.correlationId ?? null,
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
      return { status: 'refused', refusal };
    }
    const { approval } = admission;
    if (admission.kind === 'claimed') return outcomeOfSettled(approval, true);
    if (admission.kind === 'created') {
      this.record(approval, 'pending', { args: JSON.parse(approval.argsCanonical) });
      this.emit({ kind: 'created', approval });
    }
    if (request.signal?.aborted) return this.leave(approval.id, this.holders.get(approval.id) ?? 0);
    if (!request.canWait || settings.maxHoldMs <= 0) return this.pendingFor(approval);
    return this.hold(approval, request, started + settings.maxHoldMs);
  }

  /** A person's decision. Throws ApprovalNotFoundError / ApprovalConflictError (HTTP 404 / 409). */
  decide(id: string, input: DecideInput): Approval {
    this.assertOpen();
    const now = this.now();
    this.sweep(now);
    const approval = this.store.decide(id, input, now);
    this.record(approval, approval.status, { decided_by: approval.decidedBy, note: approval.note });
    this.emit({ kind: approval.status as 'approved' | 'denied', approval });
    this.wake(id);
    return approval;
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

  private hold(approval: Approval, request: ReviewRequest, holdUntil: number): Promise<ReviewOutcome> {
    const id = approval.id;
    this.holders.set(id, (this.holders.get(id) ?? 0) + 1);
    return new Promise<ReviewOutcome>((resolve, reject) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (outcome: () => ReviewOutcome): void => {
        if (done) return;
        done = true;
        for (const timer of timers) clearTimeout(timer);
        clearInterval(progress);
        request.signal?.removeEventListener('abort', onAbort);
        this.waiters.get(id)?.delete(check);
        if (this.waiters.get(id)?.size === 0) this.waiters.delete(id);
        const left = (this.holders.get(id) ?? 1) - 1;
        if (left > 0) this.holders.set(id, left);
        else this.holders.delete(id);
        try {
          resolve(outcome());
        } catch (error) {
          reject(error);
        }
      };
      // Set by the hold timer itself: timers may fire a millisecond before the wall clock agrees.
      let holdOver = false;
      const check = (): void => {
        if (done) return;
        let next: (() => ReviewOutcome) | undefined;
        try {
          next = this.closed
            ? () => this.pendingFor(approval)
            : this.settledOutcome(id, approval, holdOver || this.now() >= holdUntil);
        } catch (error) {
          // Through finish, so the timers, the progress interval and this hold's count are released too.
          finish(() => {
            throw error;
          });
          return;
        }
        if (next) finish(next);
      };
      const onAbort = (): void => {
        if (done) return;
        const others = (this.holders.get(id) ?? 1) - 1;
        finish(() => this.leave(id, others));
      };
      const started = this.now();
      const sendProgress = (): void => {
        if (done) return;
        const info: WaitingInfo = { approvalId: id, elapsedMs: this.now() - started, uiUrl: this.uiUrlOf() };
        try {
          request.onWaiting?.(waitingMessage(id, info.uiUrl), info);
        } catch (error) {
          this.onError(error);
        }
      };
      const progress = setInterval(sendProgress, this.progressIntervalMs);
      let set = this.waiters.get(id);
      if (!set) {
        set = new Set();
        this.waiters.set(id, set);
      }
      set.add(check);
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const now = this.now();
      // The earlier of the approval's expiry and this caller's hold limit ends the wait.
      const onExpiry = (): void => {
        const left = approval.expiresAt - this.now();
        if (left > 0 && !done) timers.push(setTimeout(onExpiry, left + 1));
        else check();
      };
      timers.push(setTimeout(onExpiry, Math.max(0, approval.expiresAt - now) + 1));
      if (holdUntil < approval.expiresAt) {
        timers.push(
          setTimeout(
            () => {
              holdOver = true;
              check();
            },
            Math.max(0, holdUntil - now),
          ),
        );
      }
      check();
      // Tell the client at once where its call waits; the interval then keeps its timeout from firing.
      sendProgress();
    });
  }

  /** How a held call ends now, or undefined while it should keep waiting. */
  private settledOutcome(id: string, held: Approval, holdOver: boolean): (() => ReviewOutcome) | undefined {
    const now = this.now();
    let current = this.store.get(id);
    if (current?.status === 'pending' && current.expiresAt <= now) {
      this.sweep(now);
      current = this.store.get(id);
    }
    if (!current) return () => this.pendingFor(held);
    const settled = current;
    if (settled.status !== 'pending') return () => this.outcomeOfDecided(settled);
    if (holdOver) return () => this.pendingFor(settled);
    return undefined;
  }

  /** Turn a decided approval into this caller's outcome; an approval runs only for its one claimer. */
  private outcomeOfDecided(approval: Approval): ReviewOutcome {
    if (approval.status === 'withdrawn') return { status: 'withdrawn', approval };
    const claimed = this.store.claim(approval.id, this.now());
    if (claimed) return outcomeOfSettled(claimed, false);
    const current = this.store.get(approval.id) ?? approval;
    if (current.status === 'approved') return { status: 'consumed', approval: current };
    return outcomeOfSettled(current, false);
  }

  private pendingFor(approval: Approval): ReviewOutcome {
    return pendingOutcome(approval, this.uiUrlOf(), this.settingsOf().retryWindowMs);
  }

  /** A caller gave up: the approval is withdrawn unless `others` local callers still hold it. */
  private leave(id: string, others: number): ReviewOutcome {
    return others > 0 ? this.withdrawnWithoutWithdrawing(id) : this.withdrawFor(id);
  }

  private withdrawFor(id: string): ReviewOutcome {
    const withdrawn = this.store.withdraw(id, this.now());
    if (withdrawn) {
      this.record(withdrawn, 'withdrawn', {});
      this.emit({ kind: 'withdrawn', approval: withdrawn });
      this.wake(id);
      return { status: 'withdrawn', approval: withdrawn };
    }
    return this.withdrawnWithoutWithdrawing(id);
  }

  /** The caller left, but the approval stays as it is (decided already, or another caller still waits). */
  private withdrawnWithoutWithdrawing(id: string): ReviewOutcome {
    const current = this.store.get(id);
    if (!current) throw new Error(`approval ${id} disappeared`);
    return { status: 'withdrawn', approval: current };
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
      tool: request.tool,
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
      tool: approval.tool,
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
