// The audit directory's layout: log file names, checkpoints, and reading records back from disk.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { chainHash, isHexDigest, parseLine } from './chain.js';
import type { AuditRecord } from './types.js';

/** Log files are audit-000001.jsonl, audit-000002.jsonl, ...: zero-padded so they sort by name. */
const LOG_FILE = /^audit-(\d{6,})\.jsonl$/;
export const CHECKPOINT_FILE = 'checkpoints.jsonl';

export function logFileName(index: number): string {
  return `audit-${String(index).padStart(6, '0')}.jsonl`;
}

export function logFileIndex(name: string): number | null {
  const match = LOG_FILE.exec(name);
  return match?.[1] ? Number(match[1]) : null;
}

export interface LogFile {
  index: number;
  name: string;
  path: string;
}

/** The directory's log files in chain order (by index, not by name, so 7-digit indexes still sort). */
export function listLogFiles(dir: string): LogFile[] {
  const files: LogFile[] = [];
  for (const name of readdirSync(dir)) {
    const index = logFileIndex(name);
    if (index !== null) files.push({ index, name, path: join(dir, name) });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** The record on this line for display and search (not checked: that is verify's job); null when it is not one. */
export function parseRecord(line: string): AuditRecord | null {
  try {
    const record = JSON.parse(line) as AuditRecord | null;
    return typeof record === 'object' && record !== null && typeof record.seq === 'number' ? record : null;
  } catch {
    return null;
  }
}

/** A record that is consistent with itself: well-formed, and its hash covers its content. */
export interface ValidRecord {
  seq: number;
  hash: string;
  record: Record<string, unknown>;
}

/** The record on this line if it hashes correctly on its own (its place in the chain is not checked). */
export function selfValidRecord(line: string): ValidRecord | null {
  try {
    const { record, hash, canonical } = parseLine(line);
    const { seq, prev } = record;
    if (!Number.isSafeInteger(seq) || !isHexDigest(prev) || !isHexDigest(hash)) return null;
    if (chainHash(prev, canonical) !== hash) return null;
    return { seq: seq as number, hash, record };
  } catch {
    return null;
  }
}

const BLOCK = 64 * 1024;

/**
 * Complete lines of a file from the last one backwards, each with the byte offset where it starts.
 * `end` is the offset just past the last newline to consider.
 */
export function* linesBackward(path: string, end: number): Generator<{ line: string; start: number }> {
  if (end <= 0) return;
  const fd = openSync(path, 'r');
  try {
    let position = end;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, end - 1);
    if (last[0] === 10) position -= 1;
    let pieces: Buffer[] = [];
    while (position > 0) {
      const size = Math.min(BLOCK, position);
      const blockStart = position - size;
      const block = Buffer.alloc(size);
      readSync(fd, block, 0, size, blockStart);
      let cursor = size;
      for (;;) {
        const newline = cursor > 0 ? block.lastIndexOf(10, cursor - 1) : -1;
        if (newline < 0) {
          pieces.unshift(block.subarray(0, cursor));
          break;
        }
        pieces.unshift(block.subarray(newline + 1, cursor));
        yield { line: Buffer.concat(pieces).toString('utf8'), start: blockStart + newline + 1 };
        pieces = [];
        cursor = newline;
      }
      position = blockStart;
    }
    yield { line: Buffer.concat(pieces).toString('utf8'), start: 0 };
  } finally {
    closeSync(fd);
  }
}

/** The offset just past the file's last newline (0 when it has none); reads backwards from `size`. */
export function endOfLastLine(path: string, size: number): number {
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - BLOCK);
    const newline = readRange(path, start, end).lastIndexOf(10);
    if (newline >= 0) return start + newline + 1;
    end = start;
  }
  return 0;
}

/** Bytes [start, end) of a file. */
export function readRange(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    let done = 0;
    while (done < buffer.length) {
      const read = readSync(fd, buffer, done, buffer.length - done, start + done);
      if (read === 0) break;
      done += read;
    }
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** A periodic note of the chain's head, kept apart from the log so a cut-off tail is detectable. */
export interface Checkpoint {
  seq: number;
  hash: string;
  ts: string;
  file: string;
}

/** Parses one checkpoints.jsonl line; null when it is not a well-formed checkpoint. */
export function parseCheckpoint(line: string): Checkpoint | null {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null) return null;
    const { seq, hash, ts, file } = value;
    if (!Number.isSafeInteger(seq) || (seq as number) < 1 || !isHexDigest(hash)) return null;
    if (typeof ts !== 'string' || typeof file !== 'string') return null;
    return { seq: seq as number, hash, ts, file };
  } catch {
    return null;
  }
}
