// The reviewer sees what they approve: only secrets are masked on the approval pages and in the API, and can be revealed on the record.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, queryAudit } from '../../src/audit/index.js';
import { tempDir } from '../helpers/temp.js';
import { bearer, form, type Harness, harness, park, signIn } from './helpers.js';

const SECRET = 'hunter2-do-not-show';
const HEADER_SECRET = 'hdr-9f8e7d6c5b4a3921';
const COMMAND_SECRET = 'cmd-0a1b2c3d4e5f6789';
const MASK = /\[redacted\] hmac-sha256:[0-9a-f]{64}/;

/** A held call with real secrets and harmless look-alikes a reviewer must be able to read. */
const ARGS = {
  username: 'ada',
  password: SECRET,
  headers: [
    { name: 'Authorization', value: `Bearer ${HEADER_SECRET}` },
    { name: 'Accept', value: 'application/json' },
  ],
  command: `curl -H "Authorization: Bearer ${COMMAND_SECRET}" https://api.example.com/v1/refunds`,
  token_address: '0x52908400098527886E0F7030069857D2E4169EE7',
  max_tokens: 4096,
  token_count: 17,
  signature: 'Ada Lovelace, CFO',
  passenger: 'Grace Hopper',
  keyboard: 'dvorak',
};
const LOOK_ALIKES = [
  '0x52908400098527886E0F7030069857D2E4169EE7',
  '4096',
  '17',
  'Ada Lovelace, CFO',
  'Grace Hopper',
  'dvorak',
];
/** In document order of the canonical arguments (keys sorted), as the API lists them. */
const MASKED = ['/command', '/headers/0/value', '/password'];

let h: Harness;
let log: AuditLog;
let dataDir: string;
let cleanup: () => void;

beforeEach(async () => {
  const tmp = tempDir('portcullis-redact-');
  cleanup = tmp.cleanup;
  dataDir = tmp.dir;
  log = await AuditLog.open({ dataDir });
  h = harness({ redactArgs: (args) => log.review(args), audit: log });
});

afterEach(async () => {
  h.close();
  await log.close();
  cleanup();
});

async function auditText(): Promise<string> {
  await log.checkpoint();
  return readFile(join(dataDir, 'audit', 'audit-000001.jsonl'), 'utf8');
}

const reveal = (id: string, body: unknown, init: RequestInit = {}) =>
  h.request(`/api/approvals/${id}/reveal`, bearer({ method: 'POST', body: JSON.stringify(body), ...init }));

describe('what a reviewer is shown', () => {
  it('masks the secrets and shows the look-alikes in full, in the API and on the pages', async () => {
    const id = await park(h, { tool: 'accounts.create', args: ARGS });
    const list = await (await h.request('/api/approvals?status=pending', bearer())).text();
    const one = await (await h.request(`/api/approvals/${id}`, bearer())).text();
    const { cookie } = await signIn(h);
    const page = await (await h.request('/', { headers: { cookie } })).text();
    const fragment = await (await h.request('/fragments/pending', { headers: { cookie } })).text();
    for (const body of [list, one, page, fragment]) {
      for (const secret of [SECRET, HEADER_SECRET, COMMAND_SECRET]) expect(body).not.toContain(secret);
      for (const visible of LOOK_ALIKES) expect(body).toContain(visible);
      expect(body).toContain('ada');
    }
    const approval = JSON.parse(one) as { args: typeof ARGS; masked: string[] };
    expect(approval.masked).toEqual(MASKED);
    expect(approval.args.password).toMatch(MASK);
    expect(approval.args.headers[1]?.value).toBe('application/json');
    // A credential inside a string is masked in place; the rest of the command stays readable.
    expect(approval.args.command).toMatch(
      /^curl -H "Authorization: Bearer \[redacted\] hmac-sha256:[0-9a-f]{64}" https:\/\/api\.example\.com\/v1\/refunds$/,
    );
    // One Reveal form per masked value on the Pending page.
    for (const path of MASKED) expect(page).toContain(`name="path" value="${path}"`);
    // The queue keeps the real arguments: approving forwards what the agent sent.
    expect(JSON.parse(h.store.get(id)?.argsCanonical ?? '{}').password).toBe(SECRET);
  });

  it('masks equal secrets equally, with the audit log HMAC', async () => {
    const id = await park(h, { args: { password: SECRET, nested: { api_key: SECRET } } });
    const approval = (await (await h.request(`/api/approvals/${id}`, bearer())).json()) as {
      args: { password: string; nested: { api_key: string } };
    };
    expect(approval.args.nested.api_key).toBe(approval.args.password);
    // The same HMAC as the audit log's record of the call.
    expect(approval.args.password).toBe((log.redact({ password: SECRET }) as { password: string }).password);
  });

  it('masks secrets even when no redactor is given (fail closed)', async () => {
    const bare = harness({});
    try {
      await park(bare, { tool: 'accounts.create', args: { username: 'ada', password: SECRET } });
      const api = await (await bare.request('/api/approvals?status=pending', bearer())).text();
      expect(api).toContain('ada');
      expect(api).not.toContain(SECRET);
      expect(api).toMatch(/"password":"\[redacted\] hmac-sha256:[0-9a-f]{64}"/);
    } finally {
      bare.close();
    }
  });
});

describe('revealing a masked value', () => {
  it('shows the real value to the admin API and records who, which approval and which path, never the value', async () => {
    const id = await park(h, { tool: 'accounts.create', args: ARGS, correlationId: 'corr-reveal' });
    const res = await reveal(id, { path: '/password' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id, path: '/password', value: SECRET });
    const whole = await (await reveal(id, { path: '/command' })).json();
    expect(whole).toEqual({ id, path: '/command', value: ARGS.command });

    const records = (await queryAudit(join(dataDir, 'audit'), { event: 'approval', limit: 10 })).records;
    expect(records.map((r) => [r.action, r.path, r.by, r.approval_id, r.correlation_id, r.tool])).toEqual([
      ['revealed', '/command', 'admin (API token)', id, 'corr-reveal', 'accounts.create'],
      ['revealed', '/password', 'admin (API token)', id, 'corr-reveal', 'accounts.create'],
    ]);
    const text = await auditText();
    for (const secret of [SECRET, COMMAND_SECRET]) expect(text).not.toContain(secret);
    expect(h.logs.join('\n')).toContain(`approval ${id}: admin (API token) revealed /password`);
    expect(h.logs.join('\n')).not.toContain(SECRET);
  });

  it('refuses what is not a masked value of a pending approval, and records nothing', async () => {
    const id = await park(h, { args: ARGS });
    const cases: Array<[unknown, number]> = [
      [{ path: '/passenger' }, 400],
      [{ path: '/nope' }, 400],
      [{ path: 'password' }, 400],
      [{ path: '' }, 400],
      [{ path: 7 }, 400],
      [{}, 400],
    ];
    for (const [body, status] of cases) {
      const res = await reveal(id, body);
      expect([body, res.status]).toEqual([body, status]);
      expect(await res.text()).not.toContain(SECRET);
    }
    expect((await reveal('ap_0000000000000000', { path: '/password' })).status).toBe(404);
    h.queue.decide(id, { decision: 'deny', by: 'alice' });
    const decided = await reveal(id, { path: '/password' });
    expect(decided.status).toBe(409);
    expect(await decided.text()).not.toContain(SECRET);
    expect((await h.request(`/api/approvals/${id}/reveal`, bearer())).status).toBe(405);
    expect(
      (await h.request(`/api/approvals/${id}/reveal`, { method: 'POST', body: '{"path":"/password"}' }))
        .status,
    ).toBe(401);
    expect((await queryAudit(join(dataDir, 'audit'), { event: 'approval' })).records).toEqual([]);
  });

  it('shows nothing when the reveal cannot be recorded (no audit log, or one that fails)', async () => {
    const unrecorded = harness({ redactArgs: (args) => log.review(args) });
    try {
      const id = await park(unrecorded, { args: ARGS });
      const res = await unrecorded.request(
        `/api/approvals/${id}/reveal`,
        bearer({ method: 'POST', body: '{"path":"/password"}' }),
      );
      expect(res.status).toBe(503);
      expect(await res.text()).not.toContain(SECRET);
    } finally {
      unrecorded.close();
    }
    const id = await park(h, { args: ARGS });
    await log.close();
    const res = await reveal(id, { path: '/password' });
    expect(res.status).toBe(503);
    expect(await res.text()).not.toContain(SECRET);
    log = await AuditLog.open({ dataDir });
  });

  it('needs the CSRF token from a browser session; answers JSON to the page script and a page without it', async () => {
    const id = await park(h, { tool: 'accounts.create', args: ARGS });
    const { cookie, csrf } = await signIn(h, 'carol');
    const without = await h.request(`/approvals/${id}/reveal`, {
      ...form({ path: '/password' }),
      headers: { ...form({}).headers, cookie },
    });
    expect(without.status).toBe(403);
    expect(await without.text()).not.toContain(SECRET);

    const script = await h.request(`/approvals/${id}/reveal`, {
      ...form({ path: '/headers/0/value', _csrf: csrf }),
      headers: { ...form({}).headers, cookie, accept: 'application/json' },
    });
    expect(await script.json()).toEqual({ id, path: '/headers/0/value', value: `Bearer ${HEADER_SECRET}` });

    const page = await h.request(`/approvals/${id}/reveal`, {
      ...form({ path: '/password', _csrf: csrf }),
      headers: { ...form({}).headers, cookie, accept: 'text/html' },
    });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(SECRET);
    expect(html).toContain('recorded in the audit log');
    expect((await h.request(`/approvals/${id}/reveal`, { headers: { cookie } })).status).toBe(405);

    const records = (await queryAudit(join(dataDir, 'audit'), { event: 'approval' })).records;
    expect(records.map((r) => [r.path, r.by])).toEqual([
      ['/password', 'carol (browser)'],
      ['/headers/0/value', 'carol (browser)'],
    ]);
    expect(await auditText()).not.toContain(HEADER_SECRET);
  });
});
