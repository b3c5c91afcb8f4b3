// Which keys name a secret (the reviewer's view) and which look secret (the audit log), after folding look-alike spellings.
import { describe, expect, it } from 'vitest';
import { foldKey, keyTokens, looksSecret, namesSecret } from '../../src/secrets/index.js';

/** Keys that name a credential: masked in the reviewer's view and in the audit log. */
const NAMES_A_SECRET = [
  'password',
  'Password',
  'user_password',
  'new-password',
  'password_confirmation',
  'passwd',
  'passphrase',
  'passcode',
  'pass',
  'db_pass',
  'pwd',
  'pin',
  'card_pin',
  'otp',
  'api_key',
  'apiKey',
  'APIKey',
  'api key',
  'X-Api-Key',
  'x-api-key-header',
  'authorization',
  'Proxy-Authorization',
  'auth',
  'x-auth',
  'X-Auth',
  'auth_header',
  'access_token',
  'accessToken',
  'refresh_token',
  'id_token',
  'X-Auth-Token',
  'csrf_token',
  'token',
  'bearer',
  'jwt',
  'private_key',
  'privateKey',
  'ssh_key',
  'client_secret',
  'clientSecret',
  'webhook_secret',
  'secret',
  'secrets',
  'cookie',
  'Set-Cookie',
  'session_id',
  'sessionId',
  'credentials',
  'aws_secret_access_key',
  'auth_code',
  'cvv',
];

/** Keys that only contain such a word with another meaning: shown in full to a reviewer. */
const LOOK_ALIKES = [
  'token_address',
  'max_tokens',
  'maxTokens',
  'token_count',
  'token_type',
  'signature',
  'passenger',
  'passengers',
  'keyboard',
  'author',
  'authority',
  'secretary',
  'password_policy',
  'page_token',
  'nextPageToken',
  'continuation_token',
  'idempotency_key',
  'primary_key',
  'cookie_consent',
  'shipping',
  'spin',
  'opinion',
  'compass',
  'bypass_cache',
];

describe('namesSecret (the reviewer sees everything else)', () => {
  it.each(NAMES_A_SECRET)('%s names a secret', (key) => {
    expect(namesSecret(key)).toBe(true);
    expect(looksSecret(key)).toBe(true);
  });

  it.each(LOOK_ALIKES)('%s does not name one', (key) => {
    expect(namesSecret(key)).toBe(false);
  });
});

describe('looksSecret (the audit log: stricter)', () => {
  it('also masks keys that merely hold a secret word, and digits standing for letters', () => {
    for (const key of [
      'token_address',
      'max_tokens',
      'signature',
      'page_token',
      'secretary',
      'cookie_consent',
      'x_auth_user',
      'authenticate',
      'oauth_state',
      'passw0rd',
      'p4ssword',
      'tx_sig',
    ]) {
      expect([key, looksSecret(key)]).toEqual([key, true]);
    }
  });

  it('leaves words that only contain the letters alone', () => {
    for (const key of [
      'passenger',
      'keyboard',
      'author',
      'authority',
      'shipping',
      'spin',
      'amount_cents',
      'note',
    ]) {
      expect([key, looksSecret(key)]).toEqual([key, false]);
    }
  });
});

describe('keys spelled to slip past', () => {
  const disguised: Array<[string, string]> = [
    ['Cyrillic а (U+0430)', 'p\u0430ssword'],
    ['Cyrillic р, а and о', '\u0440\u0430ssw\u043Erd'],
    ['Greek ο (U+03BF)', 'passw\u03BFrd'],
    ['capital Cyrillic А in API', '\u0410PI_KEY'],
    ['zero-width space', 'pass\u200Bword'],
    ['zero-width joiner', 'api\u200D_key'],
    ['soft hyphen', 'pass\u00ADword'],
    ['word joiner', 'tok\u2060en'],
    ['right-to-left mark', '\u200Fauthorization'],
    ['variation selector', 'secre\uFE0Ft'],
    ['fullwidth letters', '\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44'],
    ['mathematical bold', '\u{1D429}\u{1D41A}\u{1D42C}\u{1D42C}\u{1D430}\u{1D428}\u{1D42B}\u{1D41D}'],
    ['combining accent', 'pa\u0301ssword'],
    ['non-breaking space for the space', 'api\u00A0key'],
  ];

  it.each(disguised)('%s: still names a secret', (_how, key) => {
    expect(namesSecret(key)).toBe(true);
    expect(looksSecret(key)).toBe(true);
  });

  it('folds to the ASCII a reader sees, leaving ASCII alone (m is not rn)', () => {
    expect(foldKey('p\u0430ss\u200Bw\u03BFrd')).toBe('password');
    expect(foldKey('maximum')).toBe('maximum');
    expect(keyTokens('X-Api-Key')).toEqual(['x', 'api', 'key']);
    expect(keyTokens('clientSecretValue')).toEqual(['client', 'secret', 'value']);
    expect(keyTokens('APIKey')).toEqual(['api', 'key']);
  });
});
