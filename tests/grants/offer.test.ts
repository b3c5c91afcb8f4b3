// The grant offer on an approval card: shown only where a grant may be made, "at most" only for numbers, durations cut to grant_max.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApprovalQueue, ApprovalStore } from '../../src/approvals/index.js';
import { grantOffer } from '../../src/web/views/grant-form.js';
import { tempDir } from '../helpers/temp.js';

let tmp: ReturnType<typeof tempDir>;
let store: ApprovalStore;
let queue: ApprovalQueue;

beforeEach(() => {
  tmp = tempDir();
  store = new ApprovalStore(join(tmp.dir, 'approvals.db'));
  queue = new ApprovalQueue({ store });
});

afterEach(() => {
  queue.close();
  store.close();
  tmp.cleanup();
});

async function approval(grantable: boolean, approveIn: 'ui' | 'client' = 'ui') {
  const verdict = await queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    args: { amount_cents: 5000, reason: 'late <b>delivery</b>' },
    rule: 'refunds',
    reason: 'Refunds go to a person',
    canWait: false,
    grantable,
    approveIn,
  });
  return queue.get(verdict.approvalId as string) ?? (undefined as never);
}

const HOUR = 3_600_000;

it('offers a form for a grantable approval: CSRF, one choice per argument, "at most" only for the number', async () => {
  const a = await approval(true);
  const form = String(grantOffer(a, { csrf: 'tok123', grantable: true, maxMs: 24 * HOUR }));
  expect(form).toContain(`action="/approvals/${a.id}/grant"`);
  expect(form).toContain('name="_csrf" value="tok123"');
  expect(form).toContain('name="arg:amount_cents"');
  expect(form).toContain('name="arg:reason"');
  expect(form.match(/value="max"/g)).toHaveLength(1);
  expect(form).not.toContain('<b>delivery');
  expect(form).toContain('Approve and allow like this for');
});

it('cuts the durations to grant_max', async () => {
  const form = String(grantOffer(await approval(true), { csrf: 'x', grantable: true, maxMs: HOUR }));
  expect(form).toContain(`value="${HOUR}"`);
  expect(form).not.toContain(`value="${8 * HOUR}"`);
});

it('offers nothing for an approval that cannot take a grant, nor for one kept in the client', async () => {
  expect(grantOffer(await approval(false), { csrf: 'x', grantable: true, maxMs: HOUR })).toBe('');
  expect(grantOffer(await approval(true, 'client'), { csrf: 'x', grantable: true, maxMs: HOUR })).toBe('');
});
