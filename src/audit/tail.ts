// `audit tail` on the reading side: every chain's newest records merged by time, then following them.
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { endOfLastLine, type LogFile, linesBackward, listLogFiles, parseRecord } from './files.js';
import { type ChainRecord, mergeChains } from './merge.js';
import { formatAuditCursor, queryAudit } from './query.js';
import type { AuditRecord } from './types.js';
import { listChains } from './writers.js';

export type { ChainRecord } from './merge.js';

export interface TailOptions {
  /** How many of the newest records to start with (all chains together). */
  n: number;
  /** Keep reading what writers append until `signal` aborts. */
  follow: boolean;
  signal?: AbortSignal | undefined;
}

const POLL_MS = 250;
/** queryAudit's largest page. */
const PAGE = 1000;

/** Where following a chain stands: the file being read and how far. */
interface Follow {
  slot: number;
  dir: string;
  file: LogFile | undefined;
  offset: number;
  carry: string;
}

/**
 * The last `n` records of every chain under `root` (an audit directory), oldest first, merged as
 * queryAudit merges them; then (with follow) each batch of records any writer appends, including
 * a writer that starts later, until `signal` aborts. Each batch is merged the same way.
 */
export async function* tailAudit(root: string, options: TailOptions): AsyncGenerator<ChainRecord[]> {
  const following = new Map<number, Follow>();
  // The newest record each chain holds now: the first page ends there, following starts after it.
  const heads = new Map<number, number>();
  for (const chain of listChains(root)) {
    const files = listLogFiles(chain.dir);
    const newest = files.at(-1);
    // Where following starts: just past the last whole line of the newest file as it is now.
    const offset = newest ? endOfLastLine(newest.path, (await stat(newest.path)).size) : 0;
    following.set(chain.slot, { slot: chain.slot, dir: chain.dir, file: newest, offset, carry: '' });
    const head = await lastSeq(files, offset);
    if (head !== null) heads.set(chain.slot, head + 1);
  }
  yield await newestRecords(root, heads, options.n);
  if (!options.follow) return;

  const signal = options.signal;
  while (!signal?.aborted) {
    // A writer that started after us: follow its chain from its first record.
    for (const chain of listChains(root)) {
      if (!following.has(chain.slot)) {
        following.set(chain.slot, {
          slot: chain.slot,
          dir: chain.dir,
          file: undefined,
          offset: 0,
          carry: '',
        });
      }
    }
    const fresh = new Map<number, AuditRecord[]>();
    for (const state of following.values()) {
      const records: AuditRecord[] = [];
      await drain(state, records);
      if (records.length > 0) fresh.set(state.slot, records);
    }
    if (fresh.size > 0) {
      yield oldestFirst([...fresh].map(([slot, records]) => ({ slot, newestFirst: records.reverse() })));
      continue;
    }
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      break;
    }
  }
}

/** The newest `n` records below `heads` (per chain), through queryAudit's pages; oldest first. */
async function newestRecords(root: string, heads: Map<number, number>, n: number): Promise<ChainRecord[]> {
  const taken: ChainRecord[] = [];
  let before = formatAuditCursor(heads);
  while (before !== null && taken.length < n) {
    const page = await queryAudit(root, { limit: Math.min(PAGE, n - taken.length), before });
    page.records.forEach((record, i) => {
      taken.push({ record, chain: page.chains[i] as number });
    });
    before = page.nextCursor;
  }
  return taken.reverse();
}

function oldestFirst(chains: { slot: number; newestFirst: AuditRecord[] }[]): ChainRecord[] {
  return mergeChains(chains).reverse();
}

/**
 * The seq of the chain's newest record before `end` in its newest file (older files whole); null
 * when it has none. Only a seq a cursor can carry counts (a damaged line's is skipped).
 */
async function lastSeq(files: LogFile[], end: number): Promise<number | null> {
  for (let f = files.length - 1; f >= 0; f--) {
    const file = files[f] as LogFile;
    const until = f === files.length - 1 ? end : (await stat(file.path)).size;
    for (const { line } of linesBackward(file.path, until)) {
      const seq = parseRecord(line)?.seq;
      if (seq !== undefined && Number.isSafeInteger(seq) && seq >= 1) return seq;
    }
  }
  return null;
}

/** Reads what one chain has added since the last call, moving on to newer files (rotation). */
async function drain(state: Follow, into: AuditRecord[]): Promise<void> {
  for (;;) {
    if (state.file && (await readNew(state, into)) > 0) continue;
    let files: LogFile[];
    try {
      files = listLogFiles(state.dir);
    } catch {
      return;
    }
    const next = files.find((file) => file.index > (state.file?.index ?? 0));
    if (!next) return;
    // A newer file means the writer is done with this one: one last read catches its final lines.
    if (state.file && (await readNew(state, into)) > 0) continue;
    state.file = next;
    state.offset = 0;
    state.carry = '';
  }
}

/** Appends the chain's whole new lines to `into`; returns how many bytes were read. */
async function readNew(state: Follow, into: AuditRecord[]): Promise<number> {
  const read = await readFrom((state.file as LogFile).path, state.offset);
  state.offset += read.bytes;
  const lines = (state.carry + read.text).split('\n');
  state.carry = lines.pop() ?? '';
  for (const line of lines) {
    const record = parseRecord(line);
    if (record !== null) into.push(record);
  }
  return read.bytes;
}

async function readFrom(path: string, offset: number): Promise<{ text: string; bytes: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch {
    return { text: '', bytes: 0 };
  }
  try {
    const size = (await handle.stat()).size;
    if (size <= offset) return { text: '', bytes: 0 };
    const buffer = Buffer.alloc(Math.min(size - offset, 4 * 1024 * 1024));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
    // Stop at the last newline so a multi-byte character is never split between reads.
    const end = buffer.subarray(0, bytesRead).lastIndexOf(10) + 1;
    return { text: buffer.toString('utf8', 0, end), bytes: end };
  } finally {
    await handle.close();
  }
}
