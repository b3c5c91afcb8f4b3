// Globs for tool, server and agent names: validated strictly, compiled once to fast matchers.
import picomatch from 'picomatch';

const EXTGLOB = /[@!+*?]\(/;
const SPECIAL = /[*?[\]{}()!+@\\]/;

/** Why a glob is refused, or null when it is acceptable. Negation and extglobs make allow rules leak. */
export function globProblem(glob: string): string | null {
  if (glob.trim() !== glob) return `glob "${glob}" has leading or trailing white space`;
  if (glob.startsWith('!'))
    return `glob "${glob}" uses negation (!), which is refused: write a deny rule instead`;
  if (EXTGLOB.test(glob)) return `glob "${glob}" uses an extglob, which is refused`;
  try {
    picomatch.makeRe(glob, { nonegate: true, noextglob: true, strictBrackets: true });
  } catch (error) {
    return `glob "${glob}" is invalid: ${error instanceof Error ? error.message : String(error)}`;
  }
  return null;
}

export type Matcher = (name: string) => boolean;

/** One matcher for a list of globs; `nocase` for tool names (ASCII case is ignored). */
export function compileGlobs(globs: readonly string[], nocase: boolean): Matcher {
  const literals = new Set<string>();
  const patterns: RegExp[] = [];
  for (const glob of globs) {
    if (!SPECIAL.test(glob)) literals.add(nocase ? glob.toLowerCase() : glob);
    else patterns.push(picomatch.makeRe(glob, { nocase, dot: true, nonegate: true, noextglob: true }));
  }
  if (patterns.length === 0) {
    if (literals.size === 1) {
      const [only] = literals;
      return nocase ? (name) => name.toLowerCase() === only : (name) => name === only;
    }
    return nocase ? (name) => literals.has(name.toLowerCase()) : (name) => literals.has(name);
  }
  return (name) => {
    if (literals.size > 0 && literals.has(nocase ? name.toLowerCase() : name)) return true;
    for (const re of patterns) if (re.test(name)) return true;
    return false;
  };
}

/** The literal text before a glob's first special character: every name it matches starts with it. */
export function literalPrefix(glob: string): string {
  const at = glob.search(SPECIAL);
  return at === -1 ? glob : glob.slice(0, at);
}

export function asList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}
