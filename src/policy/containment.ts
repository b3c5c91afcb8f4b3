// Containment: every path-like argument of a call to a server with roots must name a path inside one of them.
import { normalizeFilePath } from './file-paths.js';

/**
 * Argument names that hold paths, by their last word (`path`, `filePath`, `source_dir`, `paths`): every
 * string under such a key, in lists too, is read as a path whatever it looks like.
 */
const PATH_WORDS = new Set([
  'path',
  'paths',
  'pathname',
  'filepath',
  'file',
  'files',
  'filename',
  'filenames',
  'dir',
  'dirs',
  'dirname',
  'directory',
  'directories',
  'folder',
  'folders',
  'root',
  'roots',
  'cwd',
  'workdir',
  'source',
  'sources',
  'destination',
  'destinations',
  'dest',
]);

/**
 * Argument names whose values are text a server stores or shows, not opens (`content` of write_file,
 * `newText` of edit_file): a value that merely looks like a path there is left alone.
 */
const TEXT_WORDS = new Set([
  'content',
  'contents',
  'text',
  'body',
  'message',
  'data',
  'description',
  'comment',
  'note',
  'notes',
  'prompt',
  'title',
]);

/** Deeper arguments are refused: no tool's schema nests this far, and it bounds the walk. */
export const MAX_CONTAINMENT_DEPTH = 64;

/** The last word of a key in any of camelCase, snake_case, kebab-case, lower-cased. */
function lastWord(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s_.-]+/)
    .filter((w) => w !== '');
  return (words.at(-1) ?? '').toLowerCase();
}

export function isPathKey(key: string): boolean {
  return PATH_WORDS.has(lastWord(key)) || PATH_WORDS.has(key.toLowerCase());
}

function isTextKey(key: string): boolean {
  return TEXT_WORDS.has(lastWord(key));
}

const PATH_START = /^(?:[/\\~]|\.{1,2}(?:[/\\]|$)|file:|[A-Za-z]:[/\\])/i;

/**
 * Whether a value in an argument of any other name looks like a path: on one line and, once look-alike
 * characters are folded (NFKC), percent-escapes of `.`, `/` and `\` decoded and leading white space and
 * quotes dropped, absolute, home-relative, `./` or `../`, a drive or a file: URL, or with a `..` segment.
 */
export function looksLikePath(value: string): boolean {
  if (/[\n\r\u0085\u2028\u2029]/.test(value)) return false;
  const folded = value
    .normalize('NFKC')
    .replace(/%2e/gi, '.')
    .replace(/%2f/gi, '/')
    .replace(/%5c/gi, '\\')
    .replace(/^[\s"'`]+/, '');
  return PATH_START.test(folded) || folded.split(/[/\\]/).includes('..');
}

/** server-filesystem as a command or argument: its npm name (with a version), its bin, its entry file. */
const FILESYSTEM_SERVER =
  /(?:^|[/\\])(?:@modelcontextprotocol[/\\]server-filesystem(?:@[^/\\]*)?|mcp-server-filesystem(?:\.cmd|\.exe)?|server-filesystem[/\\]dist[/\\]index\.js)$/;

/**
 * The directories a command line grants when it runs server-filesystem (its arguments after the
 * server, options left out), or null when it does not run it. Empty: the server asks the client for
 * MCP roots instead, which a policy cannot see.
 */
export function filesystemDirectories(command: string, args: readonly string[] = []): string[] | null {
  const tokens = [command, ...args];
  const at = tokens.findIndex((t) => FILESYSTEM_SERVER.test(t));
  if (at < 0) return null;
  return tokens.slice(at + 1).filter((t) => !t.startsWith('-'));
}

/**
 * A server-filesystem directory as the proxy will see it once started, with placeholders for what
 * only the start knows: `${VAR}` expanded, `~` as a home, a relative path against the child's
 * absolute cwd, `.` and `..` resolved (as the server's own path.resolve does). Only for judging
 * whether it can become a root; the proxy derives the real one from the started spec.
 */
export function directoryAsStarted(dir: string): string {
  const expanded = dir.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'var');
  const absolute =
    expanded === '~' || expanded.startsWith('~/')
      ? `/home${expanded.slice(1)}`
      : expanded.startsWith('/')
        ? expanded
        : `/cwd/${expanded}`;
  const segments: string[] = [];
  for (const segment of absolute.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** Roots as the check compares them: normalised absolute paths, `/` covering everything. */
export type Roots = readonly string[];

/** Why a root from the policy cannot be used, or null. */
export function rootProblem(root: string): string | null {
  const read = normalizeFilePath(root);
  if (!read.ok) return `root "${root}" ${read.problem}`;
  if (!read.wasNfc) return `root "${root}" is not in Unicode NFC`;
  return null;
}

/** The normalised form of a root that rootProblem accepted. */
export function normalRoot(root: string): string {
  const read = normalizeFilePath(root);
  if (!read.ok) throw new Error(`root "${root}" ${read.problem}`);
  return read.path;
}

function inside(path: string, roots: Roots): boolean {
  return roots.some((r) => r === '/' || path === r || path.startsWith(`${r}/`));
}

/** One path value: null when it normalises to inside a root, else why not (naming the argument). */
function pathOutside(value: string, where: string, roots: Roots): string | null {
  const read = normalizeFilePath(value);
  if (!read.ok) return `argument ${where} ${read.problem}`;
  // A value not in NFC may name another file than its NFC form, so only the exact spelling counts.
  if (!read.wasNfc) return `argument ${where} is not in Unicode NFC`;
  if (!inside(read.path, roots)) return `argument ${where} is outside the server's roots`;
  return null;
}

/** Longer keys are cut in the reason: it is shown and audited, and a key is the agent's text. */
const MAX_KEY_IN_REASON = 64;

const label = (where: string, key: string): string => {
  const shown = key.length > MAX_KEY_IN_REASON ? `${key.slice(0, MAX_KEY_IN_REASON)}...` : key;
  if (!/^[A-Za-z_$][\w$-]*$/.test(shown)) return `${where}[${JSON.stringify(shown)}]`;
  return where === '' ? shown : `${where}.${shown}`;
};

/**
 * Checks every string of the arguments, at any depth: under a path-named key (lists included) each must
 * be a path inside a root; elsewhere, one that looks like a path must be too, except under text keys.
 * Returns null when the call stays inside, else a reason naming the first argument that does not.
 */
export function containmentProblem(args: unknown, roots: Roots): string | null {
  const found = walkPaths(args, (value, where) => pathOutside(value, where, roots));
  return found === null ? null : `containment: ${found}`;
}

/** One path argument the check read, and the root it fell in (null: in none), for an explanation. */
export interface PathCheck {
  argument: string;
  value: string;
  root: string | null;
  problem: string | null;
}

/** Every path argument containmentProblem reads, each with the root that holds it (or why none does). */
export function containmentChecks(args: unknown, roots: Roots): PathCheck[] {
  const checks: PathCheck[] = [];
  walkPaths(args, (value, where) => {
    const problem = pathOutside(value, where, roots);
    const read = normalizeFilePath(value);
    const root =
      problem === null && read.ok
        ? (roots.find((r) => r === '/' || read.path === r || read.path.startsWith(`${r}/`)) ?? null)
        : null;
    checks.push({ argument: where, value, root, problem });
    return null;
  });
  return checks;
}

/** Walks the strings containment reads as paths; stops at the first `visit` that returns a reason. */
function walkPaths(args: unknown, visit: (value: string, where: string) => string | null): string | null {
  const walk = (
    value: unknown,
    where: string,
    mode: 'path' | 'text' | 'any',
    depth: number,
  ): string | null => {
    if (depth > MAX_CONTAINMENT_DEPTH)
      return `argument ${where || '(top level)'} is nested deeper than ${MAX_CONTAINMENT_DEPTH} levels`;
    if (typeof value === 'string') {
      if (mode === 'path' || (mode === 'any' && looksLikePath(value)))
        return visit(value, where || '(top level)');
      return null;
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        const found = walk(item, `${where}[${i}]`, mode, depth + 1);
        if (found) return found;
      }
      return null;
    }
    if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const next = isPathKey(key) ? 'path' : isTextKey(key) ? 'text' : 'any';
        const found = walk(item, label(where, key), next, depth + 1);
        if (found) return found;
      }
    }
    return null;
  };
  return walk(args, '', 'any', 0);
}
