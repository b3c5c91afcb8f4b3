// Resource URIs with one spelling each: the normaliser every `kind: resource` rule reads a URI through.

/** Longer URIs are refused: it bounds evaluation, and no sane resource needs more. */
export const MAX_URI_LENGTH = 4096;

export type NormalUri = { ok: true; uri: string } | { ok: false; problem: string };

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/**
 * Escapes that stay escaped, because decoding them changes where the URI splits: gen-delims and
 * sub-delims. Encoded `/`, `\` and `%` are refused instead (below): a server that decodes before it
 * opens (many file servers do) would read `/etc%2Fshadow` as /etc/shadow, and `%252e` as `%2e`.
 */
const KEPT_ESCAPED = new Set([...":?#[]@!$&'()*+,;="]);
const REFUSED_ESCAPED = new Set(['/', '\\', '%']);
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** Characters some layer may read as URI syntax after NFKC folding (full-width solidus, dots...). */
const SYNTAX = /[/\\.:%?#@]/;

const refuse = (problem: string): NormalUri => ({ ok: false, problem });

/**
 * Reads a resource URI as one canonical spelling, or says why it cannot: the scheme and the host are
 * lower-cased, percent-escapes of unreserved characters (and of UTF-8 text) are decoded, the others
 * upper-cased, `.` and `..` segments are resolved and repeated `/` collapsed in the path. Refused
 * (so the request is denied): no scheme, control characters, white space, backslashes, invisible or
 * look-alike characters, escapes of `/`, `\`, `%` or control characters, broken escapes, and a `..`
 * that climbs above the root. Matching uses this form; the upstream still gets the URI as sent.
 */
export function normalizeResourceUri(value: unknown): NormalUri {
  if (typeof value !== 'string') return refuse('is not a string');
  if (value.length === 0) return refuse('is empty');
  if (value.length > MAX_URI_LENGTH) return refuse(`is longer than ${MAX_URI_LENGTH} characters`);
  const scheme = SCHEME.exec(value);
  if (!scheme) return refuse('has no scheme (such as file:)');
  for (const ch of value) {
    const cp = ch.codePointAt(0) as number;
    if (cp <= 0x20 || (cp >= 0x7f && cp <= 0x9f))
      return refuse('contains white space or a control character');
    if (cp === 0x5c) return refuse('contains a backslash (read as / by some parsers)');
    if (cp >= 0xd800 && cp <= 0xdfff) return refuse('contains an unpaired UTF-16 surrogate');
    if (cp >= 0x80 && (INVISIBLE.test(ch) || SYNTAX.test(ch.normalize('NFKC'))))
      return refuse('contains an invisible or look-alike character');
  }
  const decoded = decodeEscapes(value.slice(scheme[0].length));
  if (!decoded.ok) return decoded;
  const rest = decoded.uri.normalize('NFC');
  // The hierarchical part ends at the query or the fragment; only it has segments.
  const end = rest.search(/[?#]/);
  const hier = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? '' : rest.slice(end);
  const lowerScheme = (scheme[1] as string).toLowerCase();
  // RFC 8089: file:/etc/x is file:///etc/x; a relative file path means whatever the server's directory is.
  const isFile = lowerScheme === 'file';
  if (isFile && !hier.startsWith('/')) return refuse('is a relative file: URI');
  if (/(^|[/?#&=;])\.\.?([/?#&;]|$)/.test(tail.slice(1)))
    return refuse('has a "." or ".." segment in its query or fragment');
  let authority = '';
  let path = hier;
  const hasAuthority = hier.startsWith('//');
  if (hasAuthority) {
    const slash = hier.indexOf('/', 2);
    authority = slash === -1 ? hier.slice(2) : hier.slice(2, slash);
    path = slash === -1 ? '' : hier.slice(slash);
    // Host names are case-insensitive; user information (before @) is not.
    const at = authority.lastIndexOf('@');
    authority = authority.slice(0, at + 1) + authority.slice(at + 1).toLowerCase();
    // file://localhost/etc is file:///etc (RFC 8089).
    if (isFile && authority === 'localhost') authority = '';
  }
  const resolved = resolveSegments(path);
  if (resolved === null) return refuse('has a ".." segment above the root');
  const prefix = hasAuthority || isFile ? `${lowerScheme}://${authority}` : `${lowerScheme}:`;
  return { ok: true, uri: `${prefix}${resolved}${tail}` };
}

/** Decodes what can be decoded without changing the URI's structure; refuses what would hide one. */
function decodeEscapes(text: string): NormalUri {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') {
      out += text[i];
      continue;
    }
    // A run of escapes is decoded together: a UTF-8 character spans several.
    let j = i;
    const bytes: number[] = [];
    while (text[j] === '%') {
      const hex = text.slice(j + 1, j + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return refuse('contains a % that is not a percent-escape');
      bytes.push(Number.parseInt(hex, 16));
      j += 3;
    }
    let chars: string;
    try {
      chars = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      return refuse('contains percent-escapes that are not UTF-8 text');
    }
    for (const ch of chars) {
      const cp = ch.codePointAt(0) as number;
      if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x20)
        return refuse('contains an escaped control character or space');
      if (REFUSED_ESCAPED.has(ch)) return refuse(`contains an escaped "${ch}" (%${hex2(cp)})`);
      if (cp >= 0x80 && (INVISIBLE.test(ch) || SYNTAX.test(ch.normalize('NFKC'))))
        return refuse('contains an escaped invisible or look-alike character');
      if (KEPT_ESCAPED.has(ch)) out += `%${hex2(cp)}`;
      else out += UNRESERVED.test(ch) || cp >= 0x80 ? ch : `%${hex2(cp)}`;
    }
    i = j - 1;
  }
  return { ok: true, uri: out };
}

function hex2(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(2, '0');
}

/** RFC 3986 dot-segment removal, with repeated `/` collapsed; null when `..` climbs above the root. */
function resolveSegments(path: string): string | null {
  if (path === '') return '';
  const absolute = path.startsWith('/');
  const segments = path.split('/');
  const kept: string[] = [];
  for (const [i, segment] of segments.entries()) {
    if (segment === '.' || (segment === '' && i > 0 && i < segments.length - 1)) continue;
    if (segment === '..') {
      if (kept.length === 0 || (absolute && kept.length === 1)) return null;
      kept.pop();
      continue;
    }
    kept.push(segment);
  }
  // A path that ended in . or .. names a directory: keep its trailing slash.
  const last = segments.at(-1);
  if ((last === '.' || last === '..') && kept.at(-1) !== '') kept.push('');
  const joined = kept.join('/');
  return absolute && !joined.startsWith('/') ? `/${joined}` : joined;
}

/**
 * A resource glob with its scheme lower-cased (scheme and host are matched lower-case, see above);
 * null when the glob does not start with a literal scheme.
 */
export function normalizeUriGlob(glob: string): string | null {
  if (glob === '**' || glob === '*') return glob;
  const scheme = SCHEME.exec(glob);
  if (!scheme || /[*?[\]{}()!+@\\]/.test(scheme[1] as string)) return null;
  return `${(scheme[1] as string).toLowerCase()}:${glob.slice(scheme[0].length)}`;
}
