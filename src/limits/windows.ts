// Rate windows and calls in flight, in this process's memory: an exact sliding log per (limit,
// agent), bounded by the limit's own count and by an LRU of keys.
import { LRUCache } from 'lru-cache';

/**
 * At most this many (limit, agent) pairs keep a rate log. A pair whose calls are all older than its
 * window holds nothing worth keeping; past the bound the least recently used pair forgets its calls.
 */
export const MAX_RATE_KEYS = 10_000;

/** The times (ms) of the calls a rate limit counts for one agent, oldest first. */
export class RateWindows {
  private readonly logs = new LRUCache<string, number[]>({ max: MAX_RATE_KEYS });

  /** The calls counted in the window ending at `now` (a call counts while at > now - window), and when the oldest stops counting. */
  state(key: string, windowMs: number, now: number): { used: number; oldestExpiresInMs: number } {
    const log = this.prune(key, windowMs, now);
    const oldest = log?.[0];
    return { used: log?.length ?? 0, oldestExpiresInMs: oldest === undefined ? 0 : oldest + windowMs - now };
  }

  /** Counts a call at `now`; keeps no more than `max` entries (one more would be refused anyway). */
  book(key: string, max: number, now: number): void {
    let log = this.logs.get(key);
    if (!log) {
      log = [];
      this.logs.set(key, log);
    }
    log.push(now);
    if (log.length > max) log.splice(0, log.length - max);
  }

  /** Gives a counted call back (it never ran). */
  unbook(key: string, at: number): void {
    const log = this.logs.get(key);
    const i = log?.lastIndexOf(at) ?? -1;
    if (log && i >= 0) log.splice(i, 1);
  }

  private prune(key: string, windowMs: number, now: number): number[] | undefined {
    const log = this.logs.get(key);
    if (!log) return undefined;
    let drop = 0;
    while (drop < log.length && (log[drop] as number) <= now - windowMs) drop++;
    if (drop > 0) log.splice(0, drop);
    if (log.length === 0) {
      this.logs.delete(key);
      return undefined;
    }
    return log;
  }
}

/** How many calls of each (limit, agent) are running; a key at 0 is dropped, so memory follows the calls in flight. */
export class InFlight {
  private readonly counts = new Map<string, number>();

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  take(key: string): void {
    this.counts.set(key, this.count(key) + 1);
  }

  free(key: string): void {
    const n = this.count(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }
}
