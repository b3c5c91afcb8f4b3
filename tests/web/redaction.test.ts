// Secrets in a held call's arguments are masked on the approval pages and in the API, as in the audit log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/index.js';
import { tempDir } from '../approvals/helpers.js';
import { type Harness, harness, park, signIn, TOKEN } from './helpers.js';

const SECRET = 'hunter2-do-not-show';
let h: Harness;
let log: AuditLog;
let cleanup: () => void;

beforeEach(async () => {
  const tmp = tempDir('portcullis-redact-');
  cleanup = tmp.cleanup;
  log = await AuditLog.open({ dataDir: tmp.dir });
  h = harness({ redactArgs: (args) => log.redact(args) });
});

afterEach(async () => {
  h.close();
  await log.close();
  cleanup();
});

describe('approval views mask secrets', () => {
  it('masks secrets even when no redactor is given (fail closed)', async () => {
    const bare = harness({});
    try {
      await park(bare, { tool: 'accounts.create', args: { username: 'ada', password: SECRET } });
      const api = await (
        await bare.request('/api/approvals?status=pending', { headers: { authorization: `Bearer ${TOKEN}` } })
      ).text();
      expect(api).toContain('ada');
      expect(api).not.toContain(SECRET);
      expect(api).toMatch(/"password":"\[redacted\] hmac-sha256:[0-9a-f]{64}"/);
    } finally {
      bare.close();
    }
  });

  it('never shows a secret value in pages or the API, but shows the rest and a stable HMAC', async () => {
    const id = await park(h, {
      tool: 'accounts.create',
      args: { username: 'ada', password: SECRET, nested: { api_key: SECRET, amount_cents: 1200 } },
    });
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const api = await (await h.request('/api/approvals?status=pending', { headers: bearer })).text();
    const one = await (await h.request(`/api/approvals/${id}`, { headers: bearer })).text();
    for (const body of [api, one]) {
      expect(body).not.toContain(SECRET);
      expect(body).toContain('ada');
      expect(body).toContain('1200');
    }
    const [approval] = JSON.parse(api) as { args: { password: string; nested: { api_key: string } } }[];
    expect(approval?.args.password).toMatch(/^\[redacted\] hmac-sha256:[0-9a-f]{64}$/);
    // Equal secrets mask to the same value, so a reviewer can see they are the same.
    expect(approval?.args.nested.api_key).toBe(approval?.args.password);

    const { cookie } = await signIn(h);
    for (const path of ['/', '/fragments/pending']) {
      const page = await (await h.request(path, { headers: { cookie } })).text();
      expect(page).toContain('ada');
      expect(page).not.toContain(SECRET);
    }
    h.queue.decide(id, { decision: 'deny', by: 'alice' });
    const decided = await (await h.request('/decided', { headers: { cookie } })).text();
    expect(decided).toContain('ada');
    expect(decided).not.toContain(SECRET);
    // The queue itself keeps the real arguments: approving forwards what the agent sent.
    expect(JSON.parse(h.store.get(id)?.argsCanonical ?? '{}').password).toBe(SECRET);
  });
});
