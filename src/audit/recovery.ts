// What the writer finds on disk when it opens or reopens the log: where the chain ends, and
// whether it may continue there, must first remove a torn line, or must record a break.
import { statSync } from 'node:fs';
import { sha256Hex } from '../util/index.js';
import { GENESIS_HASH } from './chain.js';
import { lastCheckpoint } from './checkpoints.js';
import {
  type Checkpoint,
  endOfLastLine,
  type LogFile,
  linesBackward,
  listLogFiles,
  readRange,
  selfValidRecord,
  type ValidRecord,
} from './files.js';
import { AuditWriteError } from './types.js';

/** Problems the log records in a `chain_break` record when it reopens over an unexpected tail. */
export type ChainBreakProblem = 'torn_tail' | 'damaged_tail' | 'truncated' | 'files_missing' | 'diverged';

/** The chain head: the last record's seq and hash. */
export interface Head {
  seq: number;
  hash: string;
}

/** What a chain_break record says. */
export interface ChainBreak {
  problem: ChainBreakProblem;
  reason: string;
  file: string | null;
  good: ValidRecord | null;
  expected: Head | null;
  seq: number;
  discarded?: Buffer;
}

/** How to go on from what is on disk. */
export type Plan =
  /** The chain continues: append to `file`, or create the first file when there is none. */
  | { kind: 'append'; file: LogFile | null }
  /** The newest file ends in an unfinished line: cut it to `goodEnd`, then record `chainBreak` there. */
  | { kind: 'torn'; file: LogFile; goodEnd: number; chainBreak: ChainBreak }
  /** Anything else: leave every file as evidence and start file `index` with `chainBreak`. */
  | { kind: 'break'; index: number; chainBreak: ChainBreak };

export interface DiskState {
  /** The newest record on disk that hashes correctly on its own. */
  good: ValidRecord | null;
  checkpoint: Checkpoint | null;
  plan: Plan;
}

/**
 * Reads the chain head off disk and compares it with `expected` (what this process last wrote,
 * null on first open) and the last checkpoint. `lastIndex` is the newest file index this process
 * used, so a new file never reuses one that was removed.
 */
export function inspectLog(dir: string, expected: Head | null, lastIndex: number): DiskState {
  if (!statSync(dir).isDirectory()) throw new AuditWriteError(`audit directory ${dir} is not a directory`);
  const files = listLogFiles(dir);
  const checkpoint = lastCheckpoint(dir);
  const newIndex = Math.max(files.at(-1)?.index ?? 0, lastIndex) + 1;

  // The newest non-empty file decides; empty files after it are left as they are.
  let newest = -1;
  for (let i = files.length - 1; i >= 0 && newest < 0; i--) if (fileSize(files[i] as LogFile) > 0) newest = i;
  const newestFile = files[newest] ?? null;
  const tail = newestFile ? scanTail(newestFile.path, fileSize(newestFile)) : null;
  let good = tail?.good ?? null;
  for (let i = newest - 1; good === null && i >= 0; i--) good = scanTail((files[i] as LogFile).path).good;

  const breakAt = (problem: ChainBreakProblem, reason: string, against = expected): DiskState => {
    const seq = Math.max(good?.seq ?? 0, checkpoint?.seq ?? 0, expected?.seq ?? 0) + 1;
    const chainBreak = { problem, reason, file: newestFile?.name ?? null, good, expected: against, seq };
    return { good, checkpoint, plan: { kind: 'break', index: newIndex, chainBreak } };
  };
  const fromCheckpoint = checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : null;

  if (tail && newestFile) {
    if (tail.damaged) {
      return breakAt(
        'damaged_tail',
        `${newestFile.name} ends with a record that is not valid JSON or does not match its hash`,
      );
    }
    if (tail.torn.length > 0 && newest !== files.length - 1) {
      return breakAt(
        'damaged_tail',
        `${newestFile.name} ends in the middle of a line but is not the newest file`,
      );
    }
  } else if (expected || checkpoint) {
    return breakAt(
      'files_missing',
      `no audit files in ${dir}, but the chain had reached seq ${expected?.seq ?? checkpoint?.seq}`,
      expected ?? fromCheckpoint,
    );
  }
  if (expected && (good?.seq !== expected.seq || good.hash !== expected.hash)) {
    return breakAt(
      'diverged',
      `the newest record on disk (seq ${good?.seq ?? 0}) is not the last one this process wrote (seq ${expected.seq})`,
    );
  }
  if (checkpoint && (good?.seq ?? 0) < checkpoint.seq) {
    return breakAt(
      'truncated',
      `the log ends at seq ${good?.seq ?? 0} but checkpoint ${checkpoint.seq} exists: records were cut off`,
      fromCheckpoint,
    );
  }
  if (checkpoint && good?.seq === checkpoint.seq && good.hash !== checkpoint.hash) {
    return breakAt('diverged', `record ${good.seq} does not match its checkpoint`, fromCheckpoint);
  }
  if (tail && newestFile && tail.torn.length > 0) {
    // A write cut short (crash, full disk): remove the partial line, keep its bytes in the record.
    const chainBreak: ChainBreak = {
      problem: 'torn_tail',
      reason: `${newestFile.name} ended with ${tail.torn.length} bytes of an unfinished record; they were removed`,
      file: newestFile.name,
      good,
      expected,
      seq: (good?.seq ?? 0) + 1,
      discarded: tail.torn,
    };
    return { good, checkpoint, plan: { kind: 'torn', file: newestFile, goodEnd: tail.goodEnd, chainBreak } };
  }
  return { good, checkpoint, plan: { kind: 'append', file: files.at(-1) ?? null } };
}

const DISCARDED_TEXT_LIMIT = 4096;

/** The fields of the chain_break record the log writes for `info`. */
export function chainBreakFields(info: ChainBreak): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    event: 'chain_break',
    problem: info.problem,
    reason: info.reason,
    file: info.file,
    last_good_seq: info.good?.seq ?? 0,
    last_good_hash: info.good?.hash ?? GENESIS_HASH,
    expected_seq: info.expected?.seq ?? null,
    expected_hash: info.expected?.hash ?? null,
  };
  if (info.discarded) {
    fields.discarded_bytes = info.discarded.length;
    fields.discarded_sha256 = sha256Hex(info.discarded);
    fields.discarded_base64 = info.discarded.subarray(0, DISCARDED_TEXT_LIMIT).toString('base64');
  }
  return fields;
}

interface Tail {
  /** The newest record that hashes correctly on its own. */
  good: ValidRecord | null;
  /** Offset just past the last newline. */
  goodEnd: number;
  /** Bytes after the last newline: a line whose write was cut short. */
  torn: Buffer;
  /** A complete line after `good` (or in place of any good record) is not a valid record. */
  damaged: boolean;
}

function scanTail(path: string, size = statSync(path).size): Tail {
  const goodEnd = endOfLastLine(path, size);
  const torn = readRange(path, goodEnd, size);
  let damaged = false;
  for (const { line } of linesBackward(path, goodEnd)) {
    const record = selfValidRecord(line);
    if (record) return { good: record, goodEnd, torn, damaged };
    damaged = true;
  }
  return { good: null, goodEnd, torn, damaged };
}

function fileSize(file: LogFile): number {
  const stat = statSync(file.path);
  if (!stat.isFile()) throw new AuditWriteError(`audit file ${file.path} is not a regular file`);
  return stat.size;
}
