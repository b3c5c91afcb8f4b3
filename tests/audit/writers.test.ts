// Several writers on one data dir (Claude Desktop runs one proxy per server): one chain per writer slot.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/log.js';
import { AuditQueryError, queryAudit } from '../../src/audit/query.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { auditTail, auditVerify } from '../../src/commands/audit.js';
import { builtFile } from '../helpers/built.js';
import { waitFor } from '../helpers/wait.js';
import {
  decisionEvent,
  locate,
  logLines,
  spawnWriter,
  tempDataDir,
  type WriterChild,
  writeLines,
} from './helpers.js';

const SLOT_WRITER = builtFile('tests/audit/fixtures/slot-writer.ts');

/**
 * The state letter in /proc/<pid>/status (R, S, Z, ...), or null once the process is reaped. A
 * killed thread group leader shows Z while its other threads still exit (and still hold its files):
 * 'dead' is a zombie whose threads are all gone, the state a restart sees after a kill -9.
 */
function processState(pid: number): string | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s+(\S)/m.exec(status)?.[1] ?? null;
    return state === 'Z' && /^Threads:\s+1$/m.test(status) ? 'dead' : state;
  } catch {
    return null;
  }
}

let dataDir: string;
let auditDir: string;
let cleanup: () => Promise<void>;
const logs: AuditLog[] = [];
const children: WriterChild[] = [];

async function openLog(options: Partial<Parameters<typeof AuditLog.open>[0]> = {}): Promise<AuditLog> {
  const log = await AuditLog.open({ dataDir, ...options });
  logs.push(log);
  return log;
}

function writer(): WriterChild {
  const child = spawnWriter(dataDir);
  children.push(child);
  return child;
}

/** Every record of one chain directory, in file order. */
async function chainRecords(dir: string): Promise<AuditRecord[]> {
  return (await logLines(dir)).flatMap(({ lines }) => lines.map((line) => JSON.parse(line) as AuditRecord));
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text) } };
}

beforeEach(async () => {
  ({ dataDir, auditDir, cleanup } = await tempDataDir());
});
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
  await cleanup();
});

describe('writer slots', () => {
  it('gives a second log on the same data dir its own chain, so verify passes (one shared chain broke at once)', async () => {
    const first = await openLog();
    const second = await openLog();
    expect([first.slot, first.dir, first.root]).toEqual([1, auditDir, auditDir]);
    expect([second.slot, second.dir, second.root]).toEqual([2, join(auditDir, 'writer-2'), auditDir]);
    for (let i = 1; i <= 20; i++) {
      expect((await first.append(decisionEvent(i))).seq).toBe(i);
      expect((await second.append(decisionEvent(i))).seq).toBe(i);
    }
    await first.close();
    await second.close();
    const result = await verifyAudit(auditDir);
    expect(result).toMatchObject({ ok: true, records: 40, chains: 2, files: 2, checkpoints: 2 });
    expect(result.ok && result.perChain.map((c) => [c.chain, c.records, c.lastSeq])).toEqual([
      [1, 20, 20],
      [2, 20, 20],
    ]);
    // Closing gave the slots back: the next log continues the main chain.
    const again = await openLog();
    expect(again.slot).toBe(1);
    expect((await again.append(decisionEvent(21))).seq).toBe(21);
  });

  it('keeps the lease table outside the audit directory, private; an explicit dir takes no slot', async () => {
    const log = await openLog();
    const db = join(dataDir, 'audit-writers.db');
    expect((await stat(db)).mode & 0o777).toBe(0o600);
    const rows = new Database(db, { readonly: true });
    try {
      expect(rows.prepare('SELECT slot, pid FROM writers').all()).toEqual([{ slot: 1, pid: process.pid }]);
    } finally {
      rows.close();
    }
    const tool = await openLog({ dir: join(dataDir, 'elsewhere') });
    expect([tool.slot, tool.dir, tool.root]).toEqual([
      null,
      join(dataDir, 'elsewhere'),
      join(dataDir, 'elsewhere'),
    ]);
    await log.close();
    const empty = new Database(db, { readonly: true });
    try {
      expect(empty.prepare('SELECT count(*) AS n FROM writers').get()).toEqual({ n: 0 });
    } finally {
      empty.close();
    }
  });

  it('three processes appending at once each get a slot and a gap-free chain; all of it verifies', async () => {
    const children = [writer(), writer(), writer()];
    const opened = await Promise.all(children.map((c) => c.next('open')));
    expect(opened.map((o) => o.slot).sort()).toEqual([1, 2, 3]);
    const startAt = Date.now() + 300;
    children.forEach((c, i) => {
      c.send({ type: 'append', count: 150, tag: `proc-${opened[i]?.slot}`, startAt, spreadMs: 600 });
    });
    for (const c of children) expect((await c.next('appended')).seqs).toEqual(range(1, 150));
    for (const c of children) c.send({ type: 'close' });
    await Promise.all(children.map((c) => c.next('closed')));

    const result = await verifyAudit(auditDir);
    expect(result).toMatchObject({ ok: true, records: 450, chains: 3 });
    for (const { slot, dir } of opened) {
      expect(dir).toBe(slot === 1 ? auditDir : join(auditDir, `writer-${slot}`));
      const records = await chainRecords(dir);
      expect(records.map((r) => r.seq)).toEqual(range(1, 150));
      expect(new Set(records.map((r) => r.agent))).toEqual(new Set([`proc-${slot}`]));
    }
    // The writers really overlapped in time (otherwise this test proves nothing about concurrency).
    const spans = await Promise.all(
      opened.map(async ({ dir }) => {
        const records = await chainRecords(dir);
        return [Date.parse((records[0] as AuditRecord).ts), Date.parse((records.at(-1) as AuditRecord).ts)];
      }),
    );
    const latestStart = Math.max(...spans.map(([start]) => start as number));
    const earliestEnd = Math.min(...spans.map(([, end]) => end as number));
    expect(latestStart).toBeLessThanOrEqual(earliestEnd);
  });

  it('gives the slot of a process killed with SIGKILL to the next one, which continues its chain', async () => {
    const one = writer();
    expect((await one.next('open')).slot).toBe(1);
    const two = writer();
    expect((await two.next('open')).slot).toBe(2);
    one.send({ type: 'append', count: 5, tag: 'one' });
    two.send({ type: 'append', count: 8, tag: 'two' });
    await one.next('appended');
    await two.next('appended');
    two.child.kill('SIGKILL');
    await two.exited;

    const three = writer();
    const opened = await three.next('open');
    expect([opened.slot, opened.dir]).toEqual([2, join(auditDir, 'writer-2')]);
    three.send({ type: 'append', count: 4, tag: 'three' });
    expect((await three.next('appended')).seqs).toEqual([9, 10, 11, 12]);
    // The live holder of slot 1 kept it.
    const four = writer();
    expect((await four.next('open')).slot).toBe(3);
    for (const c of [one, three, four]) c.send({ type: 'close' });
    await Promise.all([one, three, four].map((c) => c.next('closed')));
    const result = await verifyAudit(auditDir);
    expect(result).toMatchObject({ ok: true, records: 17, chains: 3 });
    expect(result.ok && result.perChain.map((c) => c.lastSeq)).toEqual([5, 12, null]);
  });
  it('gives a SIGKILLed writer that is still an unreaped zombie its slot back at once (a pid check saw it alive)', async () => {
    // The writer runs under a shell that execs `sleep`: sleep never waits for children, so the killed
    // writer stays a zombie (its pid still answers kill(pid, 0)) until the shell goes away.
    const holder = spawn(
      'sh',
      ['-c', '"$0" "$1" "$2" 3 & exec sleep 60', process.execPath, SLOT_WRITER, dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const holderGone = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
    try {
      const lines = createInterface({ input: holder.stdout });
      const first = await new Promise<{ pid: number; slot: number; seqs: number[] }>((resolve, reject) => {
        lines.once('line', (line) => resolve(JSON.parse(line)));
        holder.once('exit', () => reject(new Error('the writer never reported')));
      });
      expect(first).toMatchObject({ slot: 1, seqs: [1, 2, 3] });
      process.kill(first.pid, 'SIGKILL');
      await waitFor(() => processState(first.pid) === 'dead', 'the killed writer to be a zombie');
      // What the old pid check relied on: the zombie's pid still exists.
      expect(() => process.kill(first.pid, 0)).not.toThrow();

      const restarted = await openLog();
      expect(processState(first.pid)).toBe('dead');
      expect([restarted.slot, restarted.dir]).toEqual([1, auditDir]);
      expect((await restarted.append(decisionEvent(4))).seq).toBe(4);
      // A second live writer beside it still gets a slot of its own.
      expect((await openLog()).slot).toBe(2);
      for (const log of logs.splice(0)) await log.close();
      const result = await verifyAudit(auditDir);
      expect(result).toMatchObject({ ok: true, chains: 2, records: 4 });
      expect(result.ok && result.perChain.map((c) => c.lastSeq)).toEqual([4, null]);
    } finally {
      holder.kill('SIGKILL');
      await holderGone;
    }
  });
});

describe('verify over several chains', () => {
  beforeEach(async () => {
    const first = await openLog();
    const second = await openLog({ maxFileBytes: 5_000 });
    for (let i = 1; i <= 30; i++) {
      await first.append(decisionEvent(i));
      await second.append(decisionEvent(i));
    }
    for (const log of logs.splice(0)) await log.close();
  });

  it('names the file, with its chain directory, and the seq of an edit in writer-2', async () => {
    const writerDir = join(auditDir, 'writer-2');
    const { file, lines, index } = await locate(writerDir, 17);
    lines[index] = (lines[index] as string).replace('corr-17', 'corr-71');
    await writeLines(file, lines);
    const result = await verifyAudit(auditDir);
    const name = `writer-2/${file.slice(writerDir.length + 1)}`;
    expect(result).toMatchObject({
      ok: false,
      problem: 'edited',
      seq: 17,
      chain: 2,
      dir: writerDir,
      file: name,
    });
    expect(!result.ok && result.message).toContain(`at seq 17`);
    expect(!result.ok && result.message).toContain(`(${name} line ${index + 1})`);
    // The main chain was checked first and is counted.
    expect(!result.ok && result.records).toBeGreaterThanOrEqual(30);

    const { out, err, io } = capture();
    expect(await auditVerify({ dataDir }, io)).toBe(1);
    expect(out).toEqual([]);
    expect(err[0]).toContain(name);
  });

  it('fails on a writer directory without a log file, as on an empty audit directory', async () => {
    await mkdir(join(auditDir, 'writer-5'));
    expect(await verifyAudit(auditDir)).toMatchObject({
      ok: false,
      problem: 'missing_file',
      chain: 5,
      file: null,
      message: expect.stringContaining('(in writer-5/)'),
    });
  });

  it('verifies one writer directory on its own, and prints the chains in the summary', async () => {
    expect(await verifyAudit(join(auditDir, 'writer-2'))).toMatchObject({ ok: true, records: 30, chains: 1 });
    const { out, io } = capture();
    expect(await auditVerify({ dataDir }, io)).toBe(0);
    expect(out[0]).toMatch(
      /^audit log intact: 60 records in \d+ file\(s\), 2 chain\(s\), \d+ checkpoint\(s\), /,
    );
    expect(out[0]).toContain('last seq 30 (main), 30 (writer-2)');
  });
});

describe('queryAudit over several chains', () => {
  /** Every record written, with its chain, in the order the merge must give (newest first). */
  let expected: Array<{ chain: number; record: AuditRecord }>;

  beforeEach(async () => {
    // Three writers whose clocks interleave, with some times equal across chains (ties).
    let clock = Date.UTC(2025, 0, 31, 9, 0, 0);
    const now = () => new Date(clock);
    const all = [await openLog({ now }), await openLog({ now }), await openLog({ now, maxFileBytes: 4_000 })];
    const written: Array<{ chain: number; record: AuditRecord; order: number }> = [];
    let order = 0;
    for (let i = 1; i <= 60; i++) {
      const log = all[(i * 7) % 3] as AuditLog;
      const record = await log.append(decisionEvent(i));
      written.push({ chain: log.slot as number, record, order: order++ });
      if (i % 4 !== 0) clock += 1000; // every fourth record shares its time with the next one
    }
    for (const log of logs.splice(0)) await log.close();
    expected = written
      .sort((a, b) =>
        a.record.ts === b.record.ts
          ? a.chain - b.chain || b.record.seq - a.record.seq
          : a.record.ts < b.record.ts
            ? 1
            : -1,
      )
      .map(({ chain, record }) => ({ chain, record }));
  });

  const key = (chain: number, record: AuditRecord) => `${chain}:${record.seq}`;

  it('merges the chains newest first by time, ties by chain, each record with its chain', async () => {
    const page = await queryAudit(auditDir, { limit: 1000 });
    expect(page.records.map((r, i) => key(page.chains[i] as number, r))).toEqual(
      expected.map(({ chain, record }) => key(chain, record)),
    );
    expect(page.records).toEqual(expected.map(({ record }) => record));
    expect(new Set(page.chains)).toEqual(new Set([1, 2, 3]));
    expect(page.nextCursor).toBeNull();
  });

  it('pages with the string cursor over every record exactly once, in the merged order', async () => {
    const seen: string[] = [];
    let before: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await queryAudit(auditDir, { limit: 7, before });
      seen.push(...page.records.map((r, i) => key(page.chains[i] as number, r)));
      pages++;
      if (page.nextCursor === null) break;
      expect(page.records).toHaveLength(7);
      before = page.nextCursor;
    }
    expect(pages).toBe(9);
    expect(seen).toEqual(expected.map(({ chain, record }) => key(chain, record)));
  });

  it('filters across chains, and pages the filtered records', async () => {
    const denied = expected.filter(({ record }) => record.decision === 'deny');
    const seen: string[] = [];
    let before: string | undefined;
    do {
      const page = await queryAudit(auditDir, { decision: 'deny', agent: 'support-bot', limit: 3, before });
      seen.push(...page.records.map((r, i) => key(page.chains[i] as number, r)));
      before = page.nextCursor ?? undefined;
    } while (before !== undefined);
    expect(seen).toEqual(
      denied
        .filter(({ record }) => record.agent === 'support-bot')
        .map(({ chain, record }) => key(chain, record)),
    );
    const target = expected.find(({ chain }) => chain === 3) as { chain: number; record: AuditRecord };
    const call = await queryAudit(auditDir, { correlation_id: target.record.correlation_id as string });
    expect(call.records).toEqual([target.record]);
    expect(call.chains).toEqual([3]);
    const i = Number((target.record.correlation_id as string).slice('corr-'.length));
    expect((await queryAudit(auditDir, { q: `ORD_${i}"` })).chains).toEqual([3]);
  });

  it('refuses a cursor it did not write', async () => {
    for (const before of ['48', '1.0', 'x', '1.5_1.6', '', '1.5_']) {
      await expect(queryAudit(auditDir, { before })).rejects.toBeInstanceOf(AuditQueryError);
    }
  });
});

describe('audit tail over several chains', () => {
  it('prints the last n across chains by time, and follows every chain, one that starts later too', async () => {
    let clock = Date.UTC(2025, 0, 31, 9, 0, 0);
    const now = () => {
      clock += 1000;
      return new Date(clock);
    };
    const first = await openLog({ now });
    const second = await openLog({ now });
    for (let i = 1; i <= 4; i++) {
      await first.append(decisionEvent(i));
      await second.append(decisionEvent(100 + i));
    }
    const { out, io } = capture();
    expect(await auditTail({ dataDir, n: 3, follow: false }, io)).toBe(0);
    expect(out.map((line) => /(w\d+)?#\d+/.exec(line)?.[0])).toEqual(['w2#3', '#4', 'w2#4']);

    const follow = capture();
    const controller = new AbortController();
    const tail = auditTail({ dataDir, n: 1, follow: true, signal: controller.signal }, follow.io);
    // The last record is printed once the tail knows where every chain ends: then append.
    await waitFor(() => follow.out.length === 1, 'the last record');
    // One at a time: follow prints records as its polls find them, so two appends between polls
    // of different chains could come out in either order.
    await first.append(decisionEvent(5));
    await waitFor(() => follow.out.length === 2, 'the first new record');
    await second.append(decisionEvent(105));
    await waitFor(() => follow.out.length === 3, 'the second new record');
    // A third writer appears after the tail started: its records show up as well.
    const third = await openLog({ now });
    expect(third.slot).toBe(3);
    await third.append(decisionEvent(200));
    await waitFor(() => follow.out.some((line) => line.includes('w3#1 ')), 'the third chain');
    controller.abort();
    expect(await tail).toBe(0);
    expect(follow.out.map((line) => /(w\d+)?#\d+/.exec(line)?.[0])).toEqual(['w2#4', '#5', 'w2#5', 'w3#1']);
    expect(await readFile(join(auditDir, 'writer-3', 'audit-000001.jsonl'), 'utf8')).toContain('corr-200');
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
