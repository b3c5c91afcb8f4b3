// Shell hazards: characters by which a value that reaches a shell could run, chain or redirect commands.

/** What each hazardous ASCII character does in a POSIX shell, for the reason a person reads. */
const ASCII_HAZARDS: Record<string, string> = {
  ';': 'a ";" (command separator)',
  '&': 'a "&" (background or && chain)',
  '|': 'a "|" (pipe or || chain)',
  '`': 'a backtick (command substitution)',
  $: 'a "$" (expansion: $(...), parameter expansion, $VAR)',
  '>': 'a ">" (output redirection)',
  '<': 'a "<" (input redirection or <(...))',
  '(': 'a "(" (subshell)',
  ')': 'a ")" (subshell)',
  '\\': 'a backslash (escapes the quoting around it)',
  "'": 'a quote (ends the quoting around it)',
  '"': 'a quote (ends the quoting around it)',
  '\n': 'a newline (command separator)',
};

const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** Line breaks other than \n that some layer may turn into one. */
const LINE_BREAKS = new Set([0x85, 0x2028, 0x2029]);
/**
 * Characters NFKC leaves alone that Windows' best-fit code pages turn into a quote, backslash or angle
 * bracket on the way to a program's ANSI command line ("WorstFit"): yen and won signs, curly quotes, primes.
 */
const BEST_FIT = new Set([
  0xa5, 0x20a9, 0x2018, 0x2019, 0x201a, 0x201b, 0x201c, 0x201d, 0x201e, 0x201f, 0x2032, 0x2033, 0x2035,
  0x2036, 0x2039, 0x203a, 0x02b9, 0x02ba, 0x02bc, 0x02dd, 0x00ab, 0x00bb,
]);

/** Deeper values are refused: it bounds the walk, and no command argument nests this far. */
export const MAX_SHELL_DEPTH = 64;

/**
 * The first shell hazard in a string, or null. ASCII metacharacters (`;` `&` `|` backtick `$` `>` `<`
 * `(` `)` quotes, backslash), `#` starting a word (comments out what the server appends), control
 * characters (newline, CR, NUL, ...), other line breaks, invisible characters (hide text from a
 * reviewer), and non-ASCII characters that fold (NFKC, or Windows' best-fit code pages) to a
 * metacharacter, such as the full-width "；". Wildcards (* ? [) and ~ are not hazards: they expand to
 * names, they do not run anything.
 */
export function shellHazard(value: string): string | null {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const c = ch.charCodeAt(0);
    const named = ASCII_HAZARDS[ch];
    if (named !== undefined) return named;
    if (ch === '#' && (i === 0 || /\s/.test(value[i - 1] as string)))
      return 'a "#" starting a word (a comment)';
    if (c < 0x20 || c === 0x7f)
      return `a control character (U+${c.toString(16).padStart(4, '0').toUpperCase()})`;
    if (c < 0x80) continue;
    const cp = value.codePointAt(i) as number;
    const one = String.fromCodePoint(cp);
    if (cp > 0xffff) i++;
    if ((cp >= 0x80 && cp <= 0x9f) || LINE_BREAKS.has(cp))
      return `a control character or line break (U+${cp.toString(16).padStart(4, '0').toUpperCase()})`;
    if (INVISIBLE.test(one)) return 'an invisible character';
    if (BEST_FIT.has(cp))
      return `a character Windows may turn into a quote, backslash or bracket (U+${cp.toString(16).padStart(4, '0').toUpperCase()})`;
    const folded = one.normalize('NFKC');
    if (folded !== one && [...folded].some((f) => ASCII_HAZARDS[f] !== undefined || f === '#'))
      return `a look-alike of a shell metacharacter (U+${cp.toString(16).padStart(4, '0').toUpperCase()})`;
  }
  return null;
}

export type ShellFinding = { hazard: string } | { tooDeep: string };

/**
 * The first hazard in any string of a value (a command string, or a list of arguments at any depth),
 * saying where it is; null when there is none. Numbers, booleans and null carry none.
 */
export function shellHazardIn(value: unknown, where: string, depth = 0): ShellFinding | null {
  if (depth > MAX_SHELL_DEPTH) return { tooDeep: `${where} is nested deeper than ${MAX_SHELL_DEPTH} levels` };
  if (typeof value === 'string') {
    const found = shellHazard(value);
    return found === null ? null : { hazard: `${where} contains ${found}` };
  }
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((item, i) => [`${where}[${i}]`, item])
    : typeof value === 'object' && value !== null
      ? Object.entries(value).map(([key, item]) => [`${where}.${key}`, item])
      : [];
  for (const [at, item] of entries) {
    const found = shellHazardIn(item, at, depth + 1);
    if (found) return found;
  }
  return null;
}
