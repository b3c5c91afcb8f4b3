// `portcullis audit verify` and `portcullis audit tail`: check every writer's chain, read recent records.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CHECKPOINT_FILE,
  endOfLastLine,
  type LogFile,
  linesBackward,
  listLogFiles,
  logFileIndex,
  parseRecord,
} from '../audit/files.js';
import type { AuditRecord } from '../audit/types.js';
import { verifyAudit } from '../audit/verify.js';
import { listChains, WRITERS_DB, writerSlot } from '../audit/writers.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

/**
 * Verifies `path` (a log file, an audit directory with every writer's chain, or a data directory
 * holding `audit/`; default <dataDir>/audit): 0 intact, 1 broken. A path that is no audit log at
 * all is a usage error (2), never reported as tampering.
 */
export async function auditVerify(
  opts: { path?: string | undefined; dataDir: string },
  io: Io,
): Promise<number> {
  const target = opts.path === undefined ? join(opts.dataDir, 'audit') : auditTarget(opts.path);
  if (!existsSync(target)) throw new UsageError(`no audit log at ${target}`);
  const result = await verifyAudit(target);
  if (!result.ok) {
    io.err(result.message);
    return EXIT_CHECK_FAILED;
  }
  const recovered = result.recoveries > 0 ? `, ${result.recoveries} torn write(s) recovered` : '';
  const heads = result.perChain.filter((chain) => chain.lastSeq !== null);
  const last =
    result.chains === 1
      ? heads.map((chain) => `, last seq ${chain.lastSeq}`).join('')
      : heads.length === 0
        ? ''
        : `, last seq ${heads.map((chain) => `${chain.lastSeq} (${chainName(chain.chain)})`).join(', ')}`;
  io.out(
    `audit log intact: ${result.records} records in ${result.files} file(s), ${result.chains} chain(s), ` +
      `${result.checkpoints} checkpoint(s)${last}${recovered}`,
  );
  return EXIT_OK;
}

/** Files a data directory holds beside `audit/` (any one says it is one). */
const DATA_DIR_MARKERS = [WRITERS_DB, 'audit-hmac.key'];

/**
 * What a path given to `audit verify` names: an audit log file, an audit directory (log files,
 * checkpoints or writer-N/ chains; or an `audit/` or `writer-N/` directory where a writer put it,
 * whose emptiness is then evidence), or a data directory, whose `audit/` is meant. Anything else
 * throws UsageError: verifying a wrong path must not look like a broken chain.
 */
function auditTarget(path: string): string {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) throw new UsageError(`no audit log at ${path}`);
  if (!info.isDirectory()) {
    if (logFileIndex(basename(path)) !== null || looksLikeRecords(path)) return path;
    throw new UsageError(
      `${path} is not an audit log (not an audit-NNNNNN.jsonl file, and its first line is not an audit record)`,
    );
  }
  if (isAuditDir(path)) return path;
  const inner = join(path, 'audit');
  if (statSync(inner, { throwIfNoEntry: false })?.isDirectory() && isDataDir(path)) return inner;
  throw new UsageError(
    `${path} holds no audit log: no audit-NNNNNN.jsonl files, checkpoints or writer-N/ chains, ` +
      'and it is not a data directory with an audit/ folder',
  );
}

function isAuditDir(dir: string): boolean {
  const names = readdirSync(dir);
  if (names.some((name) => logFileIndex(name) !== null || name === CHECKPOINT_FILE)) return true;
  if (names.some((name) => writerSlot(name) !== null && statSync(join(dir, name)).isDirectory())) return true;
  // Where a writer puts a chain: an empty one there lost its files, which verify must report.
  const parent = dirname(dir);
  if (basename(dir) === 'audit' && isDataDir(parent)) return true;
  return writerSlot(basename(dir)) !== null && basename(parent) === 'audit' && isDataDir(dirname(parent));
}

function isDataDir(dir: string): boolean {
  return DATA_DIR_MARKERS.some((name) => existsSync(join(dir, name)));
}

/** Whether a file's first line is an audit record (a renamed or copied log file still verifies). */
function looksLikeRecords(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, read);
    const newline = text.indexOf('\n');
    const record = parseRecord(newline < 0 ? text : text.slice(0, newline));
    return record !== null && typeof record.prev === 'string' && typeof record.hash === 'string';
  } finally {
    closeSync(fd);
  }
}

function chainName(slot: number): string {
  return slot === 1 ? 'main' : `writer-${slot}`;
}

const POLL_MS = 250;

/** One record read back, with the chain it came from, for merging chains by time. */
interface Read {
  record: AuditRecord;
  slot: number;
}

/** Where following a chain stands: the file being read and how far. */
interface Follow {
  slot: number;
  dir: string;
  file: LogFile | undefined;
  offset: number;
  carry: string;
}

/**
 * Prints the last `n` records of every chain merged by time, then (with follow) new ones as any
 * writer adds them, including a writer that starts later, until `signal` aborts.
 */
export async function auditTail(
  opts: { dataDir: string; n: number; follow: boolean; signal?: AbortSignal | undefined },
  io: Io,
): Promise<number> {
  if (!Number.isInteger(opts.n) || opts.n < 0) throw new UsageError('-n must be a whole number');
  const root = join(opts.dataDir, 'audit');
  if (!existsSync(root)) throw new UsageError(`no audit log at ${root}`);

  const following = new Map<number, Follow>();
  const recent: Read[] = [];
  for (const chain of listChains(root)) {
    const files = listLogFiles(chain.dir);
    const newest = files.at(-1);
    // Where following starts: just past the last whole line of the newest file as it is now.
    const offset = newest ? endOfLastLine(newest.path, (await stat(newest.path)).size) : 0;
    following.set(chain.slot, { slot: chain.slot, dir: chain.dir, file: newest, offset, carry: '' });
    let taken = 0;
    for (let f = files.length - 1; f >= 0 && taken < opts.n; f--) {
      const file = files[f] as LogFile;
      const end = file === newest ? offset : (await stat(file.path)).size;
      for (const { line } of linesBackward(file.path, end)) {
        const record = parseRecord(line);
        if (record === null) continue;
        recent.push({ record, slot: chain.slot });
        if (++taken === opts.n) break;
      }
    }
  }
  print(io, recent.sort(byTime).slice(Math.max(0, recent.length - opts.n)));
  if (!opts.follow) return EXIT_OK;

  const signal = opts.signal;
  while (!signal?.aborted) {
    // A writer that started after us: follow its chain from its first record.
    for (const chain of listChains(root)) {
      if (!following.has(chain.slot)) {
        following.set(chain.slot, {
          slot: chain.slot,
          dir: chain.dir,
          file: undefined,
          offset: 0,
          carry: '',
        });
      }
    }
    const fresh: Read[] = [];
    for (const state of following.values()) await drain(state, fresh);
    print(io, fresh.sort(byTime));
    if (fresh.length > 0) continue;
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      break;
    }
  }
  return EXIT_OK;
}

/** Reads what one chain has added since the last call, moving on to newer files (rotation). */
async function drain(state: Follow, into: Read[]): Promise<void> {
  for (;;) {
    if (state.file && (await readNew(state, into)) > 0) continue;
    let files: LogFile[];
    try {
      files = listLogFiles(state.dir);
    } catch {
      return;
    }
    const next = files.find((file) => file.index > (state.file?.index ?? 0));
    if (!next) return;
    // A newer file means the writer is done with this one: one last read catches its final lines.
    if (state.file && (await readNew(state, into)) > 0) continue;
    state.file = next;
    state.offset = 0;
    state.carry = '';
  }
}

/** Appends the chain's whole new lines to `into`; returns how many bytes were read. */
async function readNew(state: Follow, into: Read[]): Promise<number> {
  const read = await readFrom((state.file as LogFile).path, state.offset);
  state.offset += read.bytes;
  const lines = (state.carry + read.text).split('\n');
  state.carry = lines.pop() ?? '';
  for (const line of lines) {
    const record = parseRecord(line);
    if (record !== null) into.push({ record, slot: state.slot });
  }
  return read.bytes;
}

/** Oldest first by time; equal times by chain, then seq. */
function byTime(a: Read, b: Read): number {
  const at = String(a.record.ts);
  const bt = String(b.record.ts);
  if (at !== bt) return at < bt ? -1 : 1;
  return a.slot !== b.slot ? b.slot - a.slot : a.record.seq - b.record.seq;
}

function print(io: Io, reads: Read[]): void {
  for (const { record, slot } of reads) io.out(formatRecord(record, slot));
}

/** One record as a readable line: time, seq, event, agent, server/tool, decision, rule, reason, extras. */
export function formatRecord(record: AuditRecord, chain = 1): string {
  const parts = [
    record.ts,
    // seq counts per chain: records of writer slot N are marked wN.
    chain === 1 ? `#${record.seq}` : `w${chain}#${record.seq}`,
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
  'path',
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
