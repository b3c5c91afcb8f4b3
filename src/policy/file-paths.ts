// File-path arguments with real path semantics: the normaliser every path condition reads its value through.

/** Longer values are refused: beyond PATH_MAX no file system opens them, and it bounds evaluation. */
export const MAX_PATH_LENGTH = 4096;

/** Why a value cannot be read as a path; the code is for programs, the message for people. */
export type PathProblemCode =
  | 'not_string'
  | 'empty'
  | 'too_long'
  | 'control'
  | 'surrogate'
  | 'invisible'
  | 'lookalike'
  | 'backslash'
  | 'url'
  | 'colon'
  | 'percent'
  | 'whitespace'
  | 'quote'
  | 'home'
  | 'relative'
  | 'network'
  | 'dot_dot'
  | 'trailing'
  | 'short_name';

export type NormalPath =
  | {
      ok: true;
      /** Absolute, `/`-separated, no `.` or empty segments, no trailing `/`, Unicode NFC. */
      path: string;
      /** False when the value was not in NFC: equivalent spellings may name another file on Linux. */
      wasNfc: boolean;
      ascii: boolean;
    }
  | { ok: false; code: PathProblemCode; problem: string };

const PROBLEMS: Record<PathProblemCode, string> = {
  not_string: 'is not a string',
  empty: 'is empty',
  too_long: `is longer than ${MAX_PATH_LENGTH} characters`,
  control: 'contains a control character',
  surrogate: 'contains an unpaired UTF-16 surrogate',
  invisible: 'contains an invisible (default-ignorable) character',
  lookalike: 'contains a look-alike of a path separator, dot, colon, % or ~',
  backslash: 'contains a backslash (a path separator on Windows)',
  url: 'is a URL, not a path',
  colon: 'contains ":" (a drive or a data stream on Windows)',
  percent: 'contains a percent-escape such as %2e',
  whitespace: 'starts or ends with white space',
  quote: 'starts or ends with a quote',
  home: 'starts with ~ (a home directory the policy cannot see)',
  relative: 'is a relative path (the server resolves it against a directory the policy cannot see)',
  network: 'starts with // (a network share on Windows)',
  dot_dot: 'contains a ".." segment',
  trailing: 'has a segment ending in a dot or a space (Windows drops them)',
  short_name: 'has a segment such as PROGRA~1 (a Windows short name)',
};

const refuse = (code: PathProblemCode): NormalPath => ({ ok: false, code, problem: PROBLEMS[code] });

const HEX = /^[0-9A-Fa-f]{2}$/;
const HEX_U = /^[uU][0-9A-Fa-f]{4}$/;
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/; // two letters at least: C: is a drive
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** Characters some layer may read as path syntax, that NFKC does not map to it. */
const LOOKALIKES = new Set([0x2044, 0x2215, 0x2216, 0x2236, 0x2571, 0x2572, 0x29f5, 0x29f8, 0x29f9, 0xa789]);
const SYNTAX = /[/\\.:%~]/;
const SHORT_NAME = /~\d/;

/** Checks the non-ASCII characters of a value: nothing invisible, nothing that folds to path syntax. */
function nonAsciiProblem(value: string): PathProblemCode | null {
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) continue;
    if (INVISIBLE.test(ch)) return 'invisible';
    if (LOOKALIKES.has(cp) || SYNTAX.test(ch.normalize('NFKC'))) return 'lookalike';
  }
  return null;
}

/**
 * Reads an argument as the absolute path a file server would open, or says why it cannot. Resolves `.`
 * and repeated separators and drops a trailing one; refuses (so the call is denied) every spelling
 * whose meaning depends on the server, its platform or its directories: `..`, relative paths, `~`,
 * backslashes, `:` (drives, streams, URLs), percent-escapes, control and invisible characters,
 * look-alike separators, segments ending in a dot or a space, short names, surrounding white space or quotes.
 */
export function normalizeFilePath(value: unknown): NormalPath {
  if (typeof value !== 'string') return refuse('not_string');
  if (value.length === 0) return refuse('empty');
  if (value.length > MAX_PATH_LENGTH) return refuse('too_long');
  let ascii = true;
  let tilde = false;
  // Set when a segment is empty or ends in a dot or a space: only then are segments looked at one by one.
  let irregular = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2f) {
      const prev = value.charCodeAt(i - 1);
      if (i > 0 && (prev === 0x2f || prev === 0x2e || prev === 0x20)) irregular = true;
      continue;
    }
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return refuse('control');
    if (c >= 0x80) {
      ascii = false;
      if (c >= 0xd800 && c <= 0xdbff) {
        const next = value.charCodeAt(i + 1);
        if (!(next >= 0xdc00 && next <= 0xdfff)) return refuse('surrogate');
        i++;
      } else if (c >= 0xdc00 && c <= 0xdfff) return refuse('surrogate');
      continue;
    }
    switch (c) {
      case 0x5c: // backslash
        return refuse('backslash');
      case 0x3a: // colon
        return refuse(URL_SCHEME.test(value) ? 'url' : 'colon');
      case 0x25: // percent
        // %2e, and IIS's %u002e.
        if (HEX.test(value.slice(i + 1, i + 3)) || HEX_U.test(value.slice(i + 1, i + 6)))
          return refuse('percent');
        break;
      case 0x7e: // tilde
        tilde = true;
        break;
    }
  }
  if (!ascii) {
    const problem = nonAsciiProblem(value);
    if (problem) return refuse(problem);
  }
  if (value.trim() !== value) return refuse('whitespace');
  const last = value.at(-1);
  if (last === '"' || last === "'" || value[0] === '"' || value[0] === "'") return refuse('quote');
  if (value[0] === '~') return refuse('home');
  if (value[0] !== '/') return refuse('relative');
  if (value[1] === '/') return refuse('network');
  if (tilde && SHORT_NAME.test(value)) return refuse('short_name');
  const nfc = ascii ? value : value.normalize('NFC');
  const end = value.charCodeAt(value.length - 1);
  if (!irregular && (value.length === 1 || (end !== 0x2f && end !== 0x2e && end !== 0x20)))
    return { ok: true, path: nfc, wasNfc: nfc === value, ascii };
  const kept: string[] = [];
  for (const segment of nfc.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return refuse('dot_dot');
    const tail = segment.at(-1);
    if (tail === '.' || tail === ' ') return refuse('trailing');
    kept.push(segment);
  }
  return { ok: true, path: `/${kept.join('/')}`, wasNfc: nfc === value, ascii };
}

/** Case folding for matching on case-insensitive file systems (macOS, Windows): over-approximates. */
export function foldCase(text: string, ascii: boolean): string {
  return ascii ? text.toLowerCase() : text.toUpperCase().toLowerCase();
}
