// A minimal JSONL audit sink: one record per line, written before the call goes on (no hash chain).

import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type AuditEvent, type AuditRecord, type AuditSink, AuditWriteError } from '../audit/types.js';

/**
 * Stands in for the hash-chained AuditLog: same AuditSink contract (append resolves once the
 * line is written, rejects with AuditWriteError), so src/app.ts can swap one for the other.
 */
export class JsonlAuditSink implements AuditSink {
  readonly file: string;
  private seq = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private ready: Promise<unknown> | undefined;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'audit', 'proxy-decisions.jsonl');
  }

  append(event: AuditEvent): Promise<AuditRecord> {
    // Writes are chained so lines keep the order of append calls.
    const written = this.tail.then(async () => {
      this.ready ??= mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const record: AuditRecord = {
        ...event,
        seq: this.seq + 1,
        ts: new Date().toISOString(),
        prev: '',
        hash: '',
      };
      try {
        await this.ready;
        await appendFile(this.file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      } catch (error) {
        this.ready = undefined;
        throw new AuditWriteError(`cannot write ${this.file}: ${(error as Error).message}`);
      }
      this.seq += 1;
      return record;
    });
    this.tail = written.catch(() => {});
    return written;
  }
}
