// Path globs (path_glob, and plain globs written like paths): validated strictly, compiled once to fast matchers.
import picomatch from 'picomatch';
import { foldCase, type NormalPath } from './file-paths.js';
import { globProblem } from './glob.js';

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
const SPECIAL = /[*?[\]{}()!+@\\]/;
/** `**` + `/S` or `/S/**`, where S is one segment. */
const ANY_DEPTH = /^\*\*\/([^/]+?)(\/\*\*)?$/;
/** A literal absolute path, optionally followed by `/**`. */
const LITERAL = /^(\/[^*?[\]{}()!+@\\]*?)(\/\*\*)?$/;

/** The glob as the matcher compares it: NFC, and case-folded where case is ignored. */
function prepared(glob: string, mode: PathMode): string {
  const nfc = glob.normalize('NFC');
  return mode === 'may' ? foldCase(nfc, false) : nfc;
}

/**
 * The plain reading with picomatch regular expressions, one per glob (and per covered subtree). The
 * fast matcher below must agree with it; it also serves the globs the fast one has no shortcut for.
 */
export function regexPathMatcher(globs: readonly string[], mode: PathMode): (path: string) => boolean {
  const sources: string[] = [];
  for (const raw of globs) {
    const glob = prepared(raw, mode);
    const forms = [glob];
    // `G/**` names what G matches and everything below it (picomatch leaves out G itself when G
    // ends in a wildcard, as in `x*/**`); in a deny or review rule every glob covers what is below.
    if (glob.endsWith('/**') && glob !== '/**') forms.push(glob.slice(0, -3));
    else if (mode === 'may' && glob !== '**' && glob !== '/**')
      forms.push(glob === '/' ? '/**' : `${glob}/**`);
    for (const form of forms) sources.push(picomatch.makeRe(form, GLOB_OPTIONS).source);
  }
  const re = new RegExp(sources.map((s) => `(?:${s})`).join('|'));
  return (path) => re.test(path);
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

type Shape = { literal: string } | { prefix: string } | { suffix: string };

/**
 * A segment pattern of a plain shape: a literal, `x*` or `*x` (with dot: true picomatch's `*` is any
 * run of characters within a segment, leading dots included). Null for anything else: picomatch's.
 */
function segmentShape(pattern: string): Shape | null {
  if (pattern.includes('**')) return null;
  if (!SPECIAL.test(pattern)) return { literal: pattern };
  if (pattern.endsWith('*') && !SPECIAL.test(pattern.slice(0, -1))) return { prefix: pattern.slice(0, -1) };
  if (pattern.startsWith('*') && !SPECIAL.test(pattern.slice(1))) return { suffix: pattern.slice(1) };
  return null;
}

/**
 * One regular expression for "some segment (or the last one) has one of these shapes", over the whole
 * path: a segment is literally L when `/L` is followed by `/` or the end, starts with P when `/P`
 * occurs, ends with S (which holds no `/`) when S is followed by `/` or the end.
 */
function segmentRegex(shapes: readonly Shape[], lastOnly: boolean): string[] {
  const end = lastOnly ? '$' : '(?:/|$)';
  const literals = shapes.flatMap((s) => ('literal' in s ? [escapeRegex(s.literal)] : []));
  const prefixes = shapes.flatMap((s) => ('prefix' in s ? [escapeRegex(s.prefix)] : []));
  const suffixes = shapes.flatMap((s) => ('suffix' in s ? [escapeRegex(s.suffix)] : []));
  const out: string[] = [];
  if (literals.length > 0) out.push(`/(?:${literals.join('|')})${end}`);
  // Only the last segment: what follows the prefix holds no further separator.
  if (prefixes.length > 0) out.push(`/(?:${prefixes.join('|')})${lastOnly ? '[^/]*$' : ''}`);
  if (suffixes.length > 0) out.push(`${lastOnly ? '/[^/]*' : ''}(?:${suffixes.join('|')})${end}`);
  return out;
}

/**
 * Compiles validated path globs once. The common shapes (`**` / S, `**` / S / `**`, a literal path, a
 * literal path / `**`) become set lookups, prefix tests and one small regular expression; other globs
 * go to picomatch. A property test checks both readings agree.
 */
export function compilePathGlobs(globs: readonly string[], mode: PathMode): PathMatcher {
  let all = false;
  const exact = new Set<string>();
  const under: string[] = []; // each ends with '/': the path is below it
  const anySegment: Shape[] = [];
  const lastSegment: Shape[] = [];
  const rest: string[] = [];
  for (const raw of globs) {
    const glob = prepared(raw, mode);
    const depth = ANY_DEPTH.exec(glob);
    const shape = depth ? segmentShape(depth[1] as string) : null;
    const literal = LITERAL.exec(glob);
    if (glob === '**' || glob === '/**') all = true;
    else if (depth && shape !== null) {
      // A segment anywhere; without /** an allow rule needs it to be the last one (the path itself).
      if (mode === 'may' || depth[2]) anySegment.push(shape);
      else lastSegment.push(shape);
    } else if (literal) {
      const path = literal[1] as string;
      if (mode === 'sure' && !literal[2]) exact.add(path);
      else if (path === '/') all = true;
      else {
        exact.add(path);
        under.push(`${path}/`);
      }
    } else rest.push(raw);
  }
  const parts = [...segmentRegex(anySegment, false), ...segmentRegex(lastSegment, true)];
  const segments = parts.length > 0 ? new RegExp(parts.join('|')) : undefined;
  const fallback = rest.length > 0 ? regexPathMatcher(rest, mode) : undefined;

  const matches = (path: string): boolean => {
    if (all || exact.has(path)) return true;
    for (const u of under) if (path.startsWith(u)) return true;
    if (segments?.test(path)) return true;
    return fallback?.(path) === true;
  };
  if (mode === 'may') return (p) => matches(foldCase(p.path, p.ascii));
  return (p) => p.wasNfc && matches(p.path);
}
