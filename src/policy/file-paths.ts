// File-path arguments with real path semantics: one normaliser, path globs validated and compiled once.
import picomatch from 'picomatch';
import { globProblem } from './glob.js';

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
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
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
        if (HEX.test(value.slice(i + 1, i + 3))) return refuse('percent');
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
  const kept: string[] = [];
  for (const segment of nfc.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return refuse('dot_dot');
    const end = segment.at(-1);
    if (end === '.' || end === ' ') return refuse('trailing');
    kept.push(segment);
  }
  return { ok: true, path: `/${kept.join('/')}`, wasNfc: nfc === value, ascii };
}

/** Case folding for matching on case-insensitive file systems (macOS, Windows): over-approximates. */
export function foldCase(text: string, ascii: boolean): string {
  return ascii ? text.toLowerCase() : text.toUpperCase().toLowerCase();
}

/** True when a plain `glob` is written like a path, and so is matched as one. */
export function looksLikePathGlob(glob: string): boolean {
  return glob.startsWith('/') || glob.startsWith('**/');
}

/** Why a path glob is refused, or null. Path globs match normalised absolute paths, so must look like one. */
export function pathGlobProblem(glob: string): string | null {
  const general = globProblem(glob);
  if (general) return general;
  if (glob !== '**' && !looksLikePathGlob(glob))
    return `path glob "${glob}" must start with / or **/ (it is matched against absolute paths)`;
  if (/[\\:]/.test(glob) || [...glob].some((ch) => ch < ' ' || ch === '\x7f'))
    return `path glob "${glob}" contains a backslash, ":" or a control character, which no accepted path has`;
  if (glob !== '/' && glob.endsWith('/'))
    return `path glob "${glob}" ends with /; paths are compared without a trailing separator`;
  const segments = glob.split('/').slice(1);
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1)))
    return `path glob "${glob}" has an empty, "." or ".." segment, which normalised paths never have`;
  return null;
}

/**
 * How a path condition matches, by the decision of its rule. `may` (deny, review): the call may touch a
 * matching path: case is ignored and a matching directory covers everything below it. `sure` (allow): the
 * call certainly names a matching path: exact case, NFC input, the path itself must match.
 */
export type PathMode = 'may' | 'sure';

export type PathMatcher = (p: NormalPath & { ok: true }) => boolean;

const GLOB_OPTIONS = { dot: true, nonegate: true, noextglob: true, strictBrackets: true } as const;

/** Compiles validated path globs into one regular expression, tested once per value. */
export function compilePathGlobs(globs: readonly string[], mode: PathMode): PathMatcher {
  const sources: string[] = [];
  for (const raw of globs) {
    const glob = raw.normalize('NFC');
    const forms = [glob];
    // A directory covers what is inside it; `x/**` already matches x itself and everything below.
    if (mode === 'may' && glob !== '**' && !glob.endsWith('/**'))
      forms.push(glob === '/' ? '/**' : `${glob}/**`);
    for (const form of forms) {
      const text = mode === 'may' ? foldCase(form, false) : form;
      sources.push(picomatch.makeRe(text, GLOB_OPTIONS).source);
    }
  }
  const re = new RegExp(sources.map((s) => `(?:${s})`).join('|'));
  if (mode === 'may') return (p) => re.test(foldCase(p.path, p.ascii));
  return (p) => p.wasNfc && re.test(p.path);
}
