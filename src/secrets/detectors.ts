// Credentials inside longer text that no secretlint rule finds: each detector small, named and tested.
import { namesSecretCached } from './names.js';

/** Where a credential sits in a text: [start, end) in UTF-16 units, and which detector found it. */
export interface Finding {
  start: number;
  end: number;
  detector: string;
}

export interface Detector {
  /** Stable name, used in tests and documentation. */
  id: string;
  /** Appends what it finds in `text` to `into`. */
  find(text: string, into: Finding[]): void;
}

/**
 * Texts are scanned joined by NUL (scan.ts), so no pattern below may cross one: every open-ended
 * character class excludes \0.
 */
function byGroup(id: string, needs: readonly string[], pattern: RegExp): Detector {
  return {
    id,
    find(text, into) {
      // Every match holds one of these literals: a text without any is not scanned at all.
      if (!needs.some((literal) => text.includes(literal))) return;
      for (const match of text.matchAll(pattern)) {
        const span = match.indices?.groups?.secret;
        if (span && span[1] > span[0]) into.push({ start: span[0], end: span[1], detector: id });
      }
    },
  };
}

/** Auth schemes written before the credential in a header value; the scheme stays readable. */
const SCHEME = /^(?:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|aws4-hmac-sha256|mac)\s+/i;

const BARE_SCHEME = /^(?:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|mac)$/i;

/** A quoted value's contents, or a bare value, as the span to mask (without quotes and trailing blanks). */
function valueSpan(match: RegExpExecArray, into: Finding[], id: string, keepScheme: boolean): void {
  const span = match.indices?.groups?.value;
  const value = match.groups?.value;
  if (!span || value === undefined) return;
  let start = span[0];
  let end = span[1];
  let text = value;
  const quote = text[0];
  if ((quote === '"' || quote === "'") && text.length >= 2 && text.endsWith(quote)) {
    start++;
    end--;
    text = text.slice(1, -1);
  }
  if (keepScheme) {
    // `Authorization: Bearer` with nothing after it holds no credential.
    if (BARE_SCHEME.test(text.trim())) return;
    const scheme = SCHEME.exec(text);
    if (scheme && scheme[0].length < text.length) {
      start += scheme[0].length;
      text = text.slice(scheme[0].length);
    }
  }
  const trimmed = text.trimEnd();
  end = start + trimmed.length;
  if (end > start) into.push({ start, end, detector: id });
}

function byName(id: string, needs: string, pattern: RegExp, keepScheme: boolean): Detector {
  return {
    id,
    find(text, into) {
      if (!text.includes(needs)) return;
      for (const match of text.matchAll(pattern)) {
        if (namesSecretCached(match.groups?.name ?? '')) valueSpan(match, into, id, keepScheme);
      }
    },
  };
}

function isWordCode(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}
function isLetterCode(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/**
 * `NAME<sep>value` found from each separator backwards: a regular expression with a look-behind
 * tries every position of the text, this tries only the separators (a tenth of the time).
 * `nameChar` are the characters a name is made of; the name starts at its leftmost letter that
 * does not continue a word (so `--password` names `password`).
 */
function bySeparator(options: {
  id: string;
  separator: string;
  nameChar: (code: number) => boolean;
  value: RegExp;
  keepScheme: boolean;
  secretName: (name: string) => boolean;
}): Detector {
  const { id, separator, nameChar, value, keepScheme, secretName } = options;
  return {
    id,
    find(text, into) {
      for (let at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, at + 1)) {
        let end = at;
        while (end > 0 && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
        let start = end;
        while (start > 0 && end - start <= 64 && nameChar(text.charCodeAt(start - 1))) start--;
        while (
          start < end &&
          !(isLetterCode(text.charCodeAt(start)) && (start === 0 || !isWordCode(text.charCodeAt(start - 1))))
        ) {
          start++;
        }
        if (start === end || end - start > 64 || !secretName(text.slice(start, end))) continue;
        value.lastIndex = at + separator.length;
        const match = value.exec(text);
        if (match) valueSpan(match, into, id, keepScheme);
      }
    },
  };
}

/** Query parameters that carry a request signature (presigned URLs): access to something, until they expire. */
const URL_SIGNATURES = new Set(['sig', 'signature', 'x-amz-signature', 'x-goog-signature']);

export const DETECTORS: readonly Detector[] = [
  // JSON Web Tokens (JWS, and the first parts of JWE): header and payload are base64url JSON, so `eyJ`.
  byGroup(
    'jwt',
    ['eyJ'],
    /(?<![\w-])(?<secret>eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?)/dg,
  ),
  // `Authorization: Bearer x`, `X-Api-Key: x`, `password: x` in a header, a curl -H, YAML or a sentence.
  bySeparator({
    id: 'named-header',
    separator: ':',
    nameChar: (code) => isWordCode(code) || code === 45,
    value: /[ \t]*(?<value>[^\0\r\n"'\\]+)/dy,
    keepScheme: true,
    secretName: namesSecretCached,
  }),
  // `NAME=value`: ?access_token=, &password=, API_KEY=x in a command, --token=x, form bodies.
  bySeparator({
    id: 'named-assignment',
    separator: '=',
    nameChar: (code) => isWordCode(code) || code === 45 || code === 46,
    value: /[ \t]*(?<value>"[^\0"\n]*"|'[^\0'\n]*'|[^\0\s&;,"'<>{}()[\]]+)/dy,
    keepScheme: false,
    secretName: (name) => namesSecretCached(name) || URL_SIGNATURES.has(name.toLowerCase()),
  }),
  // `--password hunter2`, `--api-key "x"`: a command-line flag naming a secret, then its value.
  byName(
    'named-flag',
    '-',
    /(?<![\w-])--?(?<name>[A-Za-z][\w-]{0,63})[ \t]+(?<value>"[^\0"\n]*"|'[^\0'\n]*'|[^\0\s"'-][^\0\s"']*)/dg,
    false,
  ),
  // `{"password": "x"}` or `{'token': 'x'}` serialised inside a string argument.
  byName(
    'named-json-member',
    ':',
    /(?<q>["'])(?<name>[^\0"'\n]{1,64})\k<q>\s*:\s*(?<value>"(?:[^\0"\\\n]|\\.)*"|'(?:[^\0'\\\n]|\\.)*'|[^\0\s,}\]]+)/dg,
    false,
  ),
  // `Bearer x` on its own (a log line, a copied header value).
  byGroup('bearer', ['earer'], /(?<![\w-])[Bb]earer[ \t]+(?<secret>[A-Za-z0-9._~+/-]{8,}=*)/dg),
  // `scheme://user:password@host`, any scheme (secretlint's rules know http(s), ftp and databases).
  urlUserinfo(),
  // A PEM private key, also when cut short or its base64 is not a valid key (secretlint checks both).
  byGroup(
    'private-key-block',
    ['PRIVATE KEY'],
    /(?<secret>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[^\0]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|(?=\0)|$))/dg,
  ),
  // Google API keys (AIza + 35).
  byGroup(
    'google-api-key',
    ['AIza'],
    /(?<![A-Za-z0-9_-])(?<secret>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])/dg,
  ),
  // Stripe secret and restricted keys.
  byGroup(
    'stripe-key',
    ['k_live_', 'k_test_'],
    /(?<![A-Za-z0-9_])(?<secret>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,})(?![A-Za-z0-9_])/dg,
  ),
];

/** The password of `scheme://user:password@`, found from each `://`. */
function urlUserinfo(): Detector {
  const id = 'url-userinfo';
  const rest = /[^\0\s:@/?#"'<>]*:([^\0\s@/?#"'<>]+)@/dy;
  return {
    id,
    find(text, into) {
      for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
        if (at === 0 || (!isLetterCode(text.charCodeAt(at - 1)) && !isWordCode(text.charCodeAt(at - 1))))
          continue;
        rest.lastIndex = at + 3;
        const span = rest.exec(text)?.indices?.[1];
        if (span) into.push({ start: span[0], end: span[1], detector: id });
      }
    },
  };
}
