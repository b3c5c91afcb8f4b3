// Verification of untouched and tampered logs: each kind of tampering is caught at the right seq,
// checked in this thread and on worker threads (the transpiled copy, which has the worker file).
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash, formatLine } from '../../src/audit/chain.js';
import { AuditLog } from '../../src/audit/log.js';
import type { VerifyFailure, VerifyResult } from '../../src/audit/verify.js';
import * as source from '../../src/audit/verify.js';
import { builtFile } from '../helpers/built.js';
import { decisionEvent, locate, logLines, tempDataDir, writeLines } from './helpers.js';

const built = (await import(pathToFileURL(builtFile('src/audit/verify.ts')).href)) as typeof source;
// Chunks of 1 KiB: the 120 records are read in dozens of chunks (some lines longer than one), so
// results come back from two threads out of order and must still be linked in file order.
const VERIFIERS: Array<[string, number, (path: string) => Promise<VerifyResult>]> = [
  ['in this thread', 0, (path) => source.verifyAudit(path)],
  ['on two worker threads', 2, (path) => built.verifyAudit(path, { threads: 2, chunkBytes: 1024 })],
];

const RECORDS = 120;
let dataDir: string;
let auditDir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dataDir, auditDir, cleanup } = await tempDataDir());
  // Small files and frequent checkpoints: 120 records span several rotated files.
  const log = await AuditLog.open({ dataDir, maxFileBytes: 12_000, checkpointEvery: 25 });
  for (let i = 1; i <= RECORDS; i++) await log.append(decisionEvent(i));
  await log.close();
});
afterEach(() => cleanup());

describe('verify threads', () => {
  it('the compiled code checks on worker threads by default on more than one core; the source cannot', () => {
    const cores = availableParallelism();
    expect(built.defaultThreads()).toBe(cores < 2 ? 0 : Math.min(cores, 4));
    expect(source.defaultThreads()).toBe(0);
  });
});

describe.each(VERIFIERS)('verifyAudit %s', (_label, threads, verifyAudit) => {
  async function broken(): Promise<VerifyFailure> {
    const result = await verifyAudit(auditDir);
    if (result.ok) throw new Error('expected verify to fail');
    return result;
  }

  describe('on an untouched log', () => {
    it('passes across rotated files and checkpoints', async () => {
      const files = await logLines(auditDir);
      expect(files.length).toBeGreaterThanOrEqual(3);
      const checkpoints = (await readFile(join(auditDir, 'checkpoints.jsonl'), 'utf8')).trim().split('\n');
      expect(checkpoints.length).toBeGreaterThanOrEqual(4);
      const result = await verifyAudit(auditDir);
      expect(result).toMatchObject({
        ok: true,
        records: RECORDS,
        files: files.length,
        lastSeq: RECORDS,
        threads,
      });
    });

    it('verifies a single rotated file on its own', async () => {
      const files = await logLines(auditDir);
      const result = await verifyAudit((files[1] as { file: string }).file);
      expect(result.ok).toBe(true);
    });

    it('links each rotated file to the last hash of the one before', async () => {
      const files = await logLines(auditDir);
      for (let f = 1; f < files.length; f++) {
        const last = JSON.parse((files[f - 1] as { lines: string[] }).lines.at(-1) as string) as {
          hash: string;
        };
        const first = JSON.parse((files[f] as { lines: string[] }).lines[0] as string) as { prev: string };
        expect(first.prev).toBe(last.hash);
      }
    });
  });

  describe('on a tampered log', () => {
    it('names an edited record', async () => {
      const { file, lines, index } = await locate(auditDir, 37);
      lines[index] = (lines[index] as string).replace('"decision":"allow"', '"decision":"deny"');
      expect(lines[index]).toContain('"decision":"deny"');
      await writeLines(file, lines);
      expect(await broken()).toMatchObject({ seq: 37, problem: 'edited' });
    });

    it('names the record after one that was edited and re-hashed', async () => {
      const { file, lines, index } = await locate(auditDir, 37);
      const { hash: _, ...record } = JSON.parse(lines[index] as string) as Record<string, unknown>;
      record.decision = 'deny';
      const canonical = JSON.stringify(
        Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1))),
      );
      lines[index] = formatLine(canonical, chainHash(record.prev as string, canonical)).trimEnd();
      await writeLines(file, lines);
      expect(await broken()).toMatchObject({ seq: 38, problem: 'chain_broken' });
    });

    it('names a deleted line', async () => {
      const { file, lines, index } = await locate(auditDir, 37);
      lines.splice(index, 1);
      await writeLines(file, lines);
      const failure = await broken();
      expect(failure).toMatchObject({ seq: 37, problem: 'deleted' });
      expect(failure.message).toContain('seq 37');
    });

    it('names swapped lines', async () => {
      const { file, lines, index } = await locate(auditDir, 37);
      const next = await locate(auditDir, 38);
      expect(next.file).toBe(file);
      [lines[index], lines[index + 1]] = [lines[index + 1] as string, lines[index] as string];
      await writeLines(file, lines);
      expect(await broken()).toMatchObject({ seq: 37, problem: 'reordered' });
    });

    it('names a line that is not JSON', async () => {
      const { file, lines, index } = await locate(auditDir, 37);
      lines[index] = '{"seq":37, this is not json';
      await writeLines(file, lines);
      expect(await broken()).toMatchObject({ seq: 37, problem: 'invalid_json' });
    });

    it('names a line that is not valid UTF-8, even where it decodes to the same text', async () => {
      // A record holding U+FFFD: replacing its bytes with an invalid byte decodes to the same string,
      // so only an encoding check tells the file was changed.
      await rm(auditDir, { recursive: true });
      const log = await AuditLog.open({ dataDir });
      for (let i = 1; i <= 5; i++) await log.append(decisionEvent(i, { reason: 'bad byte \uFFFD here' }));
      await log.close();
      expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 5 });
      const file = join(auditDir, 'audit-000001.jsonl');
      const bytes = await readFile(file);
      let at = -1;
      for (let seen = 0; seen < 3; seen++) at = bytes.indexOf(Buffer.from('\uFFFD'), at + 1);
      await writeFile(
        file,
        Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]),
      );
      expect(await broken()).toMatchObject({ seq: 3, problem: 'invalid_json', line: 3 });
      expect((await broken()).message).toContain('not valid UTF-8');
    });

    it('detects a tail cut off before the last checkpoint', async () => {
      const { file, lines, index } = await locate(auditDir, 101);
      await writeLines(file, lines.slice(0, index));
      const later = (await logLines(auditDir)).filter((f) => f.file > file);
      for (const f of later) await rm(f.file);
      const failure = await broken();
      expect(failure).toMatchObject({ seq: 101, problem: 'truncated' });
      expect(failure.message).toContain(`checkpoint records seq ${RECORDS}`);
    });

    it('detects a file cut in the middle of a record', async () => {
      const files = await logLines(auditDir);
      const last = files.at(-1) as { file: string };
      const size = (await readFile(last.file)).length;
      await truncate(last.file, size - 10);
      expect(await broken()).toMatchObject({ seq: RECORDS, problem: 'invalid_json' });
    });

    it('names the first seq of a removed rotated file', async () => {
      const files = await logLines(auditDir);
      const second = files[1] as { file: string; lines: string[] };
      const firstSeq = (JSON.parse(second.lines[0] as string) as { seq: number }).seq;
      await rm(second.file);
      const failure = await broken();
      expect(failure).toMatchObject({ seq: firstSeq, problem: 'missing_file' });
      expect(failure.message).toContain('audit-000002.jsonl');
    });

    it('detects a removed first file', async () => {
      await rm(join(auditDir, 'audit-000001.jsonl'));
      expect(await broken()).toMatchObject({ seq: 1, problem: 'missing_file' });
    });

    it('fails on a directory without log files, while a fresh log with no records passes', async () => {
      await rm(auditDir, { recursive: true });
      await mkdir(auditDir);
      const failure = await broken();
      expect(failure).toMatchObject({ seq: 1, problem: 'missing_file' });
      expect(failure.message).toContain('audit-000001.jsonl is missing');
      await rm(auditDir, { recursive: true });
      await (await AuditLog.open({ dataDir })).close();
      expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, records: 0, files: 1 });
    });

    it('names the seq of a checkpoint whose hash was changed', async () => {
      const path = join(auditDir, 'checkpoints.jsonl');
      const lines = (await readFile(path, 'utf8')).trim().split('\n');
      const checkpoint = JSON.parse(lines[1] as string) as { seq: number; hash: string };
      checkpoint.hash = checkpoint.hash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      lines[1] = JSON.stringify(checkpoint);
      await writeLines(path, lines);
      expect(await broken()).toMatchObject({ seq: checkpoint.seq, problem: 'checkpoint_mismatch' });
    });

    it('names the seq of a checkpoint moved to another record', async () => {
      const path = join(auditDir, 'checkpoints.jsonl');
      const lines = (await readFile(path, 'utf8')).trim().split('\n');
      const checkpoint = JSON.parse(lines[1] as string) as { seq: number; hash: string };
      lines[1] = JSON.stringify({ ...checkpoint, seq: checkpoint.seq - 3 });
      await writeLines(path, lines);
      expect(await broken()).toMatchObject({ seq: checkpoint.seq - 3, problem: 'checkpoint_mismatch' });
    });

    it('rejects a checkpoints file cut in the middle of a line', async () => {
      const path = join(auditDir, 'checkpoints.jsonl');
      const size = (await readFile(path)).length;
      await truncate(path, size - 20);
      expect(await broken()).toMatchObject({ problem: 'checkpoint_invalid' });
    });

    it('cannot see records cut off after the last checkpoint (the documented limit)', async () => {
      await rm(auditDir, { recursive: true });
      const log = await AuditLog.open({ dataDir, checkpointEvery: 5 });
      try {
        for (let i = 1; i <= 7; i++) await log.append(decisionEvent(i));
        const { file, lines } = await locate(auditDir, 7);
        await writeLines(file, lines.slice(0, -1));
        expect(await verifyAudit(auditDir)).toMatchObject({ ok: true, lastSeq: 6, checkpoints: 1 });
        await writeLines(file, lines.slice(0, 4));
        expect(await broken()).toMatchObject({ seq: 5, problem: 'truncated' });
      } finally {
        await log.close();
      }
    });

    it('rejects a checkpoint line that is not a checkpoint', async () => {
      const path = join(auditDir, 'checkpoints.jsonl');
      const text = await readFile(path, 'utf8');
      await writeFile(path, `${text}{"seq":500,"hash":"short"}\n`);
      expect(await broken()).toMatchObject({ seq: 500, problem: 'checkpoint_invalid' });
    });
  });
});
