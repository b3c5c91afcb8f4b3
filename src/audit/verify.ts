// Verification of an audit log: every record's hash, the chain between records and files, and the checkpoints.
import { statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GENESIS_HASH, isHexDigest } from './chain.js';
import {
  CHECKPOINT_FILE,
  type LogFile,
  listLogFiles,
  logFileIndex,
  logFileName,
  parseCheckpoint,
} from './files.js';
import {
  type ChunkBreak,
  type ChunkCheck,
  checkChunk,
  LINE_BAD_FIELDS,
  LINE_HASH_MISMATCH,
  LINE_INVALID_JSON,
  LINE_INVALID_UTF8,
} from './lines.js';
import { ChunkCheckers, defaultThreads } from './verify-pool.js';
import { type Chain, listChains, writerSlot } from './writers.js';

export { defaultThreads } from './verify-pool.js';

export type VerifyProblem =
  /** A line is not a JSON record (or the file ends in the middle of one). */
  | 'invalid_json'
  /** A record's content does not match its own hash. */
  | 'edited'
  /** One or more records are missing. */
  | 'deleted'
  /** Records are out of order. */
  | 'reordered'
  /** A record's `prev` is not the previous record's hash (one before it was rewritten). */
  | 'chain_broken'
  /** The log ends before a checkpoint's seq. */
  | 'truncated'
  /** A checkpoint names a hash the log does not have at that seq. */
  | 'checkpoint_mismatch'
  /** checkpoints.jsonl holds a line that is not a checkpoint. */
  | 'checkpoint_invalid'
  /** A log file is missing from the sequence audit-000001.jsonl, audit-000002.jsonl, ... */
  | 'missing_file'
  /** The writer found the log damaged when it reopened it and said so in a chain_break record. */
  | 'chain_break'
  /** A file could not be read. */
  | 'unreadable';

/** One chain's share of an intact result. */
export interface VerifyChain {
  /** The writer slot: 1 for the audit directory's own files, N for writer-N/. */
  chain: number;
  dir: string;
  records: number;
  files: number;
  checkpoints: number;
  lastSeq: number | null;
  lastHash: string | null;
  recoveries: number;
}

export interface VerifyOk {
  ok: true;
  /** Summed over every chain. */
  records: number;
  files: number;
  checkpoints: number;
  /** How many chains were verified: the directory's own, plus one per writer-N/ subdirectory. */
  chains: number;
  /** The first chain's head (the directory's own chain). */
  lastSeq: number | null;
  lastHash: string | null;
  /** chain_break records for writes cut short (torn_tail): repaired crash damage, not tampering. */
  recoveries: number;
  /** Each chain on its own, in slot order. */
  perChain: VerifyChain[];
  /** Worker threads that checked the chunks (0: all in the calling thread). */
  threads: number;
}

export interface VerifyFailure {
  ok: false;
  /** The first seq that is broken (missing, edited, out of place); null when no seq applies. */
  seq: number | null;
  problem: VerifyProblem;
  /** One line naming the seq, what is wrong, and where (file and line, with the chain's directory). */
  message: string;
  /** The file, relative to the verified directory: audit-000003.jsonl or writer-2/audit-000001.jsonl. */
  file: string | null;
  /** 1-based line in `file`. */
  line: number | null;
  /** The writer slot of the broken chain, and its directory. */
  chain: number;
  dir: string;
  /** Records checked before the failure (earlier chains included). */
  records: number;
  files: number;
}

export type VerifyResult = VerifyOk | VerifyFailure;

class Broken extends Error {
  constructor(
    readonly seq: number | null,
    readonly problem: VerifyProblem,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const CHUNK = 4 * 1024 * 1024;

export interface VerifyOptions {
  /** Worker threads that check chunks; 0 checks them in this thread. Default: defaultThreads(). */
  threads?: number;
  /** Bytes read and checked at a time (4 MiB). */
  chunkBytes?: number;
}

/** One chain to verify, with its files listed. */
interface ChainJob {
  chain: Chain;
  files: LogFile[];
  whole: boolean;
  newest: boolean;
}

/**
 * Verifies a log directory or a single log file. A directory holds one chain per writer slot: its
 * own audit-NNNNNN.jsonl files (plus checkpoints.jsonl) and each writer-N/ subdirectory's; every
 * chain is checked on its own, in slot order, and the first failure is returned. A single file is
 * its own chain (and the checkpoints within its range). Streams the files a chunk at a time; each
 * line is checked on its own (lines.ts), on worker threads when the log is longer than a few
 * chunks (verify-pool.ts), then linked to the one before here.
 */
export async function verifyAudit(pathOrDir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const jobs = await chainJobs(pathOrDir);
  const chunkBytes = options.chunkBytes ?? CHUNK;
  const threads = options.threads ?? defaultThreads();
  // Starting threads costs tens of milliseconds: only worth it for a log of several chunks.
  const checkers = threads > 0 && logBytes(jobs) > 2 * chunkBytes ? new ChunkCheckers(threads) : null;
  try {
    const done: VerifyChain[] = [];
    for (const job of jobs) {
      const result = await verifyChain(job, chunkBytes, checkers);
      if (!result.ok) {
        for (const before of done) {
          result.records += before.records;
          result.files += before.files;
        }
        return result;
      }
      const { ok: _ok, ...counts } = result;
      done.push(counts);
    }
    return summary(done, checkers?.size ?? 0);
  } finally {
    await checkers?.close();
  }
}

/** A single file is its own chain; a directory is one chain per writer slot, in slot order. */
async function chainJobs(pathOrDir: string): Promise<ChainJob[]> {
  const info = await stat(pathOrDir);
  if (!info.isDirectory()) {
    const dir = dirname(pathOrDir);
    const name = basename(pathOrDir);
    const index = logFileIndex(name) ?? 0;
    let siblings: LogFile[] = [];
    try {
      siblings = listLogFiles(dir);
    } catch {}
    const newest = index > 0 && (siblings.at(-1)?.index ?? 0) === index;
    const chain = { slot: writerSlot(basename(dir)) ?? 1, dir, prefix: '' };
    return [{ chain, files: [{ index, name, path: pathOrDir }], whole: false, newest }];
  }
  return listChains(pathOrDir).map((chain) => {
    let files: LogFile[];
    try {
      files = listLogFiles(chain.dir);
    } catch (error) {
      // A writer directory that vanished between listing and reading is a chain gone missing.
      files = [];
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return { chain, files, whole: true, newest: true };
  });
}

/** The size of every file to read (a file that cannot be stat'ed counts 0; reading it will say why). */
function logBytes(jobs: ChainJob[]): number {
  let total = 0;
  for (const job of jobs) {
    for (const file of job.files) {
      try {
        total += statSync(file.path).size;
      } catch {}
    }
  }
  return total;
}

function summary(chains: VerifyChain[], threads: number): VerifyOk {
  const sum = (key: 'records' | 'files' | 'checkpoints' | 'recoveries') =>
    chains.reduce((total, chain) => total + chain[key], 0);
  const first = chains[0];
  return {
    ok: true,
    records: sum('records'),
    files: sum('files'),
    checkpoints: sum('checkpoints'),
    chains: chains.length,
    lastSeq: first?.lastSeq ?? null,
    lastHash: first?.lastHash ?? null,
    recoveries: sum('recoveries'),
    perChain: chains,
    threads,
  };
}

/**
 * One chain: `files` in order, read against the chain directory's checkpoints. With checkers,
 * chunks are read ahead and checked on the worker threads, a few in flight, while the results are
 * linked here strictly in file and line order, so the first failure is the same as in one thread.
 */
async function verifyChain(
  { chain, files, whole, newest }: ChainJob,
  chunkBytes: number,
  checkers: ChunkCheckers | null,
): Promise<(VerifyChain & { ok: true }) | VerifyFailure> {
  const state = new ChainState(whole);
  const ahead = checkers ? checkers.size * 2 : 0;
  const steps: Promise<Step>[] = [];
  const consumeUntil = async (left: number) => {
    while (steps.length > left) state.consume(await (steps.shift() as Promise<Step>));
  };
  const push = (step: Promise<Step>) => {
    // A step still in flight when an earlier one fails is never awaited: not an unhandled rejection.
    step.catch(() => {});
    steps.push(step);
  };
  try {
    state.checkpoints = await readCheckpoints(join(chain.dir, CHECKPOINT_FILE));
    for (const file of files) {
      push(Promise.resolve({ kind: 'file', file }));
      try {
        for await (const piece of readChunks(file.path, chunkBytes)) {
          if (!piece.terminated) push(Promise.resolve({ kind: 'unterminated' }));
          else if (checkers) push(checkers.check(piece.bytes).then((result) => ({ kind: 'chunk', result })));
          else push(Promise.resolve({ kind: 'chunk', result: checkChunk(piece.bytes) }));
          await consumeUntil(ahead);
        }
      } catch (error) {
        // A file that fails to read: what was read before it comes first (an earlier broken record
        // is the answer), and otherwise the failure is told at this file.
        if (!(error instanceof Broken)) await consumeUntil(0);
        throw error;
      }
    }
    await consumeUntil(0);
    state.finish(newest);
  } catch (error) {
    const fileName = state.file ? `${chain.prefix}${state.file.name}` : null;
    const failure = {
      ok: false as const,
      file: fileName,
      chain: chain.slot,
      dir: chain.dir,
      records: state.records,
      files: state.files,
    };
    // Where: the file and line, or (when no file applies) the chain's directory when it is not the root's own.
    const where = fileName
      ? ` (${fileName}${state.line ? ` line ${state.line}` : ''})`
      : chain.prefix
        ? ` (in ${chain.prefix})`
        : '';
    if (error instanceof Broken) {
      const at = error.seq === null ? '' : ` at seq ${error.seq}`;
      return {
        ...failure,
        seq: error.seq,
        problem: error.problem,
        message: `audit log broken${at}: ${error.detail}${where}`,
        line: state.line || null,
      };
    }
    const message = error instanceof Error ? error.message : String(error);
    return {
      ...failure,
      seq: state.nextSeq,
      problem: 'unreadable',
      message: `audit log unreadable${where}: ${message}`,
      line: null,
    };
  }
  return {
    ok: true,
    chain: chain.slot,
    dir: chain.dir,
    records: state.records,
    files: state.files,
    checkpoints: state.checkpoints.size,
    lastSeq: state.lastSeq,
    lastHash: state.lastHash,
    recoveries: state.recoveries,
  };
}

type Step =
  | { kind: 'file'; file: LogFile }
  | { kind: 'chunk'; result: ChunkCheck }
  | { kind: 'unterminated' };

/** The chain as read so far; `consume` throws Broken at the first problem. */
class ChainState {
  checkpoints = new Map<number, string>();
  records = 0;
  recoveries = 0;
  files = 0;
  file: LogFile | null = null;
  /** 1-based line of the current file last looked at. */
  line = 0;
  lastSeq: number | null = null;
  lastHash: string | null = null;
  /** A seq that was not the expected one; the next line tells a deletion from a swap. */
  #gap: { expected: number; found: number } | null = null;
  #lastIndex = 0;

  constructor(private readonly whole: boolean) {
    // A whole log starts at the genesis; a single file starts wherever its first record says.
    if (whole) this.lastHash = GENESIS_HASH;
  }

  get nextSeq(): number | null {
    return this.lastSeq === null ? (this.whole ? 1 : null) : this.lastSeq + 1;
  }

  consume(step: Step): void {
    if (step.kind === 'file') {
      this.#startFile(step.file);
      return;
    }
    if (step.kind === 'unterminated') {
      this.line += 1;
      if (this.#gap) throw this.#deleted(this.#gap);
      throw new Broken(
        this.nextSeq,
        'invalid_json',
        'the file ends in the middle of a record (a write cut short)',
      );
    }
    const result = step.result;
    let nextBreak = 0;
    for (let i = 0; i < result.count; i++) {
      this.line += 1;
      let chainBreak: ChunkBreak | undefined;
      if (result.breaks[nextBreak]?.index === i) chainBreak = result.breaks[nextBreak++];
      this.#check(
        result.status[i] as number,
        result.seq[i] as number,
        result.prev[i] as string,
        result.hash[i] as string,
        chainBreak,
      );
    }
  }

  #startFile(file: LogFile): void {
    if (this.whole) {
      const expectedIndex = this.#lastIndex + 1;
      if (file.index !== expectedIndex) {
        this.file = null;
        this.line = 0;
        throw new Broken(
          this.nextSeq,
          'missing_file',
          `${logFileName(expectedIndex)} is missing (the next file is ${file.name})`,
        );
      }
    }
    this.#lastIndex = file.index;
    this.file = file;
    this.files += 1;
    this.line = 0;
  }

  #check(status: number, seq: number, prev: string, hash: string, chainBreak: ChunkBreak | undefined): void {
    if (this.#gap) {
      const gap = this.#gap;
      if (seq === gap.expected) {
        throw new Broken(gap.expected, 'reordered', `seq ${gap.found} comes before seq ${gap.expected}`);
      }
      throw this.#deleted(gap);
    }
    const expected = this.nextSeq;
    if (status === LINE_INVALID_UTF8) throw new Broken(expected, 'invalid_json', 'a line is not valid UTF-8');
    if (status === LINE_INVALID_JSON)
      throw new Broken(expected, 'invalid_json', 'a line is not a JSON record');
    if (status === LINE_BAD_FIELDS || (this.lastHash === null && !isHexDigest(prev))) {
      throw new Broken(expected, 'invalid_json', 'a record lacks a valid seq, prev or hash');
    }
    const at = expected ?? seq;
    if (status === LINE_HASH_MISMATCH) {
      throw new Broken(at, 'edited', `record content does not match its hash (the line says seq ${seq})`);
    }
    if (chainBreak) {
      if (chainBreak.problem === 'torn_tail') {
        this.recoveries += 1;
      } else {
        throw new Broken(
          (chainBreak.lastGoodSeq ?? at - 1) + 1,
          'chain_break',
          `the writer recorded a break at seq ${seq} (${chainBreak.problem}): ${chainBreak.reason}`,
        );
      }
    }
    if (expected !== null && seq !== expected) {
      if (seq > expected) {
        this.#gap = { expected, found: seq };
        return;
      }
      throw new Broken(expected, 'reordered', `found seq ${seq} where seq ${expected} was expected`);
    }
    if (this.lastHash !== null && prev !== this.lastHash) {
      throw new Broken(
        seq,
        'chain_broken',
        `prev does not match the hash of seq ${seq - 1}: a record before it was rewritten, removed or replaced`,
      );
    }
    const checkpoint = this.checkpoints.get(seq);
    if (checkpoint !== undefined && checkpoint !== hash) {
      throw new Broken(seq, 'checkpoint_mismatch', `the checkpoint for seq ${seq} names another hash`);
    }
    this.records += 1;
    this.lastSeq = seq;
    this.lastHash = hash;
  }

  #deleted(gap: { expected: number; found: number }): Broken {
    const range =
      gap.found - 1 > gap.expected ? `seq ${gap.expected}..${gap.found - 1}` : `seq ${gap.expected}`;
    return new Broken(gap.expected, 'deleted', `${range} missing (the next record is seq ${gap.found})`);
  }

  finish(newest: boolean): void {
    if (this.#gap) throw this.#deleted(this.#gap);
    // The writer creates its first file on open, so a log directory without one lost everything
    // (or is not a log directory): not an intact log of nothing.
    if (this.whole && this.files === 0) {
      throw new Broken(1, 'missing_file', `${logFileName(1)} is missing (no log files at all)`);
    }
    if (!newest) return;
    let latest = 0;
    for (const seq of this.checkpoints.keys()) latest = Math.max(latest, seq);
    const last = this.lastSeq ?? 0;
    if (latest > last) {
      throw new Broken(
        last + 1,
        'truncated',
        `the log ends at seq ${last} but a checkpoint records seq ${latest}: records were cut off`,
      );
    }
  }
}

async function readCheckpoints(path: string): Promise<Map<number, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const checkpoints = new Map<number, string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const checkpoint = parseCheckpoint(line);
    if (!checkpoint) {
      const seq = /"seq"\s*:\s*(\d+)/.exec(line)?.[1];
      throw new Broken(
        seq === undefined ? null : Number(seq),
        'checkpoint_invalid',
        `${CHECKPOINT_FILE} line ${i + 1} is not a valid checkpoint`,
      );
    }
    const known = checkpoints.get(checkpoint.seq);
    if (known !== undefined && known !== checkpoint.hash) {
      throw new Broken(
        checkpoint.seq,
        'checkpoint_mismatch',
        `two checkpoints for seq ${checkpoint.seq} disagree`,
      );
    }
    checkpoints.set(checkpoint.seq, checkpoint.hash);
  }
  return checkpoints;
}

/**
 * The file in chunks of whole lines (without the final newline); a last piece without one is
 * `terminated: false`. Nothing here touches a chunk once it is yielded.
 */
async function* readChunks(
  path: string,
  chunkBytes: number,
): AsyncGenerator<{ bytes: Buffer; terminated: boolean }> {
  const handle = await open(path, 'r');
  try {
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      // Its own memory, never the shared pool's: a chunk is handed (transferred) to a checker thread.
      const buffer = Buffer.allocUnsafeSlow(carry.length + chunkBytes);
      carry.copy(buffer);
      const { bytesRead } = await handle.read(buffer, carry.length, chunkBytes, null);
      if (bytesRead === 0) break;
      const filled = buffer.subarray(0, carry.length + bytesRead);
      const newline = filled.lastIndexOf(10);
      if (newline < 0) {
        carry = filled;
        continue;
      }
      carry = Buffer.from(filled.subarray(newline + 1));
      yield { bytes: filled.subarray(0, newline), terminated: true };
    }
    if (carry.length > 0) yield { bytes: carry, terminated: false };
  } finally {
    await handle.close();
  }
}
