// The audit log writer: queues appends and writes them in order as one hash chain, rotating files,
// syncing and checkpointing on schedule, and recovering (or recording a break) when it reopens.
import { join } from 'node:path';
import type { Redaction } from '../secrets/index.js';
import { GENESIS_HASH } from './chain.js';
import { appendCheckpoint } from './checkpoints.js';
import { describeError, makeDirectory, truncateFile } from './disk.js';
import { type LogFile, logFileName } from './files.js';
import { eventFields, type Sealed, seal } from './record.js';
import { type ChainBreak, chainBreakFields, inspectLog } from './recovery.js';
import { loadOrCreateHmacKey, Redactor } from './redact.js';
import { Segment } from './segment.js';
import {
  type AuditEvent,
  type AuditRecord,
  type AuditSink,
  type AuditStatus,
  AuditWriteError,
} from './types.js';
import { chainDir, WriterLease } from './writers.js';

export type { ChainBreakProblem } from './recovery.js';

/** One append as observers are told of it: written (`record`) or failed (`error`), and how long it took. */
export interface AuditObservation {
  event: AuditEvent;
  record?: AuditRecord | undefined;
  error?: unknown;
  ms: number;
}

export interface AuditLogOptions {
  /**
   * The data directory: the log goes to <dataDir>/audit/ (or <dataDir>/audit/writer-N/ when other
   * processes already write there, see writers.ts), the HMAC key to <dataDir>/audit-hmac.key.
   */
  dataDir: string;
  /** Overrides the audit directory: this one chain, no writer slot (the caller is the only writer). */
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

interface Pending {
  event: AuditEvent;
  resolve: (record: AuditRecord) => void;
  reject: (error: AuditWriteError) => void;
}

type Written = Array<{ item: Pending; sealed: Sealed }>;

export class AuditLog implements AuditSink {
  /** The directory of this log's chain: the audit root for slot 1, <root>/writer-N/ for slot N. */
  readonly dir: string;
  /** The audit root holding every writer's chain: what readers (query, verify, the UI) are given. */
  readonly root: string;
  /** The writer slot leased for this process; null when opened with an explicit `dir`. */
  readonly slot: number | null;
  readonly #lease: WriterLease | null;
  readonly #redactor: Redactor;
  readonly #maxFileBytes: number;
  readonly #fsyncAlways: boolean;
  readonly #checkpointEvery: number;
  readonly #checkpointIntervalMs: number;
  readonly #now: () => Date;
  readonly #timer: NodeJS.Timeout;

  /** The file being appended to; null until opened and after a failure (the next write reopens). */
  #segment: Segment | null = null;
  /** The last file this process opened (kept after a failure, so a new file never reuses its index). */
  #file: LogFile | null = null;
  #seq = 0;
  #prev = GENESIS_HASH;
  /** True once this process knows the chain head (so a reopen compares the disk with it). */
  #known = false;
  #checkpointSeq = 0;
  #checkpointAt = 0;
  #failure: { error: string; since: string } | null = null;
  #queue: Pending[] = [];
  readonly #observers = new Set<(observation: AuditObservation) => void>();
  /** The chain_break records this process wrote (at open, before anyone could observe, and on recovery). */
  readonly #breaks: AuditRecord[] = [];
  #scheduled = false;
  #closed = false;

  private constructor(
    options: AuditLogOptions,
    redactor: Redactor,
    root: string,
    dir: string,
    lease: WriterLease | null,
  ) {
    this.dir = dir;
    this.root = root;
    this.slot = lease?.slot ?? null;
    this.#lease = lease;
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
    const root = options.dir ?? join(options.dataDir, 'audit');
    let lease: WriterLease | null = null;
    let log: AuditLog | undefined;
    try {
      makeDirectory(options.dataDir);
      // Once per open, never per append. Two writers on one chain would break it at once.
      if (options.dir === undefined) lease = WriterLease.acquire(options.dataDir);
      const dir = lease === null ? root : chainDir(root, lease.slot);
      makeDirectory(root);
      makeDirectory(dir);
      const key = loadOrCreateHmacKey(options.hmacKeyPath ?? join(options.dataDir, 'audit-hmac.key'));
      log = new AuditLog(options, new Redactor(key, options.redact ?? []), root, dir, lease);
      log.#resume();
      return log;
    } catch (error) {
      if (log) {
        clearInterval(log.#timer);
        log.#segment?.close();
      }
      lease?.release();
      if (error instanceof AuditWriteError) throw error;
      throw new AuditWriteError(`cannot open audit log in ${root}: ${describeError(error)}`, 'io', {
        cause: error,
      });
    }
  }

  /** Resolves with the record as written (redacted, chained) once it is on disk. */
  append(event: AuditEvent): Promise<AuditRecord> {
    if (this.#closed) {
      const closed = new AuditWriteError('the audit log is closed', 'closed');
      this.#tell({ event, error: closed, ms: 0 });
      return Promise.reject(closed);
    }
    return new Promise<AuditRecord>((resolve, reject) => {
      const observed = this.#observers.size > 0;
      const started = observed ? performance.now() : 0;
      const done = !observed
        ? { resolve, reject }
        : {
            resolve: (record: AuditRecord) => {
              resolve(record);
              this.#tell({ event, record, ms: performance.now() - started });
            },
            reject: (error: unknown) => {
              reject(error);
              this.#tell({ event, error, ms: performance.now() - started });
            },
          };
      this.#queue.push({ event, ...done });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Everything appended in the same tick is written with one write(): one syscall, one order.
        queueMicrotask(() => this.#drain());
      }
    });
  }

  /**
   * Tells `listener` of every append once it is written (or failed), with how long it took: the
   * metrics, incidents and notifications follow the log this way. A listener that throws is ignored.
   */
  observe(listener: (observation: AuditObservation) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  #tell(observation: AuditObservation): void {
    for (const listener of this.#observers) {
      try {
        listener(observation);
      } catch {
        // An observer's failure is its own; the record is written either way.
      }
    }
  }

  /** The chain_break records this process wrote since it opened the log (observers are told of later ones too). */
  chainBreaks(): readonly AuditRecord[] {
    return [...this.#breaks];
  }

  status(): AuditStatus {
    if (this.#failure) return { ok: false, dir: this.dir, ...this.#failure };
    return { ok: true, dir: this.dir, file: this.#file?.path ?? null, seq: this.#seq, hash: this.#prev };
  }

  /** `value` with secrets masked exactly as the log stores them (same key, same patterns). */
  redact(value: unknown): unknown {
    return this.#redactor.redact(value);
  }

  /** `value` as a reviewer is shown it (only what names or is a secret masked, same HMAC), and where. */
  review(value: unknown): Redaction {
    return this.#redactor.review(value);
  }

  /** The extra redaction patterns, e.g. after a policy reload. Throws RedactPatternError. */
  setRedactPatterns(patterns: readonly string[]): void {
    this.#redactor.setPatterns(patterns);
  }

  /** Forces everything written so far to disk and records a checkpoint. */
  async checkpoint(): Promise<void> {
    this.#drain();
    if (this.#segment === null)
      throw new AuditWriteError(this.#failure?.error ?? 'the audit log is not open');
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
      if (this.#segment !== null && !this.#failure) this.#writeCheckpoint();
    } catch {
      // Closing anyway: the records themselves were written; a missing last checkpoint only
      // narrows what a cut-off tail would reveal.
    } finally {
      try {
        this.#closeSegment();
      } finally {
        this.#lease?.release();
      }
    }
  }

  // ---- the append queue ----

  #drain(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const item of batch) item.reject(new AuditWriteError('the audit log is closed', 'closed'));
      return;
    }
    let segment: Segment;
    try {
      segment = this.#ensureOpen();
    } catch (error) {
      const failure = this.#fail(error);
      for (const item of batch) item.reject(failure);
      return;
    }
    let written: Written = [];
    let bytes = 0;
    let seq = this.#seq;
    let prev = this.#prev;
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i] as Pending;
      let sealed: Sealed;
      try {
        sealed = seal(eventFields(item.event, this.#redactor), seq + 1, prev, this.#now().toISOString());
      } catch (error) {
        item.reject(
          error instanceof AuditWriteError
            ? error
            : new AuditWriteError(`audit event is not JSON: ${describeError(error)}`, 'invalid_event', {
                cause: error,
              }),
        );
        continue;
      }
      if (segment.size + bytes > 0 && segment.size + bytes + sealed.bytes > this.#maxFileBytes) {
        try {
          this.#commit(written);
          segment = this.#rotate();
        } catch (error) {
          const failure = this.#fail(error);
          for (const rest of batch.slice(i)) rest.reject(failure);
          return;
        }
        written = [];
        bytes = 0;
      }
      written.push({ item, sealed });
      bytes += sealed.bytes;
      seq = sealed.record.seq;
      prev = sealed.record.hash;
    }
    try {
      this.#commit(written);
    } catch {
      return; // #commit rejected its appends and recorded the failure
    }
    if (this.#seq - this.#checkpointSeq >= this.#checkpointEvery) {
      try {
        this.#writeCheckpoint();
      } catch (error) {
        this.#fail(error);
      }
    }
  }

  /** Writes records to the current file and settles their appends; on failure rejects them and throws. */
  #commit(written: Written): void {
    const last = written.at(-1)?.sealed.record;
    if (!last) return;
    try {
      const segment = this.#segment as Segment;
      segment.assertInPlace();
      segment.write(written.map(({ sealed }) => sealed.line).join(''));
      if (this.#fsyncAlways) segment.sync();
    } catch (error) {
      const failure = this.#fail(error);
      for (const { item } of written) item.reject(failure);
      throw failure;
    }
    this.#seq = last.seq;
    this.#prev = last.hash;
    this.#known = true;
    this.#failure = null;
    for (const { item, sealed } of written) item.resolve(sealed.record);
  }

  #rotate(): Segment {
    this.#writeCheckpoint();
    this.#closeSegment();
    return this.#openSegment((this.#file?.index ?? 0) + 1, true);
  }

  #openSegment(fileOrIndex: LogFile | number, create: boolean): Segment {
    const file =
      typeof fileOrIndex === 'number'
        ? {
            index: fileOrIndex,
            name: logFileName(fileOrIndex),
            path: join(this.dir, logFileName(fileOrIndex)),
          }
        : fileOrIndex;
    this.#segment = Segment.open(this.dir, file, create);
    this.#file = file;
    return this.#segment;
  }

  #closeSegment(): void {
    const segment = this.#segment;
    this.#segment = null;
    segment?.close();
  }

  #fail(error: unknown): AuditWriteError {
    const failure =
      error instanceof AuditWriteError
        ? error
        : new AuditWriteError(`audit log write failed: ${describeError(error)}`, 'io', { cause: error });
    this.#failure = { error: failure.message, since: new Date().toISOString() };
    // Drop the descriptor: the next append (or the timer) reopens and checks the disk first.
    try {
      this.#closeSegment();
    } catch {}
    return failure;
  }

  // ---- syncs and checkpoints ----

  #writeCheckpoint(): void {
    const segment = this.#segment;
    if (segment === null || this.#seq === 0 || this.#seq === this.#checkpointSeq) return;
    // The log is synced first, so a checkpoint never names a record a power loss could take back.
    segment.sync(true);
    appendCheckpoint(this.dir, {
      seq: this.#seq,
      hash: this.#prev,
      ts: this.#now().toISOString(),
      file: segment.file.name,
    });
    this.#checkpointSeq = this.#seq;
    this.#checkpointAt = Date.now();
  }

  #tick(): void {
    if (this.#closed) return;
    try {
      if (this.#segment === null) {
        // Recovery: once the directory is usable again, reopen (recording any break) and report ok.
        this.#resume();
        this.#failure = null;
        return;
      }
      this.#segment.sync();
      if (this.#seq > this.#checkpointSeq && Date.now() - this.#checkpointAt >= this.#checkpointIntervalMs) {
        this.#writeCheckpoint();
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  // ---- opening and recovery ----

  #ensureOpen(): Segment {
    if (this.#segment === null) this.#resume();
    return this.#segment as Segment;
  }

  /** Finds the chain head on disk, compares it with what we know, and opens the file to append to. */
  #resume(): void {
    const expected = this.#known ? { seq: this.#seq, hash: this.#prev } : null;
    const { good, checkpoint, plan } = inspectLog(this.dir, expected, this.#file?.index ?? 0);
    this.#seq = good?.seq ?? 0;
    this.#prev = good?.hash ?? GENESIS_HASH;
    if (plan.kind === 'break') {
      // Existing files are evidence: never touched. A new file starts with the break on record.
      this.#openSegment(plan.index, true);
      this.#writeChainBreak(plan.chainBreak);
      return;
    }
    if (plan.kind === 'torn') {
      truncateFile(plan.file.path, plan.goodEnd, true);
      this.#openSegment(plan.file, false);
      this.#writeChainBreak(plan.chainBreak);
    } else {
      this.#openSegment(plan.file ?? 1, plan.file === null);
    }
    this.#known = true;
    if (checkpoint) this.#checkpointSeq = Math.max(this.#checkpointSeq, checkpoint.seq);
  }

  #writeChainBreak(info: ChainBreak): void {
    const segment = this.#segment as Segment;
    const sealed = seal(chainBreakFields(info), info.seq, this.#prev, this.#now().toISOString());
    segment.write(sealed.line);
    segment.sync();
    this.#seq = sealed.record.seq;
    this.#prev = sealed.record.hash;
    this.#known = true;
    this.#breaks.push(sealed.record);
    this.#tell({ event: sealed.record, record: sealed.record, ms: 0 });
  }
}
