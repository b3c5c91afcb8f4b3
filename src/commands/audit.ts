// `portcullis audit verify` and `portcullis audit tail`: check the chain, read recent records.
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { endOfLastLine, type LogFile, linesBackward, listLogFiles, parseRecord } from '../audit/files.js';
import type { AuditRecord } from '../audit/types.js';
import { verifyAudit } from '../audit/verify.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

/** Verifies `path` (a log file or directory; default <dataDir>/audit): 0 intact, 1 broken. */
export async function auditVerify(
  opts: { path?: string | undefined; dataDir: string },
  io: Io,
): Promise<number> {
  const target = opts.path ?? join(opts.dataDir, 'audit');
  if (!existsSync(target)) throw new UsageError(`no audit log at ${target}`);
  const result = await verifyAudit(target);
  if (!result.ok) {
    io.err(result.message);
    return EXIT_CHECK_FAILED;
  }
  const recovered = result.recoveries > 0 ? `, ${result.recoveries} torn write(s) recovered` : '';
  const last = result.lastSeq === null ? '' : `, last seq ${result.lastSeq}`;
  io.out(
    `audit log intact: ${result.records} records in ${result.files} file(s), ` +
      `${result.checkpoints} checkpoint(s)${last}${recovered}`,
  );
  return EXIT_OK;
}

const POLL_MS = 250;

/** Prints the last `n` records, then (with follow) new ones as they are written, until `signal` aborts. */
export async function auditTail(
  opts: { dataDir: string; n: number; follow: boolean; signal?: AbortSignal | undefined },
  io: Io,
): Promise<number> {
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new UsageError('-n must be a whole number');
  const dir = join(opts.dataDir, 'audit');
  if (!existsSync(dir)) throw new UsageError(`no audit log at ${dir}`);

  const files = listLogFiles(dir);
  const newest = files.at(-1);
  // Where following starts: just past the last whole line of the newest file as it is now.
  let offset = newest ? endOfLastLine(newest.path, (await stat(newest.path)).size) : 0;
  const recent: string[] = [];
  for (let f = files.length - 1; f >= 0 && recent.length < opts.n; f--) {
    const file = files[f] as LogFile;
    const end = file === newest ? offset : (await stat(file.path)).size;
    for (const { line } of linesBackward(file.path, end)) {
      const text = formatRecordLine(line);
      if (text === null) continue;
      recent.push(text);
      if (recent.length === opts.n) break;
    }
  }
  for (const text of recent.reverse()) io.out(text);
  if (!opts.follow) return EXIT_OK;

  let current: LogFile | undefined = newest;
  let carry = '';
  const signal = opts.signal;
  while (!signal?.aborted) {
    if (current) {
      const read = await readFrom(current.path, offset);
      offset += read.bytes;
      const text = carry + read.text;
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        const formatted = formatRecordLine(line);
        if (formatted !== null) io.out(formatted);
      }
      if (read.bytes > 0) continue;
    }
    // Nothing new here: move on once a newer file exists (rotation), else wait.
    const next = listLogFiles(dir).find((file) => file.index > (current?.index ?? 0));
    if (next) {
      current = next;
      offset = 0;
      carry = '';
      continue;
    }
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      break;
    }
  }
  return EXIT_OK;
}

/** One record as a readable line: time, seq, event, agent, server/tool, decision, rule, reason, extras. */
export function formatRecord(record: AuditRecord): string {
  const parts = [
    record.ts,
    `#${record.seq}`,
    record.event,
    `agent=${record.agent ?? '-'}`,
    `${record.server ?? '-'}/${record.tool ?? '-'}`,
    record.decision ?? '-',
    `rule=${record.rule ?? '-'}`,
  ];
  if (record.reason !== undefined) parts.push(JSON.stringify(record.reason));
  for (const key of EXTRA_KEYS) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    parts.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return parts.join('  ');
}

/** Event-specific fields worth a glance (see the *AuditEvent types). */
const EXTRA_KEYS = [
  'action',
  'approval_id',
  'by',
  'note',
  'outcome',
  'latency_ms',
  'error',
  'old_sha256',
  'new_sha256',
  'errors',
  'pid',
  'exit_code',
  'signal',
  'problem',
  'correlation_id',
] as const;

function formatRecordLine(line: string): string | null {
  const record = parseRecord(line);
  return record === null ? null : formatRecord(record);
}

async function readFrom(path: string, offset: number): Promise<{ text: string; bytes: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= offset) return { text: '', bytes: 0 };
    const buffer = Buffer.alloc(Math.min(size - offset, 4 * 1024 * 1024));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    // Stop at the last newline so a multi-byte character is never split between reads.
    const end = buffer.subarray(0, bytesRead).lastIndexOf(10) + 1;
    return { text: buffer.toString('utf8', 0, end), bytes: end };
  } finally {
    await handle.close();
  }
}
