// Which keys name a secret: keys normalised (NFKC, no invisible characters, confusables folded) and tokenised.
import confusables from 'unhomoglyph/data.json' with { type: 'json' };

const CONFUSABLES = confusables as Record<string, string>;

/** Zero-width and other invisible characters: `pass\u200bword` must read as `password`. */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/gu;
const MARKS = /\p{M}/gu;
const NON_ASCII = /\P{ASCII}/u;

/**
 * A key as a reader sees it: NFKC (fullwidth and mathematical letters become ASCII), invisible
 * characters removed, every non-ASCII character replaced by its Unicode confusable (UTS #39, so
 * Cyrillic `а` in `pаssword` is `a`), accents dropped. ASCII itself is left alone: `m` stays `m`
 * (UTS #39 would make it `rn`). Case is kept, for splitting camelCase.
 */
export function foldKey(key: string): string {
  let text = key.normalize('NFKC').replace(INVISIBLE, '');
  if (!NON_ASCII.test(text)) return text;
  let folded = '';
  for (const char of text) {
    folded += char.charCodeAt(0) < 0x80 ? char : (CONFUSABLES[char] ?? char);
  }
  text = folded.normalize('NFKD').replace(MARKS, '').normalize('NFKC');
  return text;
}

/** A key's words, lower case: `X-Api-Key` -> x, api, key; `clientSecret` -> client, secret; `APIKey` -> api, key. */
export function keyTokens(key: string): string[] {
  return foldKey(key)
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((token) => token !== '');
}

/**
 * Heads that name a secret at the end of a key, whatever comes before (compact form, no
 * separators): user_password, clientSecret, X-Auth-Token, stripe_api_key, session_id.
 */
const SECRET_ENDINGS = [
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret',
  'secrets',
  'token',
  'apikey',
  'apikeys',
  'privatekey',
  'secretkey',
  'accesskey',
  'signingkey',
  'encryptionkey',
  'masterkey',
  'clientkey',
  'authkey',
  'sshkey',
  'sessionkey',
  'sessionid',
  'authorization',
  'authorisation',
  'credential',
  'credentials',
  'cookie',
  'cookies',
  'bearer',
  'jwt',
  'authcode',
  'mfacode',
  'otpcode',
  'pincode',
  'pinnumber',
  'accesstokens',
  'refreshtokens',
  'authtokens',
  'apitokens',
  'idtokens',
];

/** Whole last words that name a secret on their own: db_pass, x-auth, card_pin, otp. */
const SECRET_WORDS = new Set(['pass', 'pwd', 'pin', 'otp', 'totp', 'auth', 'cvv', 'cvc', 'creds', 'psk']);

/** `...token` that is a position, not a credential: page_token, nextToken, continuation_token. */
const NON_SECRET_TOKEN_QUALIFIERS = [
  'page',
  'next',
  'prev',
  'previous',
  'continuation',
  'pagination',
  'cursor',
  'sync',
  'resume',
  'cancellation',
  'idempotency',
];

/** Trailing words that describe a secret's form rather than change what it is: password_confirm, auth_header. */
const MODIFIERS = new Set([
  'value',
  'val',
  'confirm',
  'confirmation',
  'again',
  'repeat',
  'plain',
  'plaintext',
  'raw',
  'b64',
  'base64',
  'encoded',
  'string',
  'str',
  'text',
  'input',
  'header',
  'headers',
]);

/**
 * Whether a key NAMES a secret (the reviewer's view): its last word, or its end read without
 * separators, is a secret's name. `token_address`, `max_tokens`, `token_count`, `signature`,
 * `passenger`, `keyboard` and `author` do not; `password`, `api key`, `X-Auth`, `auth_header`,
 * `clientSecret`, `pаssword` (Cyrillic а) and `pass\u200bword` do.
 */
export function namesSecret(key: string): boolean {
  return tokensNameSecret(keyTokens(key));
}

function tokensNameSecret(tokens: string[]): boolean {
  let end = tokens.length;
  while (end > 1 && MODIFIERS.has(tokens[end - 1] as string)) end--;
  if (end === 0) return false;
  if (SECRET_WORDS.has(tokens[end - 1] as string)) return true;
  const compact = tokens.slice(0, end).join('');
  for (const ending of SECRET_ENDINGS) {
    if (!compact.endsWith(ending)) continue;
    if (ending === 'token') {
      const before = compact.slice(0, -ending.length);
      if (NON_SECRET_TOKEN_QUALIFIERS.some((word) => before.endsWith(word))) continue;
    }
    return true;
  }
  return false;
}

/** Anywhere in a key, for the audit log: broad on purpose (a masked harmless value costs little there). */
const ANYWHERE =
  /passw(?:or)?d|passphrase|passcode|secret|token|apikey|authori[sz]ation|cookie|privatekey|credential|session(?:id|key|token)|accesskey|signature|bearer|jwt|oauth/;
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't' };

/**
 * Whether a key LOOKS secret (the audit log's test): everything namesSecret accepts, plus any key
 * holding a secret's word anywhere (max_tokens, signature, author_token_id), any word starting
 * with `auth` but `author...` (x-auth-user, authheader, authenticate), and digits read as letters
 * (passw0rd).
 */
export function looksSecret(key: string): boolean {
  const tokens = keyTokens(key);
  if (tokensNameSecret(tokens)) return true;
  const compact = tokens.join('');
  if (ANYWHERE.test(compact) || ANYWHERE.test(compact.replace(/[013457]/g, (d) => LEET[d] ?? d))) {
    return true;
  }
  for (const token of tokens) {
    if (SECRET_WORDS.has(token) || token === 'sig') return true;
    if (token.startsWith('auth') && !token.startsWith('author')) return true;
  }
  return false;
}

const CACHE_LIMIT = 10_000;

/** A classifier with a bounded memo: the same few keys and header names come back in every call. */
function cached(classify: (key: string) => boolean): (key: string) => boolean {
  const memo = new Map<string, boolean>();
  return (key) => {
    let secret = memo.get(key);
    if (secret === undefined) {
      secret = classify(key);
      if (memo.size >= CACHE_LIMIT) memo.clear();
      memo.set(key, secret);
    }
    return secret;
  };
}

export const namesSecretCached = cached(namesSecret);
export const looksSecretCached = cached(looksSecret);
