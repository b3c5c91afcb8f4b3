// The redaction walk: masks by key, by name/value pair, and inside strings; says where; keeps the input intact.
import { describe, expect, it } from 'vitest';
import { redact, resolvePointer } from '../../src/secrets/index.js';

const mask = (value: unknown) => `<${JSON.stringify(value)}>`;
const audit = (value: unknown) => redact(value, { mode: 'audit', mask });
const review = (value: unknown) => redact(value, { mode: 'review', mask });

describe('name/value pairs', () => {
  it('masks the value of a pair whose name names a secret, in both modes, whatever the spelling of the fields', () => {
    const args = {
      headers: [
        { name: 'Authorization', value: 'Bearer abc.def.ghi' },
        { name: 'Accept', value: 'application/json' },
      ],
      tags: [
        { Key: 'API_KEY', Value: 'k-123' },
        { Key: 'team', Value: 'payments' },
      ],
      env: [{ name: 'DB_PASSWORD', value: 'pw', description: 'the database password' }],
      params: [{ param: 'client_secret', data: 's3' }],
    };
    for (const redaction of [audit(args), review(args)]) {
      expect(redaction.value).toEqual({
        headers: [
          { name: 'Authorization', value: '<"Bearer abc.def.ghi">' },
          { name: 'Accept', value: 'application/json' },
        ],
        tags: [
          { Key: 'API_KEY', Value: '<"k-123">' },
          { Key: 'team', Value: 'payments' },
        ],
        env: [{ name: 'DB_PASSWORD', value: '<"pw">', description: 'the database password' }],
        params: [{ param: 'client_secret', data: '<"s3">' }],
      });
      expect(redaction.masked).toEqual([
        '/headers/0/value',
        '/tags/0/Value',
        '/env/0/value',
        '/params/0/data',
      ]);
    }
  });

  it('masks the second item of an entry pair ["Authorization", ...], not of other pairs', () => {
    const { value, masked } = review({
      entries: [
        ['Authorization', 'Basic YWxpY2U6cHc='],
        ['Accept', 'json'],
      ],
    });
    expect(value).toEqual({
      entries: [
        ['Authorization', '<"Basic YWxpY2U6cHc=">'],
        ['Accept', 'json'],
      ],
    });
    expect(masked).toEqual(['/entries/0/1']);
  });
});

describe('the reviewer view against the audit log', () => {
  const args = {
    token_address: '0x52908400098527886E0F7030069857D2E4169EE7',
    max_tokens: 1024,
    token_count: 3,
    signature: 'Ada Lovelace',
    passenger: 'Grace',
    keyboard: 'dvorak',
    password: 'hunter2',
    pin: 4321,
    has_password: true,
    api_key: '',
    secret: null,
  };

  it('shows look-alikes and values that cannot be secrets to the reviewer; the audit log masks them', () => {
    const shown = review(args);
    expect(shown.value).toEqual({ ...args, password: '<"hunter2">', pin: '<4321>' });
    expect(shown.masked).toEqual(['/password', '/pin']);
    const stored = audit(args).value as Record<string, unknown>;
    for (const key of [
      'token_address',
      'max_tokens',
      'token_count',
      'signature',
      'password',
      'pin',
      'has_password',
    ]) {
      expect([key, stored[key]]).toEqual([key, mask(args[key as keyof typeof args])]);
    }
    expect([stored.passenger, stored.keyboard]).toEqual(['Grace', 'dvorak']);
  });
});

describe('pointers', () => {
  it('names every masked value by its JSON Pointer, in document order, escaping / and ~', () => {
    const value = {
      z: { password: 'a' },
      'a/b': { 'c~d': { token: 'b' } },
      list: ['plain', `see ghp_${'x1Y2'.repeat(9)}`, { secret: 'c' }],
    };
    const { masked } = review(value);
    expect(masked).toEqual(['/z/password', '/a~1b/c~0d/token', '/list/1', '/list/2/secret']);
    for (const at of masked) expect(resolvePointer(value, at).found).toBe(true);
    expect(resolvePointer(value, '/a~1b/c~0d/token')).toEqual({ found: true, value: 'b' });
    expect(resolvePointer(value, '/list/3')).toEqual({ found: false });
    expect(resolvePointer(value, '/__proto__')).toEqual({ found: false });
  });

  it('masks a bare string argument in place, named by the empty pointer', () => {
    expect(review('Authorization: Bearer abcdef123456')).toEqual({
      value: 'Authorization: Bearer <"abcdef123456">',
      masked: [''],
      replaced: [],
    });
  });
});

describe('the walk', () => {
  it('never changes its input, and keeps __proto__ as data', () => {
    const input = JSON.parse('{"__proto__":{"password":"p"},"note":"API_KEY=zz9-secret ./run"}') as unknown;
    const before = JSON.stringify(input);
    const { value } = audit(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(JSON.stringify(value)).toBe(
      '{"__proto__":{"password":"<\\"p\\">"},"note":"API_KEY=<\\"zz9-secret\\"> ./run"}',
    );
  });

  it('masks a secret the same whole or inside a string, so equal secrets correlate', () => {
    const token = `ghp_${'q7W8'.repeat(9)}`;
    const { value } = audit({ token, note: `pushed with ${token} today` });
    expect(value).toEqual({ token: mask(token), note: `pushed with ${mask(token)} today` });
  });

  it('replaces lone surrogates by U+FFFD in strings and keys when asked, and says where', () => {
    const input = { 'k\uD800': 'v', note: 'a\uDC00b', ok: 'pair \uD83D\uDE00 kept', list: ['\uDBFF'] };
    const fixed = redact(input, { mode: 'audit', mask, wellFormed: true });
    expect(fixed.value).toEqual({
      'k\uFFFD': 'v',
      note: 'a\uFFFDb',
      ok: 'pair \uD83D\uDE00 kept',
      list: ['\uFFFD'],
    });
    expect(fixed.replaced).toEqual(['/k\uFFFD', '/note', '/list/0']);
    expect(audit(input).replaced).toEqual([]);
  });

  it('asks the extra patterns with the raw key and the folded one', () => {
    const seen: string[][] = [];
    const { value } = redact(
      { '\u0405SN': '123-45-6789', other: 1 },
      {
        mode: 'review',
        mask,
        extraSecretKey: (key, folded) => {
          seen.push([key, folded]);
          return /^ssn$/i.test(folded);
        },
      },
    );
    expect(value).toEqual({ '\u0405SN': '<"123-45-6789">', other: 1 });
    expect(seen).toContainEqual(['\u0405SN', 'SSN']);
  });

  it('leaves plain top-level fields unmasked by name, but scans their text', () => {
    const { value } = redact(
      { tool: 'reset_password', reason: 'curl -u x -H "X-Api-Key: k-99887766"', password: 'p' },
      { mode: 'audit', mask, plainTopLevel: new Set(['tool', 'reason']) },
    );
    expect(value).toEqual({
      tool: 'reset_password',
      reason: 'curl -u x -H "X-Api-Key: <"k-99887766">"',
      password: '<"p">',
    });
  });
});
