// The audit log writer: redacts, hash-chains, appends and rotates JSONL records, and keeps checkpoints.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { canonicalJson, chainHash, formatLine, GENESIS_HASH } from './chain.js';
import {
  CHECKPOINT_FILE,
  type Checkpoint,
  type LogFile,
  linesBackward,
  listLogFiles,
  logFileName,
  parseCheckpoint,
  readRange,
  selfValidRecord,
  type ValidRecord,
} from './files.js';
import { loadOrCreateHmacKey, Redactor } from './redact.js';
import {
  type AuditEvent,
  type AuditEventKind,
  type AuditRecord,
  type AuditSink,
  type AuditStatus,
  AuditWriteError,
} from './types.js';

export interface AuditLogOptions {
  /** The data directory: the log goes to <dataDir>/audit/, the HMAC key to <dataDir>/audit-hmac.key. */
  dataDir: string;
  /** Overrides the audit directory. */
  dir?: string | undefined;
  /** Overrides where the HMAC key is read from (created there, mode 0600, when missing). */
  hmacKeyPath?: string | undefined;
  /** Extra key patterns to redact (case-insensitive regular expressions), e.g. the policy's `audit.redact`. */
  redact?: readonly string[] | undefined;
  /** Rotate to a new file before one would grow past this many bytes. Default 50 MiB. */
  maxFileBytes?: number | undefined;
  /** `interval` (default): fdatasync every fsyncIntervalMs; `always`: before every append resolves. */
  fsync?: 'interval' | 'always' | undefined;
  /** Default 1000 ms. Also how often a failed log retries opening its directory. */
  fsyncIntervalMs?: number | undefined;
  /** Write a checkpoint after this many records. Default 10,000. */
  checkpointEvery?: number | undefined;
  /** Write a checkpoint this often when records were added since the last one. Default 10 s. */
  checkpointIntervalMs?: number | undefined;
  /** The clock for `ts` (tests). */
  now?: (() => Date) | undefined;
}

export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;

/** Problems the log records in a `chain_break` record when it reopens over an unexpected tail. */
export type ChainBreakProblem = 'torn_tail' | 'damaged_tail' | 'truncated' | 'files_missing' | 'diverged';

const CALLER_KINDS: ReadonlySet<AuditEventKind> = new Set([
  'decision',
  'approval',
  'execution',
  'policy_reload',
  'upstream',
]);
/** Top-level fields that describe the call rather than carry its data: never masked by their name. */
const PLAIN_FIELDS = new Set([
  'event',
  'correlation_id',
  'agent',
  'server',
  'tool',
  'decision',
  'rule',
  'reason',
  'policy_sha256',
]);
const DISCARDED_TEXT_LIMIT = 4096;

interface Pending {
  event: AuditEvent;
  resolve: (record: AuditRecord) => void;
  reject: (error: AuditWriteError) => void;
}

interface Built {
  record: AuditRecord;
  line: string;
  bytes: number;
}

interface ChainBreak {
  problem: ChainBreakProblem;
  reason: string;
  file: string | null;
  good: ValidRecord | null;
  expected: { seq: number; hash: string } | null;
  seq: number;
  discarded?: Buffer;
}

export class AuditLog implements AuditSink {
  readonly dir: string;
  readonly #redactor: Redactor;
  readonly #maxFileBytes: number;
  readonly #fsyncAlways: boolean;
  readonly #checkpointEvery: number;
  readonly #checkpointIntervalMs: number;
  readonly #now: () => Date;
  readonly #timer: NodeJS.Timeout;

  #fd: number | null = null;
  #file: LogFile | null = null;
  #identity: { dev: number; ino: number } | null = null;
  #size = 0;
  #dirty = false;
  #seq = 0;
  #prev = GENESIS_HASH;
  /** True once this process knows the chain head (so a reopen compares the disk with it). */
  #known = false;
  #checkpointSeq = 0;
  #checkpointAt = 0;
  #failure: { error: string; since: string } | null = null;
  #queue: Pending[] = [];
  #scheduled = false;
  #closed = false;

  private constructor(options: AuditLogOptions, redactor: Redactor, dir: string) {
    this.dir = dir;
    this.#redactor = redactor;
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#fsyncAlways = options.fsync === 'always';
    this.#checkpointEvery = options.checkpointEvery ?? 10_000;
    this.#checkpointIntervalMs = options.checkpointIntervalMs ?? 10_000;
    this.#now = options.now ?? (() => new Date());
    this.#checkpointAt = Date.now();
    this.#timer = setInterval(() => this.#tick(), options.fsyncIntervalMs ?? 1000);
    this.#timer.unref();
  }

  /**
   * Opens (creating if needed) the log and continues its chain. Over a tail that does not continue
   * the chain it starts a new file with a `chain_break` record (see README). Throws AuditWriteError
   * when the directory cannot be used, so a proxy never runs without its audit trail.
   */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const dir = options.dir ?? join(options.dataDir, 'audit');
    let log: AuditLog | undefined;
    try {
      makeDirectory(options.dataDir);
      makeDirectory(dir);
      const key = loadOrCreateHmacKey(options.hmacKeyPath ?? join(options.dataDir, 'audit-hmac.key'));
      log = new AuditLog(options, new Redactor(key, options.redact ?? []), dir);
      log.#resume();
      return log;
    } catch (error) {
      if (log) clearInterval(log.#timer);
      if (log && log.#fd !== null) closeSync(log.#fd);
      if (error instanceof AuditWriteError) throw error;
      throw new AuditWriteError(`cannot open audit log in ${dir}: ${describe(error)}`, 'io', {
        cause: error,
      });
    }
  }

  /** Resolves with the record as written (redacted, chained) once it is on disk. */
  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#closed) return Promise.reject(new AuditWriteError('the audit log is closed', 'closed'));
    return new Promise<AuditRecord>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Everything appended in the same tick is written with one write(): one syscall, one order.
        queueMicrotask(() => this.#drain());
      }
    });
  }

  status(): AuditStatus {
    if (this.#failure) return { ok: false, dir: this.dir, ...this.#failure };
    return { ok: true, dir: this.dir, file: this.#file?.path ?? null, seq: this.#seq, hash: this.#prev };
  }

  /** The extra redaction patterns, e.g. after a policy reload. Throws RedactPatternError. */
  /** `value` with secret-looking keys masked exactly as the log stores them (same key, same patterns). */
  redact(value: unknown): unknown {
    return this.#redactor.redact(value);
  }

  setRedactPatterns(patterns: readonly string[]): void {
    this.#redactor.setPatterns(patterns);
  }

  /** Forces everything written so far to disk and records a checkpoint. */
  async checkpoint(): Promise<void> {
    this.#drain();
    if (this.#fd === null) throw new AuditWriteError(this.#failure?.error ?? 'the audit log is not open');
    try {
      this.#writeCheckpoint();
    } catch (error) {
      throw this.#fail(error);
    }
  }

  /** Writes what is queued, checkpoints, syncs and closes. Later appends reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#drain();
    this.#closed = true;
    clearInterval(this.#timer);
    try {
      if (this.#fd !== null && !this.#failure) this.#writeCheckpoint();
    } catch {
      // Closing anyway: the records themselves were written; a missing last checkpoint only
      // narrows what a cut-off tail would reveal.
    } finally {
      this.#closeFile();
    }
  }

  // ---- writing ----

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const item of batch) item.reject(new AuditWriteError('the audit log is closed', 'closed'));
      return;
    }
    try {
      this.#ensureOpen();
    } catch (error) {
      const failure = this.#fail(error);
      for (const item of batch) item.reject(failure);
      return;
    }
    let lines: string[] = [];
    let written: Array<{ item: Pending; built: Built }> = [];
    let bytes = 0;
    let seq = this.#seq;
    let prev = this.#prev;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i] as Pending;
      let built: Built;
      try {
        built = this.#build(item.event, seq + 1, prev);
      } catch (error) {
        item.reject(
          error instanceof AuditWriteError
            ? error
            : new AuditWriteError(`audit event is not JSON: ${describe(error)}`, 'invalid_event', {
                cause: error,
              }),
        );
        continue;
      }
      if (this.#size + bytes > 0 && this.#size + bytes + built.bytes > this.#maxFileBytes) {
        try {
          this.#commit(lines, written, bytes);
          this.#rotate();
        } catch (error) {
          const failure = this.#fail(error);
          for (const rest of batch.slice(i)) rest.reject(failure);
          return;
        }
        lines = [];
        written = [];
        bytes = 0;
      }
      lines.push(built.line);
      written.push({ item, built });
      bytes += built.bytes;
      seq = built.record.seq;
      prev = built.record.hash;
    }
    try {
      this.#commit(lines, written, bytes);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (this.#seq - this.#checkpointSeq >= this.#checkpointEvery) {
      try {
        this.#writeCheckpoint();
      } catch (error) {
        this.#fail(error);
      }
    }
  }

  /** Writes lines to the current file and settles their appends; on failure rejects them and throws. */
  #commit(lines: string[], items: Array<{ item: Pending; built: Built }>, bytes: number): void {
    if (lines.length === 0) return;
    try {
      this.#checkIdentity();
      this.#writeAll(lines.join(''), bytes);
      if (this.#fsyncAlways) this.#sync();
    } catch (error) {
      const failure = this.#fail(error);
      for (const { item } of items) item.reject(failure);
      throw failure;
    }
    const last = (items.at(-1) as { built: Built }).built.record;
    this.#seq = last.seq;
    this.#prev = last.hash;
    this.#known = true;
    this.#failure = null;
    for (const { item, built } of items) item.resolve(built.record);
  }

  #build(event: AuditEvent, seq: number, prev: string): Built {
    if (typeof event !== 'object' || event === null || !CALLER_KINDS.has(event.event)) {
      throw new AuditWriteError(`unknown audit event kind ${JSON.stringify(event?.event)}`, 'invalid_event');
    }
    const record: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (value === undefined || key === 'seq' || key === 'ts' || key === 'prev' || key === 'hash') continue;
      // defineProperty, not assignment: a field named __proto__ stays a field (see Redactor.redact).
      Object.defineProperty(record, key, {
        value:
          !PLAIN_FIELDS.has(key) && this.#redactor.isSecretKey(key)
            ? this.#redactor.mask(value)
            : this.#redactor.redact(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return this.#seal(record, seq, prev);
  }

  #seal(fields: Record<string, unknown>, seq: number, prev: string): Built {
    const record = {
      ...fields,
      agent: fields.agent ?? null,
      correlation_id: fields.correlation_id ?? null,
      seq,
      ts: this.#now().toISOString(),
      prev,
    };
    const canonical = canonicalJson(record);
    const hash = chainHash(prev, canonical);
    const line = formatLine(canonical, hash);
    return { record: { ...record, hash } as AuditRecord, line, bytes: Buffer.byteLength(line) };
  }

  #writeAll(text: string, bytes: number): void {
    const fd = this.#fd as number;
    const buffer = Buffer.from(text);
    let done = 0;
    try {
      while (done < bytes) done += writeSync(fd, buffer, done, bytes - done);
    } catch (error) {
      // Take back a partial line so the file still ends on a whole record; if even that fails,
      // the reopen finds a torn tail and records it.
      if (done > 0) {
        try {
          ftruncateSync(fd, this.#size);
        } catch {}
      }
      throw error;
    }
    this.#size += bytes;
    this.#dirty = true;
  }

  /** Fails when the current file's path no longer names the file we hold open (moved, deleted, replaced). */
  #checkIdentity(): void {
    const file = this.#file as LogFile;
    const stat = statSync(file.path, { throwIfNoEntry: false });
    const identity = this.#identity;
    if (!stat || !identity || stat.ino !== identity.ino || stat.dev !== identity.dev) {
      throw new AuditWriteError(`audit file ${file.path} was moved, deleted or replaced`);
    }
  }

  #sync(): void {
    if (this.#fd !== null && this.#dirty) {
      fdatasyncSync(this.#fd);
      this.#dirty = false;
    }
  }

  #rotate(): void {
    this.#writeCheckpoint();
    const next = (this.#file?.index ?? 0) + 1;
    this.#closeFile();
    this.#openFile({ index: next, name: logFileName(next), path: join(this.dir, logFileName(next)) }, true);
  }

  #openFile(file: LogFile, create: boolean): void {
    const fd = openSync(file.path, create ? 'ax' : 'a', 0o600);
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      closeSync(fd);
      throw new AuditWriteError(`audit file ${file.path} is not a regular file`);
    }
    this.#fd = fd;
    this.#file = file;
    this.#identity = { dev: stat.dev, ino: stat.ino };
    this.#size = stat.size;
    this.#dirty = false;
    if (create) syncDirectory(this.dir);
  }

  #closeFile(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      if (this.#dirty) fdatasyncSync(fd);
    } catch {
      // The descriptor is going away either way; a later reopen compares the disk with memory.
    } finally {
      this.#dirty = false;
      closeSync(fd);
    }
  }

  #fail(error: unknown): AuditWriteError {
    const failure =
      error instanceof AuditWriteError
        ? error
        : new AuditWriteError(`audit log write failed: ${describe(error)}`, 'io', { cause: error });
    this.#failure = { error: failure.message, since: new Date().toISOString() };
    // Drop the descriptor: the next append (or the timer) reopens and checks the disk first.
    try {
      this.#closeFile();
    } catch {}
    return failure;
  }

  // ---- checkpoints ----

  #writeCheckpoint(): void {
    if (this.#fd === null || this.#seq === 0 || this.#seq === this.#checkpointSeq) return;
    // The log is synced first, so a checkpoint never names a record a power loss could take back.
    fdatasyncSync(this.#fd);
    this.#dirty = false;
    const checkpoint: Checkpoint = {
      seq: this.#seq,
      hash: this.#prev,
      ts: this.#now().toISOString(),
      file: (this.#file as LogFile).name,
    };
    const path = join(this.dir, CHECKPOINT_FILE);
    const fd = openSync(path, 'a', 0o600);
    try {
      const size = fstatSync(fd).size;
      const buffer = Buffer.from(`${JSON.stringify(checkpoint)}\n`);
      try {
        let done = 0;
        while (done < buffer.length) done += writeSync(fd, buffer, done, buffer.length - done);
        fdatasyncSync(fd);
      } catch (error) {
        try {
          ftruncateSync(fd, size);
        } catch {}
        throw error;
      }
    } finally {
      closeSync(fd);
    }
    this.#checkpointSeq = this.#seq;
    this.#checkpointAt = Date.now();
  }

  /** The newest well-formed checkpoint; a torn last line (a write cut short) is removed first. */
  #lastCheckpoint(): Checkpoint | null {
    const path = join(this.dir, CHECKPOINT_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, Buffer.byteLength(text.slice(0, end)));
      } finally {
        closeSync(fd);
      }
    }
    const lines = text.slice(0, end).split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const checkpoint = parseCheckpoint(lines[i] as string);
      if (checkpoint) return checkpoint;
    }
    return null;
  }

  // ---- opening and recovery ----

  #ensureOpen(): void {
    if (this.#fd === null) this.#resume();
  }

  /** Finds the chain head on disk, compares it with what we know, and opens the file to append to. */
  #resume(): void {
    const stat = statSync(this.dir);
    if (!stat.isDirectory()) throw new AuditWriteError(`audit directory ${this.dir} is not a directory`);
    const files = listLogFiles(this.dir);
    const checkpoint = this.#lastCheckpoint();
    const expected = this.#known ? { seq: this.#seq, hash: this.#prev } : null;
    const lastIndex = Math.max(files.at(-1)?.index ?? 0, this.#file?.index ?? 0);

    let chainBreak: Omit<ChainBreak, 'seq'> | null = null;
    let good: ValidRecord | null = null;
    let tornFile: { file: LogFile; goodEnd: number; torn: Buffer } | null = null;

    // The newest non-empty file decides; empty files after it are left as they are.
    let newest = -1;
    for (let i = files.length - 1; i >= 0; i--) {
      if (fileSize(files[i] as LogFile) > 0) {
        newest = i;
        break;
      }
    }
    if (newest >= 0) {
      const file = files[newest] as LogFile;
      const tail = scanTail(file.path, fileSize(file));
      good = tail.good;
      for (let i = newest - 1; good === null && i >= 0; i--) good = scanTail((files[i] as LogFile).path).good;
      if (tail.damaged) {
        chainBreak = {
          problem: 'damaged_tail',
          reason: `${file.name} ends with a record that is not valid JSON or does not match its hash`,
          file: file.name,
          good,
          expected,
        };
      } else if (tail.torn.length > 0) {
        if (newest === files.length - 1) {
          tornFile = { file, goodEnd: tail.goodEnd, torn: tail.torn };
        } else {
          chainBreak = {
            problem: 'damaged_tail',
            reason: `${file.name} ends in the middle of a line but is not the newest file`,
            file: file.name,
            good,
            expected,
          };
        }
      }
    } else if (expected || checkpoint) {
      chainBreak = {
        problem: 'files_missing',
        reason: `no audit files in ${this.dir}, but the chain had reached seq ${expected?.seq ?? checkpoint?.seq}`,
        file: null,
        good: null,
        expected: expected ?? (checkpoint ? { seq: checkpoint.seq, hash: checkpoint.hash } : null),
      };
    }

    if (!chainBreak && expected && (good?.seq !== expected.seq || good.hash !== expected.hash)) {
      chainBreak = {
        problem: 'diverged',
        reason: `the newest record on disk (seq ${good?.seq ?? 0}) is not the last one this process wrote (seq ${expected.seq})`,
        file: files[newest]?.name ?? null,
        good,
        expected,
      };
    }
    if (!chainBreak && checkpoint) {
      if ((good?.seq ?? 0) < checkpoint.seq) {
        chainBreak = {
          problem: 'truncated',
          reason: `the log ends at seq ${good?.seq ?? 0} but checkpoint ${checkpoint.seq} exists: records were cut off`,
          file: files[newest]?.name ?? null,
          good,
          expected: { seq: checkpoint.seq, hash: checkpoint.hash },
        };
      } else if (good?.seq === checkpoint.seq && good.hash !== checkpoint.hash) {
        chainBreak = {
          problem: 'diverged',
          reason: `record ${good.seq} does not match its checkpoint`,
          file: files[newest]?.name ?? null,
          good,
          expected: { seq: checkpoint.seq, hash: checkpoint.hash },
        };
      }
    }

    if (chainBreak) {
      // Existing files are evidence: never touched. A new file starts with the break on record.
      const seq = Math.max(good?.seq ?? 0, checkpoint?.seq ?? 0, expected?.seq ?? 0) + 1;
      this.#seq = good?.seq ?? 0;
      this.#prev = good?.hash ?? GENESIS_HASH;
      const index = lastIndex + 1;
      this.#openFile({ index, name: logFileName(index), path: join(this.dir, logFileName(index)) }, true);
      this.#writeChainBreak({ ...chainBreak, seq });
      return;
    }
    this.#seq = good?.seq ?? 0;
    this.#prev = good?.hash ?? GENESIS_HASH;
    const last = files.at(-1);
    if (tornFile) {
      // A write cut short (crash, full disk): remove the partial line, keep its bytes in the record.
      truncateFile(tornFile.file.path, tornFile.goodEnd);
      this.#openFile(tornFile.file, false);
      this.#writeChainBreak({
        problem: 'torn_tail',
        reason: `${tornFile.file.name} ended with ${tornFile.torn.length} bytes of an unfinished record; they were removed`,
        file: tornFile.file.name,
        good,
        expected,
        seq: this.#seq + 1,
        discarded: tornFile.torn,
      });
    } else if (last) {
      this.#openFile(last, false);
    } else {
      this.#openFile({ index: 1, name: logFileName(1), path: join(this.dir, logFileName(1)) }, true);
    }
    this.#known = true;
    if (checkpoint) this.#checkpointSeq = Math.max(this.#checkpointSeq, checkpoint.seq);
  }

  #writeChainBreak(info: ChainBreak): void {
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
      fields.discarded_sha256 = createHash('sha256').update(info.discarded).digest('hex');
      fields.discarded_base64 = info.discarded.subarray(0, DISCARDED_TEXT_LIMIT).toString('base64');
    }
    const built = this.#seal(fields, info.seq, this.#prev);
    this.#writeAll(built.line, built.bytes);
    this.#sync();
    this.#seq = built.record.seq;
    this.#prev = built.record.hash;
    this.#known = true;
  }

  #tick(): void {
    if (this.#closed) return;
    try {
      if (this.#fd === null) {
        // Recovery: once the directory is usable again, reopen (recording any break) and report ok.
        this.#resume();
        this.#failure = null;
        return;
      }
      this.#sync();
      if (this.#seq > this.#checkpointSeq && Date.now() - this.#checkpointAt >= this.#checkpointIntervalMs) {
        this.#writeCheckpoint();
      }
    } catch (error) {
      this.#fail(error);
    }
  }
}

/** Convenience: `AuditLog.open(options)`. */
export function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  return AuditLog.open(options);
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
  let goodEnd = 0;
  for (const { start } of lastLineStart(path, size)) goodEnd = start;
  const torn = readRange(path, goodEnd, size);
  let damaged = false;
  for (const { line } of linesBackward(path, goodEnd)) {
    const record = selfValidRecord(line);
    if (record) return { good: record, goodEnd, torn, damaged };
    damaged = true;
  }
  return { good: null, goodEnd, torn, damaged };
}

/** Yields once: the offset just past the file's last newline (0 when it has none). */
function* lastLineStart(path: string, size: number): Generator<{ start: number }> {
  const block = 64 * 1024;
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - block);
    const buffer = readRange(path, start, end);
    const newline = buffer.lastIndexOf(10);
    if (newline >= 0) {
      yield { start: start + newline + 1 };
      return;
    }
    end = start;
  }
  yield { start: 0 };
}

function fileSize(file: LogFile): number {
  const stat = statSync(file.path);
  if (!stat.isFile()) throw new AuditWriteError(`audit file ${file.path} is not a regular file`);
  return stat.size;
}

function truncateFile(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync never returns on some paths (under
 * /proc it loops on ENOENT), and a proxy must fail to start rather than hang.
 */
function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    makeDirectory(parent);
    mkdirSync(path, { mode: 0o700 });
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fdatasyncSync(fd);
  } catch {
    // Some filesystems refuse to sync a directory; the file's own sync still holds.
  } finally {
    closeSync(fd);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
