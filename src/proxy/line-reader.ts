// Splits a stdio byte stream into JSON-RPC lines with a bound per line: an oversized line is discarded, not fatal.

/** The SDK's own stdio limit (its ReadBuffer throws past it and the transport then closes). */
export const DEFAULT_MAX_LINE_BYTES = 10 * 1024 * 1024;

/** What could be learnt about a line that was too long to keep: its size and its JSON-RPC identity. */
export interface OversizedLine {
  /** Length of the line without its newline. */
  bytes: number;
  /** The message's top-level `id`, when the line is one well-formed JSON object that has one. */
  id: string | number | undefined;
  /** request: `method` and `id`; notification: `method` only; response: `result` or `error` and `id`. */
  kind: 'request' | 'notification' | 'response' | 'unknown';
}

export interface LineReaderOptions {
  /** Longest line kept (bytes, without the newline); longer ones go to `onOversized`. */
  maxLineBytes?: number | undefined;
  onLine(line: string): void;
  onOversized(line: OversizedLine): void;
}

/**
 * Memory stays bounded by `maxLineBytes`: once a line grows past it, what was kept is run through a
 * streaming scanner that remembers only the top-level keys and the `id` value, then dropped, and
 * the rest of the line is scanned as it arrives until its newline. Lines under the limit cost one
 * `indexOf` per newline and one decode (no copy unless a line spans chunks).
 */
export class LineReader {
  private readonly max: number;
  private readonly options: LineReaderOptions;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Set while the current line is over the limit and being discarded. */
  private scanner: TopLevelScanner | undefined;
  private discarded = 0;

  constructor(options: LineReaderOptions) {
    this.max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.options = options;
  }

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (end > start) this.take(chunk, start, end);
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  }

  /** Forgets a partial line (the stream ended or was replaced). */
  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.scanner = undefined;
    this.discarded = 0;
  }

  private take(chunk: Buffer, start: number, end: number): void {
    const part = chunk.subarray(start, end);
    if (this.scanner) {
      this.scanner.feed(part);
      this.discarded += part.length;
      return;
    }
    if (this.pendingBytes + part.length <= this.max) {
      this.pending.push(part);
      this.pendingBytes += part.length;
      return;
    }
    const scanner = new TopLevelScanner();
    for (const kept of this.pending) scanner.feed(kept);
    scanner.feed(part);
    this.scanner = scanner;
    this.discarded = this.pendingBytes + part.length;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private endLine(): void {
    const scanner = this.scanner;
    if (scanner) {
      const bytes = this.discarded;
      this.reset();
      this.options.onOversized({ bytes, ...scanner.result() });
      return;
    }
    const pending = this.pending;
    const size = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (size === 0) return;
    const first = pending[0] as Buffer;
    let line = pending.length === 1 ? first.toString('utf8') : Buffer.concat(pending, size).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    // Blank lines carry no message (the SDK would report them as a JSON error).
    if (line.trim() === '') return;
    this.options.onLine(line);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Keys and id values longer than this are not ones we look for. */
const MAX_CAPTURE = 256;

type Phase = 'key' | 'colon' | 'value' | 'next';

/**
 * A streaming scan of one JSON text that keeps O(1) state: nesting depth, string state, and at
 * depth 1 the current key and (for `id`) the raw value. It does not validate beyond structure;
 * a line that is not one object closed at depth 0 yields no id.
 */
class TopLevelScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private closed = false;
  private invalid = false;
  private phase: Phase = 'key';
  /** Raw bytes of the key or `id` value being read at depth 1 (quotes included), when capturing. */
  private capture: number[] | undefined;
  private capturing: 'key' | 'id' | undefined;
  private currentKey: string | undefined;
  private id: string | number | undefined;
  private readonly keys = new Set<string>();

  feed(buf: Buffer): void {
    let i = 0;
    const n = buf.length;
    // Next quote and backslash at or after i (n when none), found once each: a string full of escapes stays linear.
    let quote = -1;
    let backslash = -1;
    while (i < n) {
      if (this.invalid) return;
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          this.keep(buf, i, i + 1);
          i += 1;
          continue;
        }
        // Long strings are most of a big result: jump to the next quote or backslash.
        if (quote < i) quote = indexIn(buf, QUOTE, i);
        if (backslash < i) backslash = indexIn(buf, BACKSLASH, i);
        const stop = Math.min(quote, backslash);
        this.keep(buf, i, stop);
        if (stop === n) return;
        this.keep(buf, stop, stop + 1);
        i = stop + 1;
        if (stop === backslash) {
          this.escaped = true;
        } else {
          this.inString = false;
          this.stringEnded();
        }
        continue;
      }
      if (this.depth > 1 && !this.closed) {
        // Inside the payload only nesting and strings matter: a tight loop, no per-byte calls.
        let depth = this.depth;
        while (i < n) {
          const byte = buf[i] as number;
          if (byte === QUOTE) break;
          if (byte === 0x7b || byte === 0x5b) depth += 1;
          else if (byte === 0x7d || byte === 0x5d) {
            depth -= 1;
            if (depth === 1) {
              i += 1;
              break;
            }
          }
          i += 1;
        }
        this.depth = depth;
        if (i < n && depth > 1) {
          // A string opens inside the payload.
          this.inString = true;
          i += 1;
        }
        continue;
      }
      this.structural(buf[i] as number);
      if (this.capturing === 'id' && !this.inString && this.phase === 'value') this.keep(buf, i, i + 1);
      i += 1;
    }
  }

  result(): Omit<OversizedLine, 'bytes'> {
    if (!this.closed || this.invalid || this.depth !== 0) return { id: undefined, kind: 'unknown' };
    const method = this.keys.has('method');
    const id = this.id;
    if (method) return { id, kind: id === undefined ? 'notification' : 'request' };
    if ((this.keys.has('result') || this.keys.has('error')) && id !== undefined)
      return { id, kind: 'response' };
    return { id: undefined, kind: 'unknown' };
  }

  private structural(byte: number): void {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) {
      if (this.capturing === 'id' && this.phase === 'value' && this.capture && this.capture.length > 0)
        this.valueEnded();
      return;
    }
    if (this.closed) {
      this.invalid = true;
      return;
    }
    if (!this.started) {
      this.started = true;
      if (byte !== 0x7b) this.invalid = true;
      else {
        this.depth = 1;
        this.phase = 'key';
      }
      return;
    }
    const top = this.depth === 1;
    switch (byte) {
      case QUOTE:
        this.inString = true;
        if (!top) return;
        if (this.phase === 'key') this.startCapture('key');
        else if (this.phase === 'value') {
          if (this.currentKey === 'id') this.startCapture('id');
          else this.phase = 'next';
        } else this.invalid = true;
        return;
      case 0x7b:
      case 0x5b:
        if (top) {
          if (this.phase !== 'value') {
            this.invalid = true;
            return;
          }
          // An object or array is no JSON-RPC id.
          if (this.currentKey === 'id') this.id = undefined;
          this.capturing = undefined;
          this.phase = 'next';
        }
        this.depth += 1;
        return;
      case 0x7d:
      case 0x5d:
        if (top && this.capturing === 'id') this.valueEnded();
        this.depth -= 1;
        if (this.depth === 0) this.closed = true;
        if (this.depth < 0) this.invalid = true;
        return;
      case 0x3a:
        if (top) {
          if (this.phase === 'colon') this.phase = 'value';
          else this.invalid = true;
        }
        return;
      case 0x2c:
        if (top) {
          if (this.capturing === 'id') this.valueEnded();
          this.phase = 'key';
        }
        return;
      default:
        // A number, true, false or null at depth 1.
        if (top && this.phase === 'value') {
          if (this.currentKey === 'id') {
            if (this.capturing !== 'id') this.startCapture('id');
          } else this.phase = 'next';
        }
    }
  }

  private startCapture(what: 'key' | 'id'): void {
    this.capturing = what;
    this.capture = what === 'key' ? [QUOTE] : this.inString ? [QUOTE] : [];
  }

  private keep(buf: Buffer, from: number, to: number): void {
    const capture = this.capture;
    if (!capture || this.capturing === undefined || to <= from) return;
    if (capture.length + (to - from) > MAX_CAPTURE) {
      // Too long to be a key we look for or a sane id: remember that it was none.
      if (this.capturing === 'id') this.id = undefined;
      this.capture = undefined;
      return;
    }
    for (let i = from; i < to; i++) capture.push(buf[i] as number);
  }

  private stringEnded(): void {
    if (this.depth !== 1) return;
    if (this.capturing === 'key') {
      const raw = this.capture;
      this.capturing = undefined;
      this.capture = undefined;
      const key = raw ? parseJson(raw) : undefined;
      this.currentKey = typeof key === 'string' ? key : undefined;
      if (this.currentKey !== undefined) this.keys.add(this.currentKey);
      this.phase = 'colon';
    } else if (this.capturing === 'id') {
      this.valueEnded();
    }
  }

  private valueEnded(): void {
    const raw = this.capture;
    this.capturing = undefined;
    this.capture = undefined;
    this.phase = 'next';
    const value = raw ? parseJson(raw) : undefined;
    // Like JSON.parse, the last `id` key wins.
    this.id =
      typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) ? value : undefined;
  }
}

function indexIn(buf: Buffer, byte: number, from: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? buf.length : at;
}

function parseJson(bytes: number[]): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
