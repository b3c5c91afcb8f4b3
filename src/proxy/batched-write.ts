// Lines written to a pipe in one tick leave in one system call.

import type { Writable } from 'node:stream';

const corked = new WeakSet<Writable>();

function uncork(stream: Writable): void {
  corked.delete(stream);
  stream.uncork();
}

/**
 * Writes `text` to `stream`, corked until the next tick: the answers of calls that complete in the
 * same turn (one upstream read holding several results, one audit commit releasing several calls)
 * go out in one writev instead of one write each. A pipe write wakes the process at the other end,
 * and under load those writes were a quarter of the proxy's CPU (bench/prof-top.ts --callers
 * writeUtf8String). Order is kept (one stream, one queue); the delay is the rest of this tick's
 * microtasks. Returns what `stream.write` does (false: wait for 'drain').
 */
export function writeBatched(stream: Writable, text: string): boolean {
  if (!corked.has(stream)) {
    corked.add(stream);
    stream.cork();
    process.nextTick(uncork, stream);
  }
  return stream.write(text);
}
