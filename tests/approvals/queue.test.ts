// The queue against a real SQLite file: holding, deciding, expiry, withdrawal, retry-once and replay.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalConflictError, ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import type { ApprovalSettings } from '../../src/policy/types.js';
import type { ReviewRequest, ReviewVerdict } from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { idOf, RecordingAuditSink, statusOf } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let audit: RecordingAuditSink;
let settings: ApprovalSettings;
let clockOffset = 0;
/** Below 1 the queue's clock runs slow, so its timers fire before the clock says they are due. */
let clockRate = 1;
const clockBase = Date.now();

function call(overrides: Partial<ReviewRequest> = {}): ReviewRequest {
  return {
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: { amount_cents: 20000, op: 'refund', customer: { id: 'c_1', note: 'late' } },
    rule: 'fallback',
    reason: 'Refunds over $150 need a person',
    policySha256: 'a'.repeat(64),
    correlationId: 'corr-1',
    canWait: true,
    ...overrides,
  };
}

async function pendingId(queueToWatch: ApprovalQueue): Promise<string> {
  let id: string | undefined;
  await waitFor(() => {
    id = queueToWatch.list({ status: 'pending' })[0]?.id;
    return id !== undefined;
  }, 'a pending approval');
  return id as string;
}

beforeEach(() => {
  tmp = tempDir();
  clockOffset = 0;
  clockRate = 1;
  settings = {
    timeoutMs: 60_000,
    maxHoldMs: 60_000,
    retryWindowMs: 60_000,
    maxPendingPerAgent: 1000,
    approveIn: 'ui',
    grantMaxMs: 86_400_000,
  };
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  audit = new RecordingAuditSink();
  queue = new ApprovalQueue({
    store,
    audit,
    settings: () => settings,
    uiUrl: () => 'http://127.0.0.1:8787',
    progressIntervalMs: 20,
    pollIntervalMs: 25,
    now: () => clockBase + (Date.now() - clockBase) * clockRate + clockOffset,
  });
});

afterEach(() => {
  queue.close();
  store.close();
  tmp.cleanup();
});

describe('held calls', () => {
  it('holds with progress until approved, then hands back the stored canonical arguments once', async () => {
    const messages: string[] = [];
    const held = queue.review(call({ args: { b: 2, a: 1 }, onWaiting: (m) => messages.push(m) }));
    const id = await pendingId(queue);
    await waitFor(() => messages.length >= 2, 'progress', 5000);
    expect(messages[0]).toBe(`awaiting approval ${id} at http://127.0.0.1:8787/approvals/${id}`);

    queue.decide(id, { decision: 'approve', by: 'alice (browser)', note: 'ok' });
    const outcome = await held;
    expect(outcome.kind).toBe('run');
    if (outcome.kind !== 'run') return;
    expect(outcome.args).toEqual({ a: 1, b: 2 });
    expect(store.get(id)?.argsCanonical).toBe('{"a":1,"b":2}');
    expect(outcome.retry).toBe(false);

    expect(queue.reportExecution(id, { ok: true, durationMs: 12 })?.executionOk).toBe(true);
    // A second report is not recorded: the call ran once.
    expect(queue.reportExecution(id, { ok: true })).toBeUndefined();
    await waitFor(() => audit.statuses(id).length === 3, 'three audited statuses');
    expect(audit.statuses(id)).toEqual(['pending', 'approved', 'executed']);
    const approved = audit.events.find((e) => e.status === 'approved');
    expect(approved).toMatchObject({ correlation_id: 'corr-1', decided_by: 'alice (browser)', note: 'ok' });
  });

  it('denies with the reviewer note and nothing runs', async () => {
    const held = queue.review(call());
    const id = await pendingId(queue);
    queue.decide(id, { decision: 'deny', by: 'bob', note: 'customer is not eligible' });
    const outcome = await held;
    expect(outcome).toMatchObject({ kind: 'deny', cause: 'denied', approvalId: id });
    expect(outcome.kind === 'deny' && outcome.reason).toBe(
      `approval ${id} was denied by bob: customer is not eligible`,
    );
    expect(() => queue.decide(id, { decision: 'approve', by: 'mallory' })).toThrow(ApprovalConflictError);
    expect(store.get(id)?.status).toBe('denied');
  });

  it('expires after approval.timeout and cannot be approved afterwards', async () => {
    settings = { ...settings, timeoutMs: 150 };
    const outcome = await queue.review(call());
    expect(statusOf(outcome)).toBe('expired');
    const id = idOf(outcome);
    expect(store.get(id)).toMatchObject({ status: 'expired', decidedBy: 'timeout' });
    let error: unknown;
    try {
      queue.decide(id, { decision: 'approve', by: 'alice' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApprovalConflictError);
    expect((error as ApprovalConflictError).status).toBe('expired');
    await waitFor(() => audit.statuses(id).includes('expired'), 'the expiry in the audit');
  });

  it('withdraws the approval when the client cancels; it can never be approved or run', async () => {
    const controller = new AbortController();
    const held = queue.review(call({ signal: controller.signal }));
    const id = await pendingId(queue);
    controller.abort();
    const outcome = await held;
    expect(statusOf(outcome)).toBe('withdrawn');
    expect(store.get(id)?.status).toBe('withdrawn');
    expect(() => queue.decide(id, { decision: 'approve', by: 'alice' })).toThrow(ApprovalConflictError);
    // The same call again is a new approval, not a resurrection of the withdrawn one.
    const again = await queue.review(call({ canWait: false }));
    expect(statusOf(again)).toBe('pending');
    expect(idOf(again)).not.toBe(id);
  });

  it('answers pending after approval.maxHoldMs and the retry runs once after approval', async () => {
    settings = { ...settings, maxHoldMs: 100 };
    // A hold timer that fires while the clock still says "not yet" must still end the hold.
    clockRate = 0.5;
    const first = await queue.review(call());
    clockRate = 1;
    expect(statusOf(first)).toBe('pending');
    queue.decide(idOf(first), { decision: 'approve', by: 'alice' });
    const retry = await queue.review(call());
    expect(retry).toMatchObject({ kind: 'run', retry: true });
    expect(idOf(retry)).toBe(idOf(first));
  });

  it('lets only one of two callers holding the same approval run it', async () => {
    const a = queue.review(call());
    const id = await pendingId(queue);
    const b = queue.review(call());
    await waitFor(
      () => (queue as unknown as { holders: Map<string, number> }).holders.get(id) === 2,
      'two holders',
    );
    queue.decide(id, { decision: 'approve', by: 'alice' });
    const outcomes = (await Promise.all([a, b])).map(statusOf).sort();
    expect(outcomes).toEqual(['approved', 'consumed']);
  });
  it('a caller that joins already cancelled leaves the approval to the caller still holding it', async () => {
    const held = queue.review(call());
    const id = await pendingId(queue);
    const controller = new AbortController();
    controller.abort();
    const joined = await queue.review(call({ signal: controller.signal }));
    expect(joined).toMatchObject({ kind: 'deny', cause: 'withdrawn', approvalId: id });
    expect(store.get(id)?.status).toBe('pending');
    queue.decide(id, { decision: 'approve', by: 'alice' });
    expect(statusOf(await held)).toBe('approved');
  });

  it('releases everything a held call holds when the database fails under it', async () => {
    settings = { ...settings, timeoutMs: 100 };
    const progress: string[] = [];
    const held = queue.review(call({ onWaiting: (m) => progress.push(m) }));
    const id = await pendingId(queue);
    store.close();
    await expect(held).rejects.toThrow();
    const internals = queue as unknown as { holders: Map<string, number>; waiters: Map<string, unknown> };
    expect(internals.holders.has(id)).toBe(false);
    expect(internals.waiters.has(id)).toBe(false);
  });
});

describe('clients that cannot wait', () => {
  it('get the approval id and the UI address (no credential), and a retry after approval runs once', async () => {
    const first = await queue.review(call({ canWait: false }));
    expect(first.kind).toBe('respond');
    if (first.kind !== 'respond') return;
    const id = idOf(first);
    expect(first.text).toContain(id);
    expect(first.text).toContain(`http://127.0.0.1:8787/approvals/${id}`);

    // Retried before anyone decided: still the same approval, still nothing runs.
    const early = await queue.review(call({ canWait: false }));
    expect(early).toMatchObject({ kind: 'respond', approvalId: id });

    queue.decide(id, { decision: 'approve', by: 'alice' });
    // Same call, arguments in another key order: canonically equal, so it is the approved call.
    const retry = await queue.review(
      call({
        canWait: false,
        args: { customer: { note: 'late', id: 'c_1' }, op: 'refund', amount_cents: 20000 },
      }),
    );
    expect(retry).toMatchObject({ kind: 'run', retry: true, approvalId: id });

    // A replay does not run: it is a new approval waiting for a person.
    const replay = await queue.review(call({ canWait: false }));
    expect(statusOf(replay)).toBe('pending');
    expect(idOf(replay)).not.toBe(id);
  });

  it('does not run a different call on an approval (other arguments, agent or server)', async () => {
    const first = await queue.review(call({ canWait: false }));
    queue.decide(idOf(first), { decision: 'approve', by: 'alice' });
    const variants: ReviewVerdict[] = [
      await queue.review(call({ canWait: false, args: { amount_cents: 20001, op: 'refund' } })),
      await queue.review(call({ canWait: false, agent: 'other-bot' })),
      await queue.review(call({ canWait: false, server: 'other' })),
      await queue.review(call({ canWait: false, tool: 'refunds.other' })),
    ];
    for (const outcome of variants) {
      expect(statusOf(outcome)).toBe('pending');
      expect(idOf(outcome)).not.toBe(idOf(first));
    }
    // The approved call itself is still available to its one retry.
    expect(statusOf(await queue.review(call({ canWait: false })))).toBe('approved');
  });

  it('refuses a retry after approval.retryWindowMs', async () => {
    const first = await queue.review(call({ canWait: false }));
    queue.decide(idOf(first), { decision: 'approve', by: 'alice' });
    clockOffset = settings.retryWindowMs + 1;
    const late = await queue.review(call({ canWait: false }));
    expect(statusOf(late)).toBe('pending');
    expect(idOf(late)).not.toBe(idOf(first));
  });

  it('tells a retry about a denial once, with the note', async () => {
    const first = await queue.review(call({ canWait: false }));
    queue.decide(idOf(first), { decision: 'deny', by: 'bob', note: 'no' });
    expect(await queue.review(call({ canWait: false }))).toMatchObject({
      kind: 'deny',
      cause: 'denied',
      reason: `approval ${idOf(first)} was denied by bob: no`,
    });
    expect(statusOf(await queue.review(call({ canWait: false })))).toBe('pending');
  });

  it('refuses arguments that are not a JSON object', async () => {
    await expect(queue.review(call({ args: [1, 2] }))).rejects.toMatchObject({ code: 'E_APPROVAL_ARGS' });
  });
});

describe('the database file', () => {
  it('is readable by this user only: it holds the real arguments of held calls', () => {
    expect(statSync(join(tmp.dir, 'approvals.db')).mode & 0o777).toBe(0o600);
  });
});
