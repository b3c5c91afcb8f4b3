// The writer: redaction, restart, concurrency, write failures and recovery, damaged tails.
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { REDACTED_PREFIX } from '../../src/audit/redact.js';
import { type AuditRecord, AuditWriteError } from '../../src/audit/types.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { decisionEvent, locate, logLines, spawnWriter, tempDataDir, writeLines } from './helpers.js';

let dataDir: string;
let auditDir: string;
let cleanup: () => Promise<void>;
const open: AuditLog[] = [];

async function openLog(options: Partial<Parameters<typeof AuditLog.open>[0]> = {}): Promise<AuditLog> {
  const log = await AuditLog.open({ dataDir, ...options });
  open.push(log);
  return log;
}

async function allBytes(): Promise<string> {
  let text = '';
  for (const name of await readdir(auditDir)) text += await readFile(join(auditDir, name), 'utf8');
  return text;
}

beforeEach(async () => {
  ({ dataDir, auditDir, cleanup } = await tempDataDir());
});
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
  await cleanup();
});

describe('records', () => {
  it('adds seq, ts, prev and hash, and keeps the fields it was given', async () => {
    const log = await openLog();
    const first = await log.append(decisionEvent(1));
    const second = await log.append({
      event: 'approval',
      action: 'approved',
      approval_id: 'ap-1',
      by: 'alice',
    });
    expect(first).toMatchObject({ seq: 1, prev: '0'.repeat(64), event: 'decision', rule: 'small-refunds' });
    expect(second).toMatchObject({ seq: 2, prev: first.hash, agent: null, by: 'alice' });
    expect(Date.parse(second.ts)).not.toBeNaN();
    const lines = (await logLines(auditDir))[0]?.lines ?? [];
    expect(lines.map((line) => JSON.parse(line) as AuditRecord)).toEqual([first, second]);
  });

  it('rejects events that are not JSON or of an unknown kind, and keeps going', async () => {
    const log = await openLog();
    await expect(log.append({ event: 'decision', args: { n: 10n } })).rejects.toMatchObject({
      code: 'E_AUDIT_WRITE',
      failure: 'invalid_event',
    });
    // biome-ignore lint/suspicious/noExplicitAny: a caller that ignores the types
    await expect(log.append({ event: 'chain_break' as any })).rejects.toBeInstanceOf(AuditWriteError);
    expect((await log.append(decisionEvent(1))).seq).toBe(1);
    expect(log.status().ok).toBe(true);
  });
});

describe('redaction', () => {
  const secrets = {
    password: 'hunter2-very-secret',
    profile: { nested: [{ api_key: 'sk_live_abcdef123' }, { Authorization: 'Bearer tok.en.value' }] },
    customer_ssn: '123-45-6789',
    note: 'nothing secret here',
  };

  it('never writes secrets, at any depth or in extra patterns, and masks equal values equally', async () => {
    const log = await openLog({ redact: ['ssn$'] });
    const args = structuredClone(secrets);
    const first = await log.append(decisionEvent(1, { args }));
    const second = await log.append(decisionEvent(2, { args: { password: 'hunter2-very-secret' } }));
    expect(args).toEqual(secrets);
    const bytes = await allBytes();
    for (const secret of ['hunter2-very-secret', 'sk_live_abcdef123', 'tok.en.value', '123-45-6789']) {
      expect(bytes).not.toContain(secret);
    }
    expect(bytes).toContain('nothing secret here');
    const masked = (first.args as { password: string }).password;
    expect(masked).toMatch(/^\[redacted\] hmac-sha256:[0-9a-f]{64}$/);
    expect(masked.startsWith(REDACTED_PREFIX)).toBe(true);
    expect((second.args as { password: string }).password).toBe(masked);
    const nested = (first.args as typeof secrets).profile.nested;
    expect(nested[0]?.api_key).toMatch(/^\[redacted\] /);
    expect(nested[1]?.Authorization).toMatch(/^\[redacted\] /);
    expect((first.args as typeof secrets).customer_ssn).toMatch(/^\[redacted\] /);
  });

  it('masks a whole object or array under a secret key, and tells 12 from "12"', async () => {
    const log = await openLog();
    const record = await log.append(
      decisionEvent(1, {
        args: {
          credentials: { user: 'alice', pass: 'open-sesame' },
          tokens: ['tok-one', 'tok-two'],
          calls: [{ headers: [{ cookie: 'sid=abc123' }] }],
          box: { secret: 12 },
          other: { secret: '12' },
        },
      }),
    );
    const args = record.args as Record<string, unknown>;
    expect(args.credentials).toMatch(/^\[redacted\] hmac-sha256:[0-9a-f]{64}$/);
    expect(args.tokens).toMatch(/^\[redacted\] /);
    expect(args.calls).toEqual([{ headers: [{ cookie: expect.stringMatching(/^\[redacted\] /) }] }]);
    const box = (args.box as { secret: string }).secret;
    expect(box).toMatch(/^\[redacted\] /);
    expect((args.other as { secret: string }).secret).not.toBe(box);
    const bytes = await allBytes();
    for (const secret of ['alice', 'open-sesame', 'tok-one', 'abc123']) expect(bytes).not.toContain(secret);
  });

  it('keeps an argument named __proto__ as data, and redacts inside it', async () => {
    const log = await openLog();
    const args = JSON.parse('{"__proto__":{"cmd":"rm -rf /","password":"p4ss-w0rd"},"a":1}') as unknown;
    const record = await log.append(decisionEvent(1, { args }));
    const line = (await logLines(auditDir))[0]?.lines[0] as string;
    expect(line).toContain('"__proto__":{"cmd":"rm -rf /","password":"[redacted] hmac-sha256:');
    expect(line).not.toContain('p4ss-w0rd');
    expect(Object.keys(record.args as object)).toEqual(['__proto__', 'a']);
  });

  it('keeps the HMAC stable across a reopen, with the key file private', async () => {
    const before = await (await openLog()).append(decisionEvent(1, { args: { token: 'same-token' } }));
    await open.pop()?.close();
    const after = await (await openLog()).append(decisionEvent(2, { args: { token: 'same-token' } }));
    const other = await (open.at(-1) as AuditLog).append(
      decisionEvent(3, { args: { token: 'other-token' } }),
    );
    expect((after.args as { token: string }).token).toBe((before.args as { token: string }).token);
    expect((other.args as { token: string }).token).not.toBe((before.args as { token: string }).token);
    expect((await stat(join(dataDir, 'audit-hmac.key'))).mode & 0o777).toBe(0o600);
  });
});

describe('restart', () => {
  it('continues seq and chain, and the whole verifies', async () => {
    const first = await openLog({ maxFileBytes: 5_000 });
    for (let i = 1; i <= 30; i++) await first.append(decisionEvent(i));
    await first.close();
    const second = await openLog({ maxFileBytes: 5_000 });
    const next = await second.append(decisionEvent(31));
    expect(next.seq).toBe(31);
    for (let i = 32; i <= 60; i++) await second.append(decisionEvent(i));
    await second.close();
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 60, recoveries: 0 });
  });

  it('continues after a crash without close (no final checkpoint)', async () => {
    // A real crash: a log left open in this process would still be a live writer (and hold its slot).
    const crashed = spawnWriter(dataDir);
    await crashed.next('open');
    crashed.send({ type: 'append', count: 10, tag: 'crashed' });
    await crashed.next('appended');
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    const again = await openLog();
    expect((await again.append(decisionEvent(11))).seq).toBe(11);
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 11 });
  });

  it('moves a torn last line into a chain_break record and keeps the chain valid', async () => {
    const log = await openLog();
    for (let i = 1; i <= 10; i++) await log.append(decisionEvent(i));
    await log.close();
    const file = join(auditDir, 'audit-000001.jsonl');
    await appendFile(file, '{"agent":"support-bot","args":{"amo');
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: false, seq: 11, problem: 'invalid_json' });
    const reopened = await openLog();
    const next = await reopened.append(decisionEvent(11));
    expect(next.seq).toBe(12);
    const lines = (await logLines(auditDir))[0]?.lines ?? [];
    const recovery = JSON.parse(lines[10] as string) as Record<string, unknown>;
    expect(recovery).toMatchObject({
      event: 'chain_break',
      problem: 'torn_tail',
      seq: 11,
      last_good_seq: 10,
    });
    expect(Buffer.from(recovery.discarded_base64 as string, 'base64').toString()).toBe(
      '{"agent":"support-bot","args":{"amo',
    );
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 12, recoveries: 1 });
  });

  it('starts a new file with a chain_break over a damaged tail, leaving the evidence', async () => {
    const log = await openLog();
    for (let i = 1; i <= 10; i++) await log.append(decisionEvent(i));
    await log.close();
    const { file, lines, index } = await locate(auditDir, 10);
    lines[index] = (lines[index] as string).replace('"decision":"allow"', '"decision":"deny"');
    await writeLines(file, lines);
    const reopened = await openLog();
    await reopened.append(decisionEvent(11));
    const files = await logLines(auditDir);
    expect(files).toHaveLength(2);
    expect(files[0]?.lines[9]).toBe(lines[index]);
    const first = JSON.parse(files[1]?.lines[0] as string) as Record<string, unknown>;
    // seq 10 stays taken: the checkpoint written at close names it.
    expect(first).toMatchObject({ event: 'chain_break', problem: 'damaged_tail', last_good_seq: 9, seq: 11 });
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: false, seq: 10, problem: 'edited' });
  });

  it('refuses to carry on silently over a tail cut before the last checkpoint', async () => {
    const log = await openLog({ checkpointEvery: 10 });
    for (let i = 1; i <= 30; i++) await log.append(decisionEvent(i));
    await log.close();
    const { file, lines, index } = await locate(auditDir, 26);
    await writeLines(file, lines.slice(0, index));
    const reopened = await openLog();
    const next = await reopened.append(decisionEvent(31));
    expect(next.seq).toBe(32);
    const failure = await verifyAudit(auditDir);
    expect(failure).toMatchObject({ ok: false, seq: 26, problem: 'chain_break' });
  });
});

describe('checkpoints on reopen', () => {
  it('removes a torn last checkpoint line and goes on from the last whole one', async () => {
    const log = await openLog({ checkpointEvery: 10 });
    for (let i = 1; i <= 30; i++) await log.append(decisionEvent(i));
    await log.close();
    const path = join(auditDir, 'checkpoints.jsonl');
    const whole = await readFile(path, 'utf8');
    await appendFile(path, '{"seq":45,"hash":"00');
    expect((await (await openLog()).append(decisionEvent(31))).seq).toBe(31);
    expect(await readFile(path, 'utf8')).toBe(whole);
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 31 });
  });

  it('records a break when the last checkpoint names another hash for the newest record', async () => {
    const log = await openLog();
    for (let i = 1; i <= 10; i++) await log.append(decisionEvent(i));
    await log.close();
    const path = join(auditDir, 'checkpoints.jsonl');
    const checkpoint = JSON.parse(await readFile(path, 'utf8')) as { seq: number; hash: string };
    expect(checkpoint.seq).toBe(10);
    await writeFile(path, `${JSON.stringify({ ...checkpoint, hash: 'f'.repeat(64) })}\n`);
    await (await openLog()).append(decisionEvent(11));
    const files = await logLines(auditDir);
    expect(files).toHaveLength(2);
    const first = JSON.parse(files[1]?.lines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({ event: 'chain_break', problem: 'diverged', seq: 11, expected_seq: 10 });
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: false, seq: 10, problem: 'checkpoint_mismatch' });
  });
});

describe('concurrency', () => {
  it('serializes concurrent appends into a gap-free seq and a valid chain, across rotation', async () => {
    const log = await openLog({ maxFileBytes: 20_000, checkpointEvery: 100 });
    const records = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(decisionEvent(i))));
    const seqs = records.map((record) => record.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    await log.close();
    expect((await logLines(auditDir)).length).toBeGreaterThan(3);
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 500 });
  });
});

describe('write failures', () => {
  it('rejects and reports when the audit directory is replaced by a file, then recovers', async () => {
    const log = await openLog();
    await log.append(decisionEvent(1));
    await rm(auditDir, { recursive: true });
    await writeFile(auditDir, 'not a directory');
    await expect(log.append(decisionEvent(2))).rejects.toBeInstanceOf(AuditWriteError);
    await expect(log.append(decisionEvent(3))).rejects.toMatchObject({
      code: 'E_AUDIT_WRITE',
      failure: 'io',
    });
    const status = log.status();
    expect(status.ok).toBe(false);
    expect(status.ok === false && status.error).toContain(auditDir);

    await rm(auditDir);
    await mkdir(auditDir);
    const next = await log.append(decisionEvent(4));
    expect(log.status().ok).toBe(true);
    // The history is gone: the new file opens with a chain_break saying so, and verify fails.
    expect(next.seq).toBe(3);
    const first = JSON.parse((await logLines(auditDir))[0]?.lines[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({ event: 'chain_break', problem: 'files_missing', seq: 2, expected_seq: 1 });
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: false, problem: 'missing_file' });
  });

  it('rejects when the current file is replaced by a directory, and continues the chain once it is back', async () => {
    const log = await openLog();
    await log.append(decisionEvent(1));
    const file = join(auditDir, 'audit-000001.jsonl');
    await rename(file, `${file}.moved`);
    await mkdir(file);
    await expect(log.append(decisionEvent(2))).rejects.toBeInstanceOf(AuditWriteError);
    expect(log.status()).toMatchObject({ ok: false });

    await rm(file, { recursive: true });
    await rename(`${file}.moved`, file);
    expect((await log.append(decisionEvent(3))).seq).toBe(2);
    expect(log.status()).toMatchObject({ ok: true, seq: 2 });
    await log.close();
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 2 });
  });

  it('refuses to open where no directory can be made', async () => {
    await expect(AuditLog.open({ dataDir: '/proc/portcullis-audit-test' })).rejects.toBeInstanceOf(
      AuditWriteError,
    );
  });

  it('writes the appends still queued when close() is called, then rejects new ones', async () => {
    const log = await openLog();
    const queued = Array.from({ length: 5 }, (_, i) => log.append(decisionEvent(i + 1)));
    const closing = log.close();
    await expect(log.append(decisionEvent(6))).rejects.toMatchObject({ failure: 'closed' });
    await closing;
    expect((await Promise.all(queued)).map((record) => record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 5, checkpoints: 1 });
  });

  it('rejects appends after close', async () => {
    const log = await openLog();
    await log.close();
    await expect(log.append(decisionEvent(1))).rejects.toMatchObject({ failure: 'closed' });
  });
});
