// A fast, conservative reader for lines exactly as the writer formats them: proves the text is
// RFC 8785 canonical without building objects, so verify can hash the bytes it already has.
// Any doubt returns null and the caller takes the slow path (JSON.parse + canonicalize).

/** The fields verify needs from a line, and the canonical text its hash covers. */
export interface ScannedLine {
  seq: number;
  prev: string;
  hash: string;
  event: string;
  /** The record's canonical JSON without `hash`. */
  canonical: string;
}

const MAX_DEPTH = 64;
// Set by scanString: whether the string just scanned contained an escape.
let escaped = false;
// The next backslash at or after where scanString last looked (s.length: none), for the line being
// scanned: a string's end is found with indexOf jumps instead of a loop over every character.
let backslashAt = -1;
/**
 * What JSON.stringify never leaves raw in its output: control characters and lone surrogates. One
 * native pass over the line checks for them, so scanString only has to look at escapes and quotes.
 * Apart, not one class: V8 answers the surrogate class at once for a one-byte string (most lines),
 * and only a line with a surrogate takes the exact lone-surrogate test.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: raw control characters are what it looks for
const RAW_CONTROL = /[\u0000-\u001f]/;
const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `s` holds a character JSON.stringify would have escaped. */
function rawForbidden(s: string): boolean {
  return RAW_CONTROL.test(s) || (SURROGATE.test(s) && LONE_SURROGATE.test(s));
}

/**
 * Reads `{...sorted members...,"hash":"..."}` where every object's keys are in code-unit order,
 * no whitespace, strings and numbers in their JSON.stringify form. Null when unsure.
 */
export function scanWriterLine(s: string): ScannedLine | null {
  if (s.charCodeAt(0) !== 0x7b || rawForbidden(s)) return null;
  backslashAt = -1;
  let i = 1;
  let previousKey: string | null = null;
  let seq = Number.NaN;
  let prev = '';
  let hash = '';
  let event = '';
  let hashAt = -1;
  for (;;) {
    if (s.charCodeAt(i) !== 0x22) return null;
    const keyEnd = scanString(s, i);
    if (keyEnd < 0 || escaped) return null;
    const key = s.slice(i + 1, keyEnd - 1);
    if (s.charCodeAt(keyEnd) !== 0x3a) return null;
    const valueStart = keyEnd + 1;
    const valueEnd = scanValue(s, valueStart, 1);
    if (valueEnd < 0) return null;
    if (key === 'hash') {
      // The writer puts hash last, outside the sorted order; anything after it is not ours.
      if (hashAt >= 0 || valueEnd !== s.length - 1 || s.charCodeAt(valueEnd) !== 0x7d || escaped) return null;
      if (s.charCodeAt(valueStart) !== 0x22) return null;
      hash = s.slice(valueStart + 1, valueEnd - 1);
      hashAt = i - 1;
      break;
    }
    if (previousKey !== null && !(previousKey < key)) return null;
    previousKey = key;
    if (key === 'seq') {
      seq = Number(s.slice(valueStart, valueEnd));
    } else if (key === 'prev' || key === 'event') {
      if (s.charCodeAt(valueStart) !== 0x22 || escaped) return null;
      const text = s.slice(valueStart + 1, valueEnd - 1);
      if (key === 'prev') prev = text;
      else event = text;
    }
    const next = s.charCodeAt(valueEnd);
    if (next === 0x2c) {
      i = valueEnd + 1;
      continue;
    }
    return null;
  }
  if (hashAt < 1 || s.charCodeAt(hashAt) !== 0x2c || !Number.isSafeInteger(seq)) return null;
  return { seq, prev, hash, event, canonical: `${s.slice(0, hashAt)}}` };
}

/** Index just past the value at i, or -1. */
function scanValue(s: string, i: number, depth: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return scanString(s, i);
  if (c === 0x7b) return scanObject(s, i, depth + 1);
  if (c === 0x5b) return scanArray(s, i, depth + 1);
  escaped = false;
  if (c === 0x74) return s.startsWith('true', i) ? i + 4 : -1;
  if (c === 0x66) return s.startsWith('false', i) ? i + 5 : -1;
  if (c === 0x6e) return s.startsWith('null', i) ? i + 4 : -1;
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return scanNumber(s, i);
  return -1;
}

function scanObject(s: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  let j = i + 1;
  if (s.charCodeAt(j) === 0x7d) return j + 1;
  let previousKey: string | null = null;
  for (;;) {
    if (s.charCodeAt(j) !== 0x22) return -1;
    const keyEnd = scanString(s, j);
    if (keyEnd < 0 || escaped) return -1;
    const key = s.slice(j + 1, keyEnd - 1);
    if (previousKey !== null && !(previousKey < key)) return -1;
    previousKey = key;
    if (s.charCodeAt(keyEnd) !== 0x3a) return -1;
    const valueEnd = scanValue(s, keyEnd + 1, depth);
    if (valueEnd < 0) return -1;
    const next = s.charCodeAt(valueEnd);
    if (next === 0x7d) {
      escaped = false;
      return valueEnd + 1;
    }
    if (next !== 0x2c) return -1;
    j = valueEnd + 1;
  }
}

function scanArray(s: string, i: number, depth: number): number {
  if (depth > MAX_DEPTH) return -1;
  let j = i + 1;
  if (s.charCodeAt(j) === 0x5d) {
    escaped = false;
    return j + 1;
  }
  for (;;) {
    const valueEnd = scanValue(s, j, depth);
    if (valueEnd < 0) return -1;
    const next = s.charCodeAt(valueEnd);
    if (next === 0x5d) {
      escaped = false;
      return valueEnd + 1;
    }
    if (next !== 0x2c) return -1;
    j = valueEnd + 1;
  }
}

/**
 * A string in JSON.stringify's form: only the escapes it emits (raw control characters and lone
 * surrogates are ruled out for the whole line by rawForbidden).
 */
function scanString(s: string, i: number): number {
  escaped = false;
  let j = i + 1;
  for (;;) {
    const quote = s.indexOf('"', j);
    if (quote < 0) return -1;
    if (backslashAt < j) {
      const next = s.indexOf('\\', j);
      backslashAt = next < 0 ? s.length : next;
    }
    if (backslashAt > quote) return quote + 1;
    // An escape before the quote (which may be the escaped quote itself): check it, go on after it.
    escaped = true;
    const at = backslashAt;
    const e = s.charCodeAt(at + 1);
    if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      j = at + 2;
      continue;
    }
    // \u00XX, lower-case hex, only for the control characters without a short escape.
    if (e === 0x75 && s.startsWith('00', at + 2)) {
      const hex = s.slice(at + 4, at + 6);
      const code = /^[01][0-9a-f]$/.test(hex) ? Number.parseInt(hex, 16) : -1;
      if (code >= 0 && code !== 8 && code !== 9 && code !== 10 && code !== 12 && code !== 13) {
        j = at + 6;
        continue;
      }
    }
    return -1;
  }
}

/** A number exactly as JavaScript prints it (which is RFC 8785's form). */
function scanNumber(s: string, i: number): number {
  let j = i + 1;
  const length = s.length;
  let digitsOnly = s.charCodeAt(i) !== 0x2d;
  while (j < length) {
    const c = s.charCodeAt(j);
    if (c >= 0x30 && c <= 0x39) j += 1;
    else if (c === 0x2e || c === 0x65 || c === 0x2b || c === 0x2d) {
      digitsOnly = false;
      j += 1;
    } else break;
  }
  // The common case, a non-negative integer below 2^53 without a leading zero, is its own form.
  if (digitsOnly && j - i <= 15 && (j - i === 1 || s.charCodeAt(i) !== 0x30)) return j;
  const token = s.slice(i, j);
  return String(Number(token)) === token ? j : -1;
}
