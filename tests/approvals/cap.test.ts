// The pending cap per agent (approval.max_pending_per_agent) on a real SQLite file: a flood is refused, retries still work.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import type { ApprovalSettings } from '../../src/policy/types.js';
import type { ReviewRequest } from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';
import { idOf, RecordingAuditSink, statusOf } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let audit: RecordingAuditSink;
let settings: ApprovalSettings;
let now: number;

function call(n: number, overrides: Partial<ReviewRequest> = {}): ReviewRequest {
  return {
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: { amount_cents: 20_000 + n, op: 'refund' },
    rule: 'large-refunds',
    reason: 'Refunds over $150 need a person',
    policySha256: 'b'.repeat(64),
    correlationId: `corr-${n}`,
    canWait: false,
    ...overrides,
  };
}

beforeEach(() => {
  tmp = tempDir('portcullis-cap-');
  now = Date.UTC(2026, 11, 1, 14, 0, 0);
  settings = {
    timeoutMs: 300_000,
    maxHoldMs: 0,
    retryWindowMs: 600_000,
    maxPendingPerAgent: 3,
    approveIn: 'ui',
    grantMaxMs: 86_400_000,
  };
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  audit = new RecordingAuditSink();
  queue = new ApprovalQueue({ store, audit, settings: () => settings, now: () => now });
});

afterEach(() => {
  queue.close();
  store.close();
  tmp.cleanup();
});

describe('max_pending_per_agent', () => {
  it('is a policy setting with a default of 20, refused below 1 or when not a whole number', () => {
    const load = (approval: string) => loadPolicy(`version: 2\n${approval}rules: []\n`, 'policy.yml');
    const defaults = load('');
    expect(defaults.ok && defaults.policy.approval.maxPendingPerAgent).toBe(20);
    const set = load('approval:\n  max_pending_per_agent: 5\n');
    expect(set.ok && set.policy.approval.maxPendingPerAgent).toBe(5);
    for (const bad of ['0', '2.5', '"20"', '-1']) {
      const result = load(`approval:\n  max_pending_per_agent: ${bad}\n`);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors[0]?.message).toMatch(/^approval\.max_pending_per_agent: /);
    }
  });

  it('refuses a new call over the cap with a reason naming agent, count and cap; nothing is queued', async () => {
    for (let n = 0; n < 3; n++) expect(statusOf(await queue.review(call(n)))).toBe('pending');
    const refused = await queue.review(call(3));
    expect(refused).toMatchObject({ kind: 'deny', cause: 'refused' });
    expect(refused.approvalId).toBeUndefined();
    if (refused.kind !== 'deny') return;
    expect(refused.reason).toContain('agent support-bot already has 3 approvals pending');
    expect(refused.reason).toContain('approval.max_pending_per_agent allows (3)');
    expect(store.countPending()).toBe(3);
    expect(store.list({ status: 'pending' }).some((a) => a.argsCanonical.includes('20003'))).toBe(false);

    // The audit log records the refusal as the decision it is, and why.
    const record = audit.events.find((e) => e.status === 'refused');
    expect(record).toMatchObject({
      event: 'approval',
      decision: 'deny',
      agent: 'support-bot',
      tool: 'refunds.refund',
      rule: 'large-refunds',
      correlation_id: 'corr-3',
      reason: refused.reason,
      pending: 3,
      max_pending_per_agent: 3,
      refused_in_flood: 1,
    });
    expect(record?.approval_id).toBeUndefined();

    // Another agent is not held back by this one's flood.
    expect(statusOf(await queue.review(call(3, { agent: 'billing-bot' })))).toBe('pending');
  });

  it('still lets a retry join its pending approval, and an approved call run, while the agent is at the cap', async () => {
    const first = await queue.review(call(0));
    await queue.review(call(1));
    await queue.review(call(2));
    const joined = await queue.review(call(1));
    expect(statusOf(joined)).toBe('pending');
    expect(store.countPending()).toBe(3);

    queue.decide(idOf(first), { decision: 'approve', by: 'alice' });
    expect(statusOf(await queue.review(call(3)))).toBe('pending'); // back at 3 pending
    expect(statusOf(await queue.review(call(4)))).toBe('refused');
    const retried = await queue.review(call(0));
    expect(retried).toMatchObject({ kind: 'run', approvalId: idOf(first) });
  });

  it('counts refusals per agent for as long as its flood lasts, and starts again with the next one', async () => {
    for (let n = 0; n < 3; n++) await queue.review(call(n));
    const floodStart = now;
    for (let n = 3; n < 8; n++) {
      now += 1000;
      expect(statusOf(await queue.review(call(n)))).toBe('refused');
    }
    const summary = queue.pendingByAgent();
    expect(summary.agents).toEqual([
      { agent: 'support-bot', pending: 3, refused: 5, refusedSince: floodStart + 1000, lastRefusedAt: now },
    ]);

    // A reviewer decides one: the flood goes on (its oldest approvals still wait), and so does the count.
    const pending = store.list({ status: 'pending' });
    queue.decide(pending[0]?.id as string, { decision: 'deny', by: 'alice' });
    now += 1000;
    expect(statusOf(await queue.review(call(8)))).toBe('pending');
    now += 1000;
    const sixth = await queue.review(call(9));
    expect(statusOf(sixth)).toBe('refused');
    expect(audit.events.filter((e) => e.status === 'refused').at(-1)?.refused_in_flood).toBe(6);

    // Every approval decided: that flood is over. The next one counts from one.
    for (const a of store.list({ status: 'pending' })) queue.decide(a.id, { decision: 'deny', by: 'alice' });
    expect(queue.pendingByAgent().agents).toEqual([]);
    now += 60_000;
    for (let n = 10; n < 13; n++) await queue.review(call(n));
    now += 1000;
    const again = await queue.review(call(13));
    expect(statusOf(again)).toBe('refused');
    expect(queue.pendingByAgent().agents[0]).toMatchObject({ refused: 1, refusedSince: now });
  });

  it('counts only approvals still pending: expired ones free the agent', async () => {
    for (let n = 0; n < 3; n++) await queue.review(call(n));
    expect(statusOf(await queue.review(call(3)))).toBe('refused');
    now += settings.timeoutMs + 1;
    expect(statusOf(await queue.review(call(3)))).toBe('pending');
  });

  it('applies the cap of the policy in force at the next call (a reload lowers or raises it)', async () => {
    for (let n = 0; n < 3; n++) await queue.review(call(n));
    settings = { ...settings, maxPendingPerAgent: 2, approveIn: 'ui', grantMaxMs: 86_400_000 };
    expect(statusOf(await queue.review(call(3)))).toBe('refused');
    settings = { ...settings, maxPendingPerAgent: 10, approveIn: 'ui', grantMaxMs: 86_400_000 };
    expect(statusOf(await queue.review(call(3)))).toBe('pending');
  });

  it('keeps calls without an agent under one shared cap rather than none', async () => {
    for (let n = 0; n < 3; n++) await queue.review(call(n, { agent: null }));
    const refused = await queue.review(call(3, { agent: null }));
    expect(refused.kind === 'deny' && refused.reason).toContain('agent (unknown) already has 3');
  });
});
