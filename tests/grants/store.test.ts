// Standing grants against a real SQLite file: constraints (eq, max, any, extra arguments), life (expiry, revoke, max uses) and the atomic use count.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore, type ReviewerRef } from '../../src/approvals/index.js';
import {
  type Grant,
  GrantInvalidError,
  GrantNotAllowedError,
  GrantRevokedError,
  GrantStore,
  Grants,
} from '../../src/grants/index.js';
import { RecordingAuditSink } from '../approvals/helpers.js';
import { tempDir } from '../helpers/temp.js';

const alice: ReviewerRef = { id: 'rv_alice', name: 'alice', kind: 'reviewer' };
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 2, 12);

let tmp: ReturnType<typeof tempDir>;
let file: string;
let store: GrantStore;
let approvals: ApprovalStore;
let queue: ApprovalQueue;
let audit: RecordingAuditSink;
let grants: Grants;
let now = T0;

beforeEach(() => {
  tmp = tempDir();
  file = join(tmp.dir, 'governance.db');
  store = new GrantStore(file);
  approvals = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  audit = new RecordingAuditSink();
  queue = new ApprovalQueue({ store: approvals, audit, now: () => now });
  grants = new Grants({ store, audit, maxMs: () => 24 * HOUR, now: () => now });
  now = T0;
});

afterEach(() => {
  queue.close();
  approvals.close();
  store.close();
  tmp.cleanup();
});

/** A real pending approval of the queue, made grantable as the gate makes a rule's own review. */
async function approval(
  args: Record<string, unknown>,
  overrides: { agent?: string | undefined; grantable?: boolean } = {},
) {
  const verdict = await queue.review({
    agent: 'agent' in overrides ? overrides.agent : 'support-bot',
    server: 'crm',
    tool: 'customers.email',
    args,
    rule: 'email-review',
    reason: 'Emails go to a person',
    canWait: false,
    grantable: overrides.grantable ?? true,
  });
  const found = queue.get(verdict.approvalId as string);
  if (!found) throw new Error('not queued');
  return found;
}

const query = (
  args: unknown,
  over: Partial<{ agent: string | null; tool: string; server: string | null }> = {},
) => ({
  kind: 'tool' as const,
  agent: 'support-bot',
  server: 'crm',
  tool: 'customers.email',
  args,
  ...over,
});

async function granted(
  args: Record<string, unknown>,
  choice: Partial<Parameters<Grants['create']>[1]> = {},
): Promise<Grant> {
  const a = await approval(args);
  return grants.create(a, { durationMs: HOUR, ...choice }, alice);
}

it('eq by default: covers the same arguments only, and counts the use', async () => {
  const grant = await granted({ customer_id: 'c_1', subject: 'Hi' });
  expect(grant.id).toMatch(/^gr_[0-9a-f]{16}$/);
  expect(grants.cover(query({ customer_id: 'c_2', subject: 'Hi' }), now)).toBeUndefined();
  const use = grants.cover(query({ subject: 'Hi', customer_id: 'c_1' }), now);
  expect(use?.grantId).toBe(grant.id);
  expect(use?.summary).toContain('alice');
  expect(store.get(grant.id)?.uses).toBe(1);
});

it('any: any value of that argument, but it must be there', async () => {
  await granted({ customer_id: 'c_1', body: 'first' }, { args: { body: 'any' } });
  expect(grants.cover(query({ customer_id: 'c_1', body: 'something else entirely' }), now)).toBeDefined();
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeUndefined();
});

it('max: numbers up to the approved value; over it, strings and non-numbers are not covered', async () => {
  await granted({ amount_cents: 5000 }, { args: { amount_cents: 'max' } });
  expect(grants.cover(query({ amount_cents: 5000 }), now)).toBeDefined();
  expect(grants.cover(query({ amount_cents: 10 }), now)).toBeDefined();
  expect(grants.cover(query({ amount_cents: 5001 }), now)).toBeUndefined();
  expect(grants.cover(query({ amount_cents: '10' }), now)).toBeUndefined();
});

it('max is refused for an argument that is not a number', async () => {
  const a = await approval({ subject: 'Hi' });
  await expect(
    grants.create(a, { durationMs: HOUR, args: { subject: 'max' } }, alice),
  ).rejects.toBeInstanceOf(GrantInvalidError);
});

it('an argument the grant does not name is refused, unless the reviewer allowed other arguments', async () => {
  await granted({ customer_id: 'c_1' });
  expect(grants.cover(query({ customer_id: 'c_1', bcc: 'x@evil' }), now)).toBeUndefined();
  await granted({ customer_id: 'c_9' }, { otherArgs: true });
  expect(grants.cover(query({ customer_id: 'c_9', bcc: 'x@evil' }), now)).toBeDefined();
});

it('scope is exact: another agent, tool or server, or a call without an agent id, is not covered', async () => {
  await granted({ customer_id: 'c_1' });
  expect(grants.cover(query({ customer_id: 'c_1' }, { agent: 'other-bot' }), now)).toBeUndefined();
  expect(grants.cover(query({ customer_id: 'c_1' }, { agent: null }), now)).toBeUndefined();
  expect(grants.cover(query({ customer_id: 'c_1' }, { tool: 'customers.delete' }), now)).toBeUndefined();
  expect(grants.cover(query({ customer_id: 'c_1' }, { server: 'billing' }), now)).toBeUndefined();
});

it('a grant from an approval with no agent covers only calls with no agent', async () => {
  const a = await approval({ customer_id: 'c_1' }, { agent: undefined });
  await grants.create(a, { durationMs: HOUR }, alice);
  expect(grants.cover(query({ customer_id: 'c_1' }, { agent: 'support-bot' }), now)).toBeUndefined();
  expect(grants.cover(query({ customer_id: 'c_1' }, { agent: null }), now)).toBeDefined();
});

it('expired and revoked grants cover nothing; revoking twice is refused', async () => {
  const g = await granted({ customer_id: 'c_1' }, { durationMs: 15 * 60_000 });
  now = T0 + 15 * 60_000;
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeUndefined();
  now = T0;
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeDefined();
  await grants.revoke(g.id, 'alice (browser)');
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeUndefined();
  await expect(grants.revoke(g.id, 'alice (browser)')).rejects.toBeInstanceOf(GrantRevokedError);
  expect(audit.events.filter((e) => e.event === 'grant').map((e) => e.action)).toEqual([
    'created',
    'revoked',
  ]);
});

it('max_uses: covers that many calls, then none', async () => {
  await granted({ customer_id: 'c_1' }, { maxUses: 2 });
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeDefined();
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeDefined();
  expect(grants.cover(query({ customer_id: 'c_1' }), now)).toBeUndefined();
});

it('durations: only those offered under grant_max; a grant is refused from an approval that is not grantable', async () => {
  const short = new Grants({ store, maxMs: () => 2 * HOUR, now: () => now });
  expect(short.durations()).toEqual([15 * 60_000, HOUR]);
  const a = await approval({ customer_id: 'c_1' });
  await expect(short.create(a, { durationMs: 8 * HOUR }, alice)).rejects.toBeInstanceOf(GrantInvalidError);
  const b = await approval({ customer_id: 'c_2' }, { grantable: false });
  await expect(grants.create(b, { durationMs: HOUR }, alice)).rejects.toBeInstanceOf(GrantNotAllowedError);
});

it('two stores on the same file share one use count: the last use goes to one of them only', async () => {
  await granted({ customer_id: 'c_1' }, { maxUses: 1 });
  const other = new GrantStore(file);
  try {
    const otherGrants = new Grants({ store: other, maxMs: () => 24 * HOUR, now: () => now });
    const first = otherGrants.cover(query({ customer_id: 'c_1' }), now);
    const second = grants.cover(query({ customer_id: 'c_1' }), now);
    expect(first).toBeDefined();
    expect(second).toBeUndefined();
    expect(store.get(first?.grantId as string)?.uses).toBe(1);
  } finally {
    other.close();
  }
});

it('a grant whose audit record cannot be written is not kept', async () => {
  const failing = new Grants({
    store,
    audit: { append: () => Promise.reject(new Error('disk full')) },
    maxMs: () => 24 * HOUR,
    now: () => now,
  });
  const a = await approval({ customer_id: 'c_1' });
  await expect(failing.create(a, { durationMs: HOUR }, alice)).rejects.toThrow('disk full');
  expect(store.active(now)).toEqual([]);
});
