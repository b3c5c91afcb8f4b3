// `audit verify`, `audit tail` (including --follow across rotation) and the query reader.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { queryAudit } from '../../src/audit/query.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { auditTail, auditVerify } from '../../src/commands/audit.js';
import { UsageError } from '../../src/commands/io.js';
import { builtFile } from '../helpers/built.js';
import { REPO } from '../helpers/peers.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';
import { decisionEvent, locate, tempDataDir, writeLines } from './helpers.js';

const run = promisify(execFile);

let dataDir: string;
let auditDir: string;
let cleanup: () => Promise<void>;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text) } };
}

async function writeRecords(count: number, options: { maxFileBytes?: number } = {}): Promise<void> {
  const log = await AuditLog.open({ dataDir, ...options });
  for (let i = 1; i <= count; i++) await log.append(decisionEvent(i));
  await log.close();
}

beforeEach(async () => {
  ({ dataDir, auditDir, cleanup } = await tempDataDir());
});
afterEach(() => cleanup());

describe('auditVerify', () => {
  it('prints a one-line summary and exits 0 for an intact log', async () => {
    await writeRecords(40, { maxFileBytes: 8_000 });
    const { out, err, io } = capture();
    expect(await auditVerify({ dataDir }, io)).toBe(0);
    expect(err).toEqual([]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^audit log intact: 40 records in [3-9] file\(s\)/);
  });

  it('exits 1 with one line naming the broken seq', async () => {
    await writeRecords(20);
    const { file, lines, index } = await locate(auditDir, 12);
    lines[index] = (lines[index] as string).replace('corr-12', 'corr-99');
    await writeLines(file, lines);
    const { out, err, io } = capture();
    expect(await auditVerify({ dataDir, path: file }, io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain('at seq 12');
    expect(err[0]).toContain('does not match its hash');
  });

  it('is a usage error when there is no log', async () => {
    await expect(auditVerify({ dataDir }, capture().io)).rejects.toBeInstanceOf(UsageError);
  });
});

describe('auditVerify given a path', () => {
  it('accepts the data dir (the audit/ folder inside is meant), intact and broken alike', async () => {
    await writeRecords(12);
    const { out, err, io } = capture();
    expect(await auditVerify({ dataDir: '/nonexistent', path: dataDir }, io)).toBe(0);
    expect(err).toEqual([]);
    expect(out[0]).toMatch(/^audit log intact: 12 records in 1 file\(s\), 1 chain\(s\)/);

    const { file, lines, index } = await locate(auditDir, 7);
    lines[index] = (lines[index] as string).replace('corr-7', 'corr-8');
    await writeLines(file, lines);
    const broken = capture();
    expect(await auditVerify({ dataDir: '/nonexistent', path: dataDir }, broken.io)).toBe(1);
    expect(broken.err[0]).toContain('at seq 7');
  });

  it('is a usage error, never tampering, for a directory holding no audit log', async () => {
    const stranger = tempDir('portcullis-not-a-log-').dir;
    try {
      await writeFile(join(stranger, 'notes.txt'), 'hello\n');
      // An audit/ folder alone does not make a data directory (no lease table, no HMAC key).
      await mkdir(join(stranger, 'audit'));
      for (const path of [stranger, join(stranger, 'audit')]) {
        const { out, err, io } = capture();
        const verdict = auditVerify({ dataDir, path }, io);
        await expect(verdict).rejects.toBeInstanceOf(UsageError);
        await expect(verdict).rejects.toThrow(/holds no audit log/);
        expect([out, err]).toEqual([[], []]);
      }
    } finally {
      await rm(stranger, { recursive: true, force: true });
    }
  });

  it('is a usage error for a file that is not an audit log; a renamed log file still verifies', async () => {
    await writeRecords(5);
    for (const path of [join(dataDir, 'audit-hmac.key'), join(auditDir, 'checkpoints.jsonl')]) {
      await expect(auditVerify({ dataDir, path }, capture().io)).rejects.toThrow(/is not an audit log/);
    }
    const copy = join(dataDir, 'backup.jsonl');
    await copyFile(join(auditDir, 'audit-000001.jsonl'), copy);
    const { out, io } = capture();
    expect(await auditVerify({ dataDir, path: copy }, io)).toBe(0);
    expect(out[0]).toMatch(/^audit log intact: 5 records/);
  });

  it('still reports the files of a real audit directory deleted (evidence, not a wrong path)', async () => {
    await writeRecords(5);
    for (const name of await readdir(auditDir)) await rm(join(auditDir, name), { recursive: true });
    for (const path of [auditDir, dataDir]) {
      const { err, io } = capture();
      expect(await auditVerify({ dataDir, path }, io)).toBe(1);
      expect(err[0]).toMatch(/missing|no log file/i);
    }
  });

  it('exits 2 from the real CLI for a wrong path and 0 for the data dir', async () => {
    await writeRecords(3);
    const cli = (path: string) =>
      run(process.execPath, [builtFile('src/cli.ts'), 'audit', 'verify', path], { cwd: REPO }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const empty = tempDir('portcullis-empty-').dir;
    const [good, wrong] = await Promise.all([cli(dataDir), cli(empty)]).finally(() =>
      rm(empty, { recursive: true }),
    );
    expect(good).toMatchObject({ code: 0, stdout: expect.stringMatching(/^audit log intact: 3 records/) });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^portcullis: .* holds no audit log/),
    ]);
  });
});

describe('audit verify on a log long enough for worker threads', () => {
  it('the real CLI finds an edited record in a 10 MB log and passes the untouched one', async () => {
    // ~4 KB a record: 2,500 records are over two 4 MiB chunks, so the CLI checks them on its threads.
    const log = await AuditLog.open({ dataDir });
    for (let i = 1; i <= 2500; i++) {
      await log.append(decisionEvent(i, { reason: `${'padding '.repeat(500)}${i}` }));
    }
    await log.close();
    const cli = () =>
      run(process.execPath, [builtFile('src/cli.ts'), 'audit', 'verify', dataDir], { cwd: REPO }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    expect(await cli()).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^audit log intact: 2500 records/),
    });
    const { file, lines, index } = await locate(auditDir, 2011);
    lines[index] = (lines[index] as string).replace('"decision":"allow"', '"decision":"deny"');
    await writeLines(file, lines);
    const broken = await cli();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^audit log broken at seq 2011: record content does not match its hash/);
  });
});

describe('auditTail', () => {
  it('prints the last n records oldest first, one readable line each', async () => {
    await writeRecords(10, { maxFileBytes: 3_000 });
    const { out, io } = capture();
    expect(await auditTail({ dataDir, n: 4, follow: false }, io)).toBe(0);
    expect(out).toHaveLength(4);
    expect(out.map((line) => /#(\d+)/.exec(line)?.[1])).toEqual(['7', '8', '9', '10']);
    expect(out[3]).toContain(
      'decision  agent=support-bot  payments/refunds.refund  allow  rule=small-refunds',
    );
    expect(out[3]).toContain('"Auto-approved refunds under $150"');
  });

  it('prints more records than one query page holds (it pages through the merge)', async () => {
    await writeRecords(1_205, { maxFileBytes: 200_000 });
    const { out, io } = capture();
    expect(await auditTail({ dataDir, n: 1_100, follow: false }, io)).toBe(0);
    expect(out.map((line) => Number(/#(\d+)/.exec(line)?.[1]))).toEqual(
      Array.from({ length: 1_100 }, (_, i) => i + 106),
    );
  });

  it('follows new records across rotation until aborted', async () => {
    await writeRecords(3, { maxFileBytes: 3_000 });
    const { out, io } = capture();
    const controller = new AbortController();
    const tail = auditTail({ dataDir, n: 1, follow: true, signal: controller.signal }, io);
    await waitFor(() => out.length === 1, 'the initial record');
    const log = await AuditLog.open({ dataDir, maxFileBytes: 3_000 });
    for (let i = 4; i <= 20; i++) await log.append(decisionEvent(i));
    await log.close();
    await waitFor(() => out.some((line) => line.includes('#20 ')), 'record 20');
    controller.abort();
    expect(await tail).toBe(0);
    expect(out.map((line) => Number(/#(\d+)/.exec(line)?.[1]))).toEqual(
      Array.from({ length: 18 }, (_, i) => i + 3),
    );
  });
});

describe('queryAudit', () => {
  beforeEach(() => writeRecords(60, { maxFileBytes: 6_000 }));

  it('returns the newest records first, filtered', async () => {
    const page = await queryAudit(auditDir, { decision: 'deny', agent: 'support-bot', limit: 3 });
    expect(page.records.map((record) => record.seq)).toEqual([60, 54, 48]);
    expect(page.nextCursor).toEqual(expect.any(String));
    const before = page.nextCursor as string;
    const next = await queryAudit(auditDir, { decision: 'deny', agent: 'support-bot', limit: 3, before });
    expect(next.records.map((record) => record.seq)).toEqual([42, 36, 30]);
  });

  it('pages to the end and says when there is no more', async () => {
    const seen: number[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await queryAudit(auditDir, { limit: 7, before });
      seen.push(...page.records.map((record) => record.seq));
      if (page.nextCursor === null) break;
      before = page.nextCursor;
    }
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => 60 - i));
  });

  it('filters by tool, correlation id, free text and time', async () => {
    expect((await queryAudit(auditDir, { correlation_id: 'corr-17' })).records.map((r) => r.seq)).toEqual([
      17,
    ]);
    expect((await queryAudit(auditDir, { q: 'ORD_23"' })).records.map((r) => r.seq)).toEqual([23]);
    const exports = await queryAudit(auditDir, { tool: 'users.export', limit: 100 });
    expect(exports.records).toHaveLength(20);
    const all = (await queryAudit(auditDir, { limit: 100 })).records;
    const cut = (all[9] as { ts: string }).ts;
    const later = await queryAudit(auditDir, { from: cut, limit: 100 });
    expect(later.records.every((record) => record.ts >= cut)).toBe(true);
    expect((await queryAudit(auditDir, { to: new Date(0) })).records).toEqual([]);
  });

  it('free text does not match inside the chain fields prev and hash', async () => {
    const [newest, older] = (await queryAudit(auditDir, { limit: 2 })).records as [AuditRecord, AuditRecord];
    expect(newest.prev).toBe(older.hash);
    expect((await queryAudit(auditDir, { q: older.hash.slice(8, 40) })).records).toEqual([]);
    // Everything else stays searchable, the masked secrets' HMACs included.
    expect((await queryAudit(auditDir, { q: older.ts })).records.map((r) => r.seq)).toContain(older.seq);
  });

  it('skips lines that are not records', async () => {
    await writeFile(`${auditDir}/audit-000099.jsonl`, 'garbage\n');
    expect((await queryAudit(auditDir, { limit: 1 })).records[0]?.seq).toBe(60);
  });
});
