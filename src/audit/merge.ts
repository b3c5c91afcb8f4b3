// The merge of several writers' chains into one order by time: what queryAudit pages and `audit tail` prints.
import type { AuditRecord } from './types.js';

/** A record with the writer slot (chain) it came from. */
export interface ChainRecord {
  record: AuditRecord;
  chain: number;
}

interface Stream {
  slot: number;
  records: Iterator<AuditRecord, unknown, undefined>;
  head: AuditRecord | null;
}

/**
 * Takes each chain's records newest first and hands them out merged newest first by `ts`; equal
 * times go by chain (lower slot first), and within a chain records keep chain order even where its
 * writer's clock stepped back. Chains are pulled one record ahead, so a page can stop anywhere.
 */
export class ChainMerge {
  readonly #streams: Stream[] = [];

  /** Adds one chain; its iterator is read lazily and closed by close(). */
  add(slot: number, newestFirst: Iterator<AuditRecord, unknown, undefined>): void {
    this.#streams.push({ slot, records: newestFirst, head: step(newestFirst) });
  }

  /** The next record in merge order without taking it; null when every chain is exhausted. */
  peek(): ChainRecord | null {
    const stream = this.#newest();
    return stream === null ? null : { record: stream.head as AuditRecord, chain: stream.slot };
  }

  /** Takes the next record in merge order; null when every chain is exhausted. */
  take(): ChainRecord | null {
    const stream = this.#newest();
    if (stream === null) return null;
    const record = stream.head as AuditRecord;
    stream.head = step(stream.records);
    return { record, chain: stream.slot };
  }

  /** Per chain that has records left, the seq just above its next one: where the merge goes on. */
  positions(): Map<number, number> {
    const positions = new Map<number, number>();
    for (const stream of this.#streams) if (stream.head) positions.set(stream.slot, stream.head.seq + 1);
    return positions;
  }

  close(): void {
    for (const stream of this.#streams) stream.records.return?.();
  }

  #newest(): Stream | null {
    let newest: Stream | null = null;
    for (const stream of this.#streams) {
      if (stream.head !== null && (newest === null || newer(stream, newest))) newest = stream;
    }
    return newest;
  }
}

/** Every record of `chains` (each newest first) in merge order, newest first. */
export function mergeChains(
  chains: Iterable<{ slot: number; newestFirst: Iterable<AuditRecord> }>,
): ChainRecord[] {
  const merge = new ChainMerge();
  for (const { slot, newestFirst } of chains) merge.add(slot, newestFirst[Symbol.iterator]());
  const merged: ChainRecord[] = [];
  for (let next = merge.take(); next !== null; next = merge.take()) merged.push(next);
  return merged;
}

function step(records: Iterator<AuditRecord, unknown, undefined>): AuditRecord | null {
  const next = records.next();
  return next.done ? null : next.value;
}

/** Merge order: later `ts` first; equal times, the lower slot first. */
function newer(a: Stream, b: Stream): boolean {
  const at = timeOf(a.head as AuditRecord);
  const bt = timeOf(b.head as AuditRecord);
  return at === bt ? a.slot < b.slot : at > bt;
}

function timeOf(record: AuditRecord): string {
  // The writer writes toISOString() (fixed width, UTC): these compare correctly as strings.
  return typeof record.ts === 'string' ? record.ts : '';
}
