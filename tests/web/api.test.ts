// The admin JSON API through app.request(): listing, deciding exactly once, policy status, dry-run checks.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/policy/index.js';
import type { CompiledPolicy } from '../../src/policy/types.js';
import { BASE, bearer, type Harness, harness, park, signIn } from './helpers.js';

const POLICY = `version: 2
default: deny
rules:
  - id: small-refunds
    match: "refunds.*"
    cap_cents: 15000
    decision: allow
    reason: "Auto-approved refunds under $150"
  - id: fallback
    match: "*"
    decision: review
    reason: "Everything else needs a person"
`;

function compiled(): CompiledPolicy {
  const result = loadPolicy(POLICY, 'policy.yml');
  if (!result.ok) throw new Error('test policy did not load');
  return result.policy;
}

let h: Harness;
afterEach(() => h.close());

describe('approvals API', () => {
  beforeEach(() => {
    h = harness();
  });

  it('lists pending approvals in the documented shape', async () => {
    const id = await park(h, { args: { op: 'refund', amount_cents: 20000 } });
    const res = await h.request('/api/approvals?status=pending', bearer());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>[];
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({
      id,
      status: 'pending',
      server: 'payments',
      tool: 'refunds.refund',
      args: { amount_cents: 20000, op: 'refund' },
      agent: 'support-bot',
      rule: 'fallback',
      reason: 'Refunds over $150 need a person',
    });
    expect(Date.parse(body[0]?.created_at as string)).toBeLessThan(Date.parse(body[0]?.expires_at as string));
    expect((await h.request('/api/approvals?status=bogus', bearer())).status).toBe(400);
  });

  it('approves once: 200, then 409 for any later decision, 404 for an unknown id', async () => {
    const id = await park(h);
    const ok = await h.request(
      `/api/approvals/${id}/approve`,
      bearer({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"note":"fine"}' }),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id, status: 'approved' });
    expect(h.store.get(id)).toMatchObject({ decidedBy: 'admin (API token)', note: 'fine' });

    const again = await h.request(`/api/approvals/${id}/deny`, bearer({ method: 'POST' }));
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ status: 'approved' });
    expect(
      (await h.request('/api/approvals/ap_0000000000000000/approve', bearer({ method: 'POST' }))).status,
    ).toBe(404);
    expect(
      (await h.request('/api/approvals?status=approved', bearer()).then((r) => r.json())) as unknown[],
    ).toHaveLength(1);
  });

  it('decides exactly once when many requests race', async () => {
    const id = await park(h);
    const responses = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        h.request(`/api/approvals/${id}/${i % 2 === 0 ? 'approve' : 'deny'}`, bearer({ method: 'POST' })),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(23);
  });

  it('answers 409 for an expired approval', async () => {
    h.close();
    let now = Date.now();
    h = harness(
      {},
      {
        settings: () => ({
          timeoutMs: 1,
          maxHoldMs: 0,
          retryWindowMs: 60_000,
          maxPendingPerAgent: 1000,
          approveIn: 'ui',
          grantMaxMs: 86_400_000,
        }),
        now: () => now,
      },
    );
    const id = await park(h);
    now = (h.store.get(id)?.expiresAt ?? 0) + 1;
    const res = await h.request(`/api/approvals/${id}/approve`, bearer({ method: 'POST' }));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ status: 'expired' });
  });

  it('refuses malformed bodies and over-long notes', async () => {
    const id = await park(h);
    const bad = (body: string) =>
      h.request(
        `/api/approvals/${id}/deny`,
        bearer({ method: 'POST', headers: { 'content-type': 'application/json' }, body }),
      );
    expect((await bad('{not json')).status).toBe(400);
    expect((await bad('[1]')).status).toBe(400);
    expect((await bad('{"note": 5}')).status).toBe(400);
    expect((await bad(JSON.stringify({ note: 'x'.repeat(2001) }))).status).toBe(400);
    // A signed-in browser posting a form: the CSRF check reads the body first; still a 400, not a 500.
    const { cookie, csrf } = await signIn(h);
    const formPost = await h.request(`/api/approvals/${id}/deny`, {
      method: 'POST',
      headers: { cookie, origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, note: 'x' }).toString(),
    });
    expect(formPost.status).toBe(400);
    expect(h.store.get(id)?.status).toBe('pending');
  });
});

describe('policy and health endpoints', () => {
  it('reports the policy in force and dry-runs calls with an explanation', async () => {
    const policy = compiled();
    const loadedAt = new Date('2026-11-03T08:00:00Z');
    h = harness({
      policy: () => policy,
      policyStatus: () => ({
        sha256: policy.sha256,
        loadedAt,
        file: '/etc/policy.yml',
        errors: ['policy.yml:3:5: bad'],
      }),
    });
    const status = await h.request('/api/policy', bearer());
    expect(await status.json()).toEqual({
      sha256: policy.sha256,
      loaded_at: loadedAt.toISOString(),
      file: '/etc/policy.yml',
      errors: ['policy.yml:3:5: bad'],
    });
    const check = (body: unknown) =>
      h.request(
        '/api/check',
        bearer({
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
      );
    const allow = await check({ tool: 'refunds.refund', args: { amount_cents: 100 } });
    expect(await allow.json()).toMatchObject({
      decision: 'allow',
      rule: 'small-refunds',
      policy_sha256: policy.sha256,
    });
    const review = (await (
      await check({ tool: 'refunds.refund', args: { amount_cents: 20000 } })
    ).json()) as {
      decision: string;
      trace: unknown[];
    };
    expect(review.decision).toBe('review');
    expect(review.trace.length).toBeGreaterThan(0);
    expect((await check({ args: {} })).status).toBe(400);
    // A dry run never creates an approval.
    expect(h.store.countPending()).toBe(0);
  });

  it('answers 503 for policy endpoints when no policy is loaded', async () => {
    h = harness();
    expect((await h.request('/api/policy', bearer())).status).toBe(503);
    expect((await h.request('/api/check', bearer({ method: 'POST', body: '{"tool":"x"}' }))).status).toBe(
      503,
    );
  });

  it('serves health and metrics without a token; ready follows its dependencies', async () => {
    let auditOk = true;
    h = harness({ ready: () => ({ ready: auditOk, checks: { audit: { ok: auditOk } } }) });
    expect((await h.request('/health/live')).status).toBe(200);
    const ready = await h.request('/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { approvals: { ok: true }, audit: { ok: true } },
    });
    auditOk = false;
    expect((await h.request('/health/ready')).status).toBe(503);

    const id = await park(h);
    await park(h, { args: { other: true } });
    h.queue.decide(id, { decision: 'approve', by: 'alice' });
    const metrics = await (await h.request('/metrics')).text();
    expect(metrics).toContain('portcullis_approvals_pending 1');
    expect(metrics).toContain('portcullis_approval_events_total{kind="created"} 2');
    expect(metrics).toContain('portcullis_approval_events_total{kind="approved"} 1');
  });
});
