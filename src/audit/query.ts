// Reading records back for the UI and API: newest first, filtered, paged by a seq cursor.
import { open, stat } from 'node:fs/promises';
import { type LogFile, linesBackward, listLogFiles, parseRecord } from './files.js';
import type { AuditRecord } from './types.js';

export interface AuditQuery {
  agent?: string | undefined;
  server?: string | undefined;
  tool?: string | undefined;
  decision?: 'allow' | 'deny' | 'review' | undefined;
  event?: string | undefined;
  correlation_id?: string | undefined;
  /** Inclusive lower bound on `ts` (ISO 8601 string or Date). */
  from?: string | Date | undefined;
  /** Exclusive upper bound on `ts`. */
  to?: string | Date | undefined;
  /**
   * Free text: a case-insensitive substring of the record's JSON text as stored (after redaction),
   * except the chain fields `prev` and `hash`, whose hex would match almost any short hex query.
   */
  q?: string | undefined;
  /** Page size, 1..1000 (default 50). */
  limit?: number | undefined;
  /** Cursor: only records with seq below this (the previous page's `nextCursor`). */
  before?: number | undefined;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  nextCursor: number | null;
}

export class AuditQueryError extends Error {
  readonly code = 'E_AUDIT_QUERY';
}

/**
 * Scans the log from the newest file backwards and returns the newest matching records. The scan
 * is linear: cost grows with how far back the matches are (a page of recent records reads only
 * the end of the newest file; a filter that matches nothing reads every file). Lines that are not
 * records are skipped: checking them is verify's job.
 */
export async function queryAudit(dir: string, query: AuditQuery = {}): Promise<AuditPage> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AuditQueryError('limit must be an integer from 1 to 1000');
  }
  const from = toTime(query.from, 'from');
  const to = toTime(query.to, 'to');
  const needle = query.q?.toLowerCase();
  const records: AuditRecord[] = [];
  let files: LogFile[];
  try {
    files = listLogFiles(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records, nextCursor: null };
    throw error;
  }
  for (let f = files.length - 1; f >= 0; f--) {
    const file = files[f] as LogFile;
    if (query.before !== undefined && (await firstSeq(file)) >= query.before) continue;
    for (const { line } of linesBackward(file.path, (await stat(file.path)).size)) {
      // The whole line holds everything the search text does: a cheap first cut before parsing.
      if (needle !== undefined && !line.toLowerCase().includes(needle)) continue;
      const record = parseRecord(line);
      if (record === null) continue;
      if (query.before !== undefined && record.seq >= query.before) continue;
      if (!matches(record, query, from, to)) continue;
      if (needle !== undefined && !searchText(record).includes(needle)) continue;
      if (records.length === limit) return { records, nextCursor: (records.at(-1) as AuditRecord).seq };
      records.push(record);
    }
  }
  return { records, nextCursor: null };
}

function matches(record: AuditRecord, query: AuditQuery, from: number | null, to: number | null): boolean {
  if (query.agent !== undefined && record.agent !== query.agent) return false;
  if (query.server !== undefined && record.server !== query.server) return false;
  if (query.tool !== undefined && record.tool !== query.tool) return false;
  if (query.decision !== undefined && record.decision !== query.decision) return false;
  if (query.event !== undefined && record.event !== query.event) return false;
  if (query.correlation_id !== undefined && record.correlation_id !== query.correlation_id) return false;
  if (from !== null || to !== null) {
    const time = Date.parse(record.ts);
    if (Number.isNaN(time)) return false;
    if (from !== null && time < from) return false;
    if (to !== null && time >= to) return false;
  }
  return true;
}

/** The record's JSON without `prev` and `hash`, lower-cased; for a writer's line, the line minus those members. */
function searchText(record: AuditRecord): string {
  const { prev: _prev, hash: _hash, ...rest } = record;
  return JSON.stringify(rest).toLowerCase();
}

function toTime(value: string | Date | undefined, name: string): number | null {
  if (value === undefined) return null;
  const time = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(time)) throw new AuditQueryError(`${name} is not a date`);
  return time;
}

async function firstSeq(file: LogFile): Promise<number> {
  // Only the first line is needed; records are small, so the first 64 KiB nearly always hold it.
  const handle = await open(file.path, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    text = buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
  try {
    const seq = (JSON.parse(text.slice(0, text.indexOf('\n'))) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : Number.NEGATIVE_INFINITY;
  } catch {
    // Unreadable first line: scan the file rather than skip records.
    return Number.NEGATIVE_INFINITY;
  }
}
