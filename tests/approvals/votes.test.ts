// Two-person approvals and approvals kept in the client, against a real SQLite file and the queue.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  ApprovalAlreadyVotedError,
  ApprovalInClientError,
  ApprovalNeedsAccountError,
  ApprovalQueue,
  ApprovalStore,
  type ReviewerRef,
} from '../../src/approvals/index.js';
import type { Elicit, ReviewRequest } from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { RecordingAuditSink } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;
let audit: RecordingAuditSink;

const alice: ReviewerRef = { id: 'rv_alice', name: 'alice', kind: 'reviewer' };
const bob: ReviewerRef = { id: 'rv_bob', name: 'bob', kind: 'reviewer' };

function call(overrides: Partial<ReviewRequest> = {}): ReviewRequest {
  return {
    agent: 'ops-bot',
    server: 'payments',
    tool: 'payouts.send',
    args: { amount_cents: 5_000_00 },
    rule: 'payouts',
    reason: 'Payouts need two people',
    canWait: false,
    ...overrides,
  };
}

async function queued(overrides: Partial<ReviewRequest> = {}): Promise<string> {
  const verdict = await queue.review(call(overrides));
  if (verdict.approvalId === undefined) throw new Error('not queued');
  return verdict.approvalId;
}

beforeEach(() => {
  tmp = tempDir();
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  audit = new RecordingAuditSink();
  const settings = {
    timeoutMs: 60_000,
    maxHoldMs: 0,
    retryWindowMs: 60_000,
    maxPendingPerAgent: 100,
    approveIn: 'ui' as const,
    grantMaxMs: 86_400_000,
  };
  queue = new ApprovalQueue({ store, audit, settings: () => settings, uiUrl: () => undefined });
});

afterEach(() => {
  queue.close();
  store.close();
  tmp.cleanup();
});

it('a two-person approval stays pending after one approve, refuses the same reviewer twice, and runs after a second', async () => {
  const id = await queued({ approvers: 2 });
  const first = queue.decide(id, { decision: 'approve', by: 'alice (browser)', reviewer: alice });
  expect(first.status).toBe('pending');
  expect(first.votes.map((v) => v.reviewerId)).toEqual(['rv_alice']);
  expect(() => queue.decide(id, { decision: 'approve', by: 'alice (browser)', reviewer: alice })).toThrow(
    ApprovalAlreadyVotedError,
  );
  // The retry of a call with one vote is still pending: nothing runs on half an approval.
  expect((await queue.review(call({ approvers: 2 }))).kind).toBe('respond');
  const second = queue.decide(id, { decision: 'approve', by: 'bob (browser)', reviewer: bob });
  expect(second).toMatchObject({ status: 'approved', decidedById: 'rv_bob', decidedBy: 'alice + bob' });
  expect(second.votes.map((v) => v.name)).toEqual(['alice', 'bob']);
  expect(audit.statuses(id)).toEqual(['pending', 'voted', 'approved']);
  const voted = audit.events.find((e) => e.status === 'voted');
  expect(voted).toMatchObject({ reviewer: 'rv_alice', votes: 1, approvers: 2 });
  expect((await queue.review(call({ approvers: 2 }))).kind).toBe('run');
});

it('a two-person approval takes no approve without an account, but one deny from anyone settles it', async () => {
  const id = await queued({ approvers: 2 });
  expect(() => queue.decide(id, { decision: 'approve', by: 'cli:root' })).toThrow(ApprovalNeedsAccountError);
  const cli: ReviewerRef = { id: 'cli:root', name: 'root', kind: 'cli' };
  expect(() => queue.decide(id, { decision: 'approve', by: 'root (cli)', reviewer: cli })).toThrow(
    ApprovalNeedsAccountError,
  );
  queue.decide(id, { decision: 'approve', by: 'alice (browser)', reviewer: alice });
  const denied = queue.decide(id, { decision: 'deny', by: 'bob (browser)', reviewer: bob, note: 'no' });
  expect(denied).toMatchObject({ status: 'denied', decidedById: 'rv_bob', decidedBy: 'bob (browser)' });
  expect((await queue.review(call({ approvers: 2 }))).kind).toBe('deny');
});

it('an approval kept in the client takes an approve only from the client; anyone may deny it', async () => {
  // Kept in the client only when the client can be asked (it declared elicitation): a question that waits.
  const never: Elicit = (_q, signal) =>
    new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const held = queue.review(call({ approveIn: 'client', elicit: never }));
  const id = await waitFor(() => store.list({ status: 'pending' })[0]?.id, 'the client-kept approval');
  expect(store.get(id)?.approveIn).toBe('client');
  expect(() => queue.decide(id, { decision: 'approve', by: 'alice (browser)', reviewer: alice })).toThrow(
    ApprovalInClientError,
  );
  const client: ReviewerRef = { id: 'client:ops-bot', name: 'ops-bot user', kind: 'client' };
  expect(queue.decide(id, { decision: 'approve', by: 'ops-bot (client)', reviewer: client }).status).toBe(
    'approved',
  );
  expect((await held).kind).toBe('run');
  // A client that cannot be asked leaves it to the UI, where an approve then works.
  const fallback = await queued({ approveIn: 'client', args: { amount_cents: 2 } });
  expect(store.get(fallback)?.approveIn).toBe('ui');
  const heldOther = queue.review(call({ approveIn: 'client', elicit: never, args: { amount_cents: 1 } }));
  const other = await waitFor(
    () => store.list({ status: 'pending' }).find((a) => a.approveIn === 'client')?.id,
    'another',
  );
  expect(queue.decide(other, { decision: 'deny', by: 'alice (browser)', reviewer: alice }).status).toBe(
    'denied',
  );
  expect((await heldOther).kind).toBe('deny');
});

it('a schema 4 database gains the new columns, and its rows read as single-reviewer UI approvals', () => {
  const file = join(tmp.dir, 'old.db');
  const old = new Database(file);
  old.exec(`CREATE TABLE approvals (id TEXT PRIMARY KEY, status TEXT NOT NULL, agent TEXT, server TEXT,
    tool TEXT NOT NULL, args_canonical TEXT NOT NULL, args_sha256 TEXT NOT NULL, call_key TEXT NOT NULL,
    rule TEXT, reason TEXT NOT NULL, policy_sha256 TEXT, correlation_id TEXT, created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, decided_at INTEGER, decided_by TEXT, note TEXT, delivered_at INTEGER,
    executed_at INTEGER, execution_ok INTEGER, execution_error TEXT,
    kind TEXT NOT NULL DEFAULT 'tool')`);
  old
    .prepare(
      `INSERT INTO approvals (id, status, tool, args_canonical, args_sha256, call_key, reason, created_at, expires_at)
       VALUES ('ap_old', 'pending', 't', '{}', 'x', 'k', 'r', 1, ?)`,
    )
    .run(Date.now() + 60_000);
  old.pragma('user_version = 4');
  old.close();
  const migrated = new ApprovalStore(file);
  try {
    expect(migrated.get('ap_old')).toMatchObject({
      approvers: 1,
      approveIn: 'ui',
      votes: [],
      decidedById: null,
    });
    expect(migrated.db.pragma('user_version', { simple: true })).toBe(5);
  } finally {
    migrated.close();
  }
});

it('remembers whether a grant may be made from the approval (never from a two-person one)', async () => {
  const plain = await queued({ args: { amount_cents: 1 } });
  const offered = await queued({ grantable: true, args: { amount_cents: 2 } });
  const twoPerson = await queued({ grantable: true, approvers: 2, args: { amount_cents: 3 } });
  expect([plain, offered, twoPerson].map((id) => store.get(id)?.grantable)).toEqual([false, true, false]);
});
