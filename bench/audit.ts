// Benchmark: audit append throughput with the hash chain on, redaction per record, the cost of an open, and the time to verify 1,000,000 records.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '../src/audit/log.js';
import { Redactor } from '../src/audit/redact.js';
import type { AuditEvent } from '../src/audit/types.js';
import * as source from '../src/audit/verify.js';
import { findSecrets } from '../src/secrets/index.js';

const THROUGHPUT_RECORDS = 100_000;
const VERIFY_RECORDS = 1_000_000;
/** `portcullis audit verify` runs the compiled build, whose worker threads the source has no file for. */
const BUILT_VERIFY = new URL('../dist/src/audit/verify.js', import.meta.url);

async function verifyModule(): Promise<{ verify: typeof source; from: string }> {
  if (!existsSync(BUILT_VERIFY)) return { verify: source, from: 'source (not built: no worker threads)' };
  return { verify: (await import(BUILT_VERIFY.href)) as typeof source, from: 'dist' };
}

/** A realistic decision record: a refund call with nested arguments, one of them a secret. */
function decision(i: number): AuditEvent {
  return {
    event: 'decision',
    correlation_id: `c-${i.toString(16).padStart(12, '0')}`,
    agent: 'support-bot',
    server: 'payments',
    tool: 'refunds.refund',
    decision: i % 10 === 0 ? 'review' : 'allow',
    rule: i % 10 === 0 ? 'fallback' : 'small-refunds',
    reason: 'Auto-approved refunds under $150',
    policy_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    args: {
      op: 'refund',
      amount_cents: 1000 + (i % 14_000),
      customer: { id: `cus_${i % 5000}`, email: `customer${i % 5000}@example.com` },
      order: {
        id: `ord_${i}`,
        items: [
          { sku: 'A-100', qty: 1 },
          { sku: 'B-200', qty: 2 },
        ],
      },
      note: 'Customer reports the parcel arrived damaged; refund the item, keep the shipping fee.',
      api_key: `sk_live_${i % 7}`,
    },
  };
}

async function sequential(dir: string): Promise<number> {
  const log = await AuditLog.open({ dataDir: dir });
  const start = performance.now();
  for (let i = 0; i < THROUGHPUT_RECORDS; i++) await log.append(decision(i));
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return THROUGHPUT_RECORDS / seconds;
}

async function concurrent(dir: string, records: number, width: number): Promise<number> {
  const log = await AuditLog.open({ dataDir: dir });
  const start = performance.now();
  for (let i = 0; i < records; i += width) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(records, i + width); j++) batch.push(log.append(decision(j)));
    await Promise.all(batch);
  }
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return records / seconds;
}

/** What redaction (keys, name/value pairs, one scan of the record's strings for credentials) costs per record. */
function redaction(times: number): { perRecord: number; scan: number } {
  const redactor = new Redactor(Buffer.alloc(32, 7));
  const events = Array.from({ length: 1000 }, (_, i) => decision(i));
  const strings = events.map((event) => collectStrings(event));
  for (let i = 0; i < 5000; i++) redactor.redaction(events[i % 1000], 'audit', { wellFormed: true });
  let start = performance.now();
  for (let i = 0; i < times; i++) redactor.redaction(events[i % 1000], 'audit', { wellFormed: true });
  const perRecord = ((performance.now() - start) * 1000) / times;
  start = performance.now();
  for (let i = 0; i < times; i++) findSecrets(strings[i % 1000] as string[]);
  const scan = ((performance.now() - start) * 1000) / times;
  return { perRecord, scan };
}

function collectStrings(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) collectStrings(item, into);
  return into;
}

/** Opening leases a writer slot in SQLite (once per open, never per append): what that costs. */
async function openClose(dir: string, times: number): Promise<number> {
  await (await AuditLog.open({ dataDir: dir })).close();
  const start = performance.now();
  for (let i = 0; i < times; i++) await (await AuditLog.open({ dataDir: dir })).close();
  return (performance.now() - start) / times;
}

export async function run(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'portcullis-bench-audit-'));
  try {
    const one = await sequential(join(root, 'sequential'));
    console.log(
      `audit append, one at a time (await each): ${Math.round(one).toLocaleString('en')} records/s`,
    );
    const many = await concurrent(join(root, 'concurrent'), THROUGHPUT_RECORDS, 64);
    console.log(
      `audit append, 64 concurrent callers:      ${Math.round(many).toLocaleString('en')} records/s`,
    );

    const cost = redaction(100_000);
    console.log(
      `audit redaction per record: ${cost.perRecord.toFixed(1)} µs, of which the credential scan of its strings ${cost.scan.toFixed(1)} µs`,
    );

    const open = await openClose(join(root, 'open'), 50);
    console.log(`audit open + close (writer slot lease, recovery scan): ${open.toFixed(2)} ms`);

    const data = join(root, 'verify');
    await concurrent(data, VERIFY_RECORDS, 1000);
    const { verify, from } = await verifyModule();
    const threads = verify.defaultThreads();
    const runs: Array<[string, number]> = [['one thread', 0]];
    if (threads > 0) runs.push([`${threads} worker threads`, threads]);
    for (const [label, count] of runs) {
      const start = performance.now();
      const result = await verify.verifyAudit(join(data, 'audit'), { threads: count });
      const seconds = (performance.now() - start) / 1000;
      if (!result.ok) throw new Error(`verify failed on an untouched log: ${result.message}`);
      console.log(
        `audit verify (${from}, ${label}): ${result.records.toLocaleString('en')} records in ${result.files} files, ` +
          `${result.checkpoints} checkpoints: ${seconds.toFixed(2)} s`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
