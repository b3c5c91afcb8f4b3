// safeNext: sign-in goes back only to a plain path of this UI, never elsewhere.
import { describe, expect, it } from 'vitest';
import { loginHref, safeNext } from '../../src/web/next.js';

describe('safeNext', () => {
  it('accepts an approval page and plain paths with a plain query', () => {
    expect(safeNext('/approvals/ap_0123456789abcdef')).toBe('/approvals/ap_0123456789abcdef');
    expect(safeNext('/')).toBe('/');
    expect(safeNext('/decided')).toBe('/decided');
    expect(safeNext('/audit?agent=support-bot&limit=50')).toBe('/audit?agent=support-bot&limit=50');
  });

  it.each([
    ['protocol-relative', '//evil.example/approvals'],
    ['backslash', '/\\evil.example'],
    ['backslash later', '/a\\b'],
    ['scheme', 'https://evil.example/'],
    ['javascript', 'javascript:alert(1)'],
    ['no leading slash', 'approvals/ap_0123456789abcdef'],
    ['encoded slash trick', '/%2F%2Fevil.example'],
    ['dot segments', '/approvals/../../login'],
    ['whitespace', '/ /evil'],
    ['tab', '/\t/evil.example'],
    ['newline', '/decided\n'],
    ['not an approval id', '/approvals/ap_XYZ'],
    ['approval subpath', '/approvals/ap_0123456789abcdef/decide'],
    ['sign-in loop', '/login'],
    ['fragment', '/decided#x'],
    ['empty', ''],
    ['too long', `/${'a'.repeat(600)}`],
  ])('refuses %s', (_what, raw) => {
    expect(safeNext(raw)).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    expect(safeNext(undefined)).toBeUndefined();
    expect(safeNext(['/decided'])).toBeUndefined();
  });

  it('builds the sign-in link that comes back', () => {
    expect(loginHref('/approvals/ap_0123456789abcdef')).toBe(
      '/login?next=%2Fapprovals%2Fap_0123456789abcdef',
    );
    expect(loginHref('//evil')).toBe('/login');
    expect(loginHref('/')).toBe('/login');
  });
});
