// Checks each line of a chunk of audit log on its own (parse, fields, hash), so verify.ts can stream a
// file a chunk at a time instead of holding it whole; linking records into one chain is left to it.
import { isUtf8 } from 'node:buffer';
import { chainHash, parseLine } from './chain.js';
import { scanWriterLine } from './scan.js';

export const LINE_OK = 0;
export const LINE_INVALID_JSON = 1;
export const LINE_BAD_FIELDS = 2;
export const LINE_HASH_MISMATCH = 3;
export const LINE_INVALID_UTF8 = 4;

/** A chain_break record the writer left (rare, so kept apart from the arrays). */
export interface ChunkBreak {
  index: number;
  problem: string;
  reason: string;
  lastGoodSeq: number | null;
}

/** Per-line results of a chunk, in line order. */
export interface ChunkCheck {
  count: number;
  status: Uint8Array;
  /** The seq the line claims (NaN when it has none). */
  seq: Float64Array;
  prev: string[];
  hash: string[];
  breaks: ChunkBreak[];
}

/**
 * `bytes` is whole lines separated by '\n' (no trailing newline). The writer only writes UTF-8, and
 * decoding maps invalid bytes to U+FFFD, so a record holding U+FFFD could have its bytes changed
 * without changing its text or hash: lines that are not UTF-8 are marked as such.
 */
export function checkChunk(bytes: Buffer): ChunkCheck {
  const result = checkLines(bytes.toString('utf8'));
  if (isUtf8(bytes)) return result;
  // Decoding never consumes a '\n' into a replacement character, so the line counts agree.
  let start = 0;
  for (let i = 0; i < result.count; i++) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    if (!isUtf8(bytes.subarray(start, end))) result.status[i] = LINE_INVALID_UTF8;
    start = end + 1;
  }
  return result;
}

/** `text` is whole lines separated by '\n' (no trailing newline). */
function checkLines(text: string): ChunkCheck {
  const lines = text.split('\n');
  const count = lines.length;
  const status = new Uint8Array(count);
  const seqs = new Float64Array(count).fill(Number.NaN);
  const prevs: string[] = new Array<string>(count).fill('');
  const hashes: string[] = new Array<string>(count).fill('');
  const breaks: ChunkBreak[] = [];
  for (let i = 0; i < count; i++) {
    const line = lines[i] as string;
    let seq: unknown;
    let prev: unknown;
    let hash: unknown;
    let canonical: string;
    let record: Record<string, unknown> | null = null;
    // Lines as the writer formats them are read without building objects; the rest are parsed.
    const fast = scanWriterLine(line);
    if (fast) {
      ({ seq, prev, hash, canonical } = fast);
    } else {
      try {
        ({ record, hash, canonical } = parseLine(line));
      } catch {
        status[i] = LINE_INVALID_JSON;
        continue;
      }
      ({ seq, prev } = record);
    }
    if (Number.isSafeInteger(seq)) seqs[i] = seq as number;
    if (
      !Number.isSafeInteger(seq) ||
      typeof prev !== 'string' ||
      prev.length !== 64 ||
      typeof hash !== 'string' ||
      hash.length !== 64
    ) {
      status[i] = LINE_BAD_FIELDS;
      continue;
    }
    prevs[i] = prev;
    hashes[i] = hash;
    if (chainHash(prev, canonical) !== hash) {
      status[i] = LINE_HASH_MISMATCH;
      continue;
    }
    if (fast ? fast.event === 'chain_break' : record?.event === 'chain_break') {
      const full = record ?? (JSON.parse(line) as Record<string, unknown>);
      const lastGood = full.last_good_seq;
      breaks.push({
        index: i,
        problem: String(full.problem),
        reason: String(full.reason),
        lastGoodSeq: Number.isSafeInteger(lastGood) ? (lastGood as number) : null,
      });
    }
  }
  return { count, status, seq: seqs, prev: prevs, hash: hashes, breaks };
}
