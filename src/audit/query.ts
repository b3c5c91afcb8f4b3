// Reading records back for the UI and API: every writer's chain merged newest first, filtered, paged by a cursor.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { type LogFile, linesBackward, listLogFiles, parseRecord } from './files.js';
import { ChainMerge } from './merge.js';
import type { AuditDecision, AuditEventKind, AuditRecord } from './types.js';
import { type Chain, listChains } from './writers.js';

export interface AuditQuery {
  agent?: string | undefined;
  server?: string | undefined;
  tool?: string | undefined;
  decision?: AuditDecision | undefined;
  event?: AuditEventKind | undefined;
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
  /** Cursor: the previous page's `nextCursor` (opaque; see parseAuditCursor). */
  before?: string | undefined;
}

export interface AuditPage {
  /** Newest first, exactly as stored. */
  records: AuditRecord[];
  /** The writer slot (chain) each record came from: `chains[i]` for `records[i]`. */
  chains: number[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  nextCursor: string | null;
}

export class AuditQueryError extends Error {
  readonly code = 'E_AUDIT_QUERY';
}

/**
 * A cursor is where each chain's scan goes on: `<slot>.<seq>` pairs joined by `_` ("1.57_2.1034":
 * chain 1 from below seq 57, chain 2 from below seq 1034). A chain the cursor does not name has no
 * older match (or did not exist when paging began): it is not read again. Per-chain positions, not
 * one timestamp, so a page continues the merge exactly even where a writer's clock stepped back.
 */
export function parseAuditCursor(text: string): Map<number, number> {
  const positions = new Map<number, number>();
  if (text.length <= 1000 && /^\d{1,9}\.\d{1,15}(?:_\d{1,9}\.\d{1,15})*$/.test(text)) {
    for (const pair of text.split('_')) {
      const [slot, seq] = pair.split('.').map(Number) as [number, number];
      if (slot < 1 || seq < 1 || positions.has(slot)) {
        positions.clear();
        break;
      }
      positions.set(slot, seq);
    }
    if (positions.size > 0) return positions;
  }
  throw new AuditQueryError('before must be a cursor from a previous page (next_cursor)');
}

/** The cursor for `positions` (slot -> the seq a chain's scan goes on below); null when empty. */
export function formatAuditCursor(positions: ReadonlyMap<number, number>): string | null {
  const pairs = [...positions].sort(([a], [b]) => a - b).map(([slot, seq]) => `${slot}.${seq}`);
  return pairs.length === 0 ? null : pairs.join('_');
}

/**
 * Reads every chain under `dir` (its own files and each writer-N/ subdirectory) from the newest
 * file backwards, and merges their matching records newest first (see ChainMerge). The scan is
 * linear: cost grows with how far back the matches are (a page of recent records reads only the
 * end of each chain's newest file; a filter that matches nothing reads every file). Lines that are
 * not records are skipped: checking them is verify's job.
 */
export async function queryAudit(dir: string, query: AuditQuery = {}): Promise<AuditPage> {
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new AuditQueryError('limit must be an integer from 1 to 1000');
  }
  const from = toTime(query.from, 'from');
  const to = toTime(query.to, 'to');
  const needle = query.q?.toLowerCase();
  const positions = query.before === undefined ? null : parseAuditCursor(query.before);
  const page: AuditPage = { records: [], chains: [], nextCursor: null };
  let chains: Chain[];
  try {
    chains = listChains(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return page;
    throw error;
  }
  const accept = (record: AuditRecord): boolean =>
    matches(record, query, from, to) && (needle === undefined || searchText(record).includes(needle));
  const merge = new ChainMerge();
  try {
    for (const chain of chains) {
      const below = positions === null ? undefined : positions.get(chain.slot);
      if (positions !== null && below === undefined) continue;
      merge.add(chain.slot, chainRecords(chain.dir, below, needle, accept));
    }
    for (;;) {
      if (page.records.length === limit) {
        // One more match exists: the next page starts at every chain's unreturned head.
        if (merge.peek() !== null) page.nextCursor = formatAuditCursor(merge.positions());
        break;
      }
      const next = merge.take();
      if (next === null) break;
      page.records.push(next.record);
      page.chains.push(next.chain);
    }
  } finally {
    merge.close();
  }
  return page;
}

/** One chain's matching records with seq below `below`, newest first (files newest first, lines backwards). */
function* chainRecords(
  dir: string,
  below: number | undefined,
  needle: string | undefined,
  accept: (record: AuditRecord) => boolean,
): Generator<AuditRecord, void, undefined> {
  let files: LogFile[];
  try {
    files = listLogFiles(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (let f = files.length - 1; f >= 0; f--) {
    const file = files[f] as LogFile;
    if (below !== undefined && firstSeq(file) >= below) continue;
    let size: number;
    try {
      size = statSync(file.path).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const { line } of linesBackward(file.path, size)) {
      // The whole line holds everything the search text does: a cheap first cut before parsing.
      if (needle !== undefined && !line.toLowerCase().includes(needle)) continue;
      const record = parseRecord(line);
      if (record === null) continue;
      if (below !== undefined && record.seq >= below) continue;
      if (accept(record)) yield record;
    }
  }
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

function firstSeq(file: LogFile): number {
  // Only the first line is needed; records are small, so the first 64 KiB nearly always hold it.
  let text: string;
  try {
    const fd = openSync(file.path, 'r');
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, 0);
      text = buffer.toString('utf8', 0, bytesRead);
    } finally {
      closeSync(fd);
    }
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
  try {
    const seq = (JSON.parse(text.slice(0, text.indexOf('\n'))) as { seq?: unknown }).seq;
    return typeof seq === 'number' ? seq : Number.NEGATIVE_INFINITY;
  } catch {
    // Unreadable first line: scan the file rather than skip records.
    return Number.NEGATIVE_INFINITY;
  }
}
