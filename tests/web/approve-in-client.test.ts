// The UI and API with an approval kept in the client: approve is refused with 409, deny works, the card offers Deny only.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Elicit } from '../../src/proxy/index.js';
import { waitFor } from '../helpers/wait.js';
import { bearer, form, type Harness, harness, signIn } from './helpers.js';

let h: Harness;
beforeEach(() => {
  h = harness();
});
afterEach(() => h.close());

/** A question the client never answers: the approval stays pending and kept in the client. */
const never: Elicit = (_q, signal) =>
  new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

async function keptInClient(): Promise<{ id: string; verdict: Promise<unknown> }> {
  const verdict = h.queue.review({
    agent: 'support-bot',
    server: 'payments',
    tool: 'payment_links.create',
    args: { amount_cents: 90000 },
    rule: 'big-links',
    reason: 'Big payment links are approved in the client',
    canWait: false,
    approveIn: 'client',
    elicit: never,
  });
  const id = await waitFor(() => h.store.list({ status: 'pending' })[0]?.id, 'the approval');
  return { id, verdict };
}

it('refuses an approve from the API with 409 and the code, and takes a deny', async () => {
  const { id, verdict } = await keptInClient();
  const refused = await h.request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }));
  expect(refused.status).toBe(409);
  expect(await refused.text()).toContain('E_APPROVAL_IN_CLIENT');
  expect(h.store.get(id)?.status).toBe('pending');
  const denied = await h.request(`/api/approvals/${id}/deny`, bearer({ method: 'POST' }));
  expect(denied.status).toBe(200);
  expect(h.store.get(id)?.status).toBe('denied');
  expect(await verdict).toMatchObject({ kind: 'deny', cause: 'denied' });
});

it('shows the card without Approve, and refuses a forged approve form with 409', async () => {
  const { id } = await keptInClient();
  const { cookie, csrf } = await signIn(h);
  const page = await (await h.request('/', { headers: { cookie } })).text();
  const card = page.slice(page.indexOf(`id="${id}"`));
  expect(card).toContain('Approved in the client only');
  expect(card.slice(0, card.indexOf('</article>'))).not.toContain('value="approve"');
  const init = form({ _csrf: csrf, decision: 'approve' });
  const res = await h.request(`/approvals/${id}/decide`, {
    ...init,
    headers: { ...(init.headers as Record<string, string>), cookie },
  });
  expect(res.status).toBe(409);
  expect(h.store.get(id)?.status).toBe('pending');
});
