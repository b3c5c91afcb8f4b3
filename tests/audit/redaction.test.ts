// What the audit file keeps of secrets (nothing readable, HMACs that correlate) and that every line is strict JSON.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import type { AuditEvent } from '../../src/audit/types.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { auditBytes, decisionEvent, strictJsonLines, tempDataDir } from './helpers.js';

let dataDir: string;
let auditDir: string;
let cleanup: () => Promise<void>;
let log: AuditLog;

beforeEach(async () => {
  ({ dataDir, auditDir, cleanup } = await tempDataDir());
  log = await AuditLog.open({ dataDir });
});
afterEach(async () => {
  await log.close();
  await cleanup();
});

const MASK = /\[redacted\] hmac-sha256:[0-9a-f]{64}/;
const github = `ghp_${'Tz8k'.repeat(9)}`;

/** Each class the old redaction let through, with the secret that must not reach the file. */
const CLASSES: Array<[what: string, args: Record<string, unknown>, secret: string]> = [
  [
    'a {name, value} header pair',
    { headers: [{ name: 'Authorization', value: 'Bearer pair-secret-1' }] },
    'pair-secret-1',
  ],
  ['an entry pair', { headers: [['X-Api-Key', 'entry-secret-2']] }, 'entry-secret-2'],
  ['key bearer', { bearer: 'bearer-secret-3' }, 'bearer-secret-3'],
  ['key jwt', { jwt: 'jwt-secret-4' }, 'jwt-secret-4'],
  ['key pin', { pin: 'pin-5555' }, 'pin-5555'],
  ['key passcode', { passcode: 'passcode-6' }, 'passcode-6'],
  ['key x-auth', { 'x-auth': 'xauth-secret-7' }, 'xauth-secret-7'],
  ['key auth_header', { auth_header: 'authheader-secret-8' }, 'authheader-secret-8'],
  ['key "api key" with a space', { 'api key': 'spaced-secret-9' }, 'spaced-secret-9'],
  ['key with a Cyrillic а', { 'p\u0430ssword': 'homoglyph-secret-10' }, 'homoglyph-secret-10'],
  ['key with a zero-width space', { 'pass\u200bword': 'zw-secret-11' }, 'zw-secret-11'],
  [
    'key in fullwidth letters',
    { '\uFF54\uFF4F\uFF4B\uFF45\uFF4E': 'fullwidth-secret-12' },
    'fullwidth-secret-12',
  ],
  ['user:pw@host in a URL', { url: 'https://alice:url-secret-13@example.com/x' }, 'url-secret-13'],
  [
    '?access_token= in a URL',
    { url: 'https://api.example.com/me?access_token=query-secret-14&a=1' },
    'query-secret-14',
  ],
  [
    '-H "Authorization: Bearer" in a command',
    { cmd: 'curl -H "Authorization: Bearer cmd-secret-15" https://x.example' },
    'cmd-secret-15',
  ],
  ['a GitHub token in free text', { note: `use ${github} for the push` }, github],
];

describe('secrets never reach the audit file', () => {
  it.each(CLASSES)('%s', async (_what, args, secret) => {
    const record = await log.append(decisionEvent(1, { args }));
    const bytes = (await auditBytes(auditDir)).toString('utf8');
    expect(bytes).not.toContain(secret);
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(JSON.stringify(record.args)).toMatch(MASK);
  });

  it('masks in place: the rest of the string stays readable, and equal secrets give equal HMACs', async () => {
    const command =
      'curl -H "Authorization: Bearer same-secret-99" -H "Accept: application/json" https://api.example.com/v1';
    const record = await log.append(
      decisionEvent(1, { args: { command, token: 'same-secret-99', memo: 'refund order 5521' } }),
    );
    const args = record.args as { command: string; token: string; memo: string };
    const match =
      /^curl -H "Authorization: Bearer (\[redacted\] hmac-sha256:[0-9a-f]{64})" -H "Accept: application\/json" https:\/\/api\.example\.com\/v1$/.exec(
        args.command,
      );
    expect(match?.[1]).toBe(args.token);
    expect(args.memo).toBe('refund order 5521');
    // The top-level reason and notes are scanned too (a reviewer's note can quote a credential).
    const note = await log.append({
      event: 'approval',
      action: 'approved',
      approval_id: 'ap_1',
      by: 'ada',
      note: `ok, ${github} rotated`,
    });
    expect(note.note).toMatch(/^ok, \[redacted\] hmac-sha256:[0-9a-f]{64} rotated$/);
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 2 });
  });

  it('keeps look-alike keys masked in the audit log (stricter than the reviewer view)', async () => {
    const record = await log.append(
      decisionEvent(1, { args: { max_tokens: 512, token_address: '0xabc', passenger: 'Ada' } }),
    );
    const args = record.args as Record<string, unknown>;
    expect(args.max_tokens).toMatch(MASK);
    expect(args.token_address).toMatch(MASK);
    expect(args.passenger).toBe('Ada');
  });
});

describe('every line is strict JSON, whatever the caller hands in', () => {
  const lone = ['\uD800', '\uDBFF', '\uDC00', 'a\uDFFFb', 'x\uD83D'];

  it('replaces lone surrogates in any field, key and event kind by U+FFFD and names what it replaced', async () => {
    const events: AuditEvent[] = [
      decisionEvent(1, { args: { note: `bad ${lone[0]}`, [`k${lone[1]}`]: 1, list: [lone[2]] } }),
      decisionEvent(2, { tool: `tool${lone[3]}`, agent: `agent${lone[4]}`, reason: `why ${lone[0]}` }),
      { event: 'approval', action: 'denied', approval_id: 'ap_2', by: `rev${lone[2]}`, note: lone[1] },
      { event: 'execution', outcome: 'protocol_error', latency_ms: 1, error: `upstream said ${lone[3]}` },
      { event: 'policy_reload', outcome: 'refused', old_sha256: null, errors: [`line 1 ${lone[0]}`] },
      {
        event: 'upstream',
        action: 'exited',
        server: `srv${lone[4]}`,
        [`extra${lone[0]}`]: { [`n${lone[2]}`]: true },
      },
    ];
    for (const event of events) await log.append(event);
    await log.append(decisionEvent(3, { args: { ok: 'pairs survive: \uD83D\uDE00' } }));
    await log.close();

    const records = strictJsonLines(await auditBytes(auditDir)) as Array<
      Record<string, unknown> & { args?: unknown }
    >;
    expect(records).toHaveLength(7);
    const first = records[0] as Record<string, unknown>;
    const last = records[6] as Record<string, unknown>;
    expect(records[0]?.lone_surrogates_replaced).toEqual(['/args/note', '/args/k\uFFFD', '/args/list/0']);
    expect((first.args as { note: string }).note).toBe('bad \uFFFD');
    expect(records[1]).toMatchObject({ tool: 'toola\uFFFDb', agent: 'agentx\uFFFD', reason: 'why \uFFFD' });
    expect(records[1]?.lone_surrogates_replaced).toEqual(
      expect.arrayContaining(['/tool', '/agent', '/reason']),
    );
    expect(records[5]).toMatchObject({ 'extra\uFFFD': { 'n\uFFFD': true } });
    expect(records[6]?.lone_surrogates_replaced).toBeUndefined();
    expect((last.args as { ok: string }).ok).toBe('pairs survive: \uD83D\uDE00');
    // The chain covers what was written, so it verifies.
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 7 });
  });

  it('drops a caller-supplied replacement field: only the log says what it replaced', async () => {
    const record = await log.append(decisionEvent(1, { lone_surrogates_replaced: ['/made/up'] }));
    expect(record.lone_surrogates_replaced).toBeUndefined();
  });
});
