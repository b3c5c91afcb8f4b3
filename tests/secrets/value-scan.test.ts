// Credentials anywhere in a JSON value: pointers and detectors out, a masked copy, the input untouched, and the limits.
import { describe, expect, it } from 'vitest';
import { screenResult } from '../../src/proxy/index.js';
import { KEY_NAME_DETECTOR, scanValue } from '../../src/secrets/index.js';

const github = `ghp_${'a1B2'.repeat(9)}`;
const mask = (detector: string) => `<${detector}>`;

describe('scanValue', () => {
  it('finds credentials at any depth, masks a copy and leaves the input as it was', () => {
    const input = { a: [{ b: `x ${github} y` }, 'plain text, long enough'], n: 5, t: true, z: null };
    const before = structuredClone(input);
    const scan = scanValue(input, { mask });
    expect(input).toEqual(before);
    expect(scan.value).toEqual({
      ...input,
      a: [{ b: 'x <secretlint:github> y' }, 'plain text, long enough'],
    });
    expect(scan.findings).toEqual([{ pointer: '/a/0/b', detector: 'secretlint:github', count: 1 }]);
  });

  it('masks a string under a key that names a secret whole, but not an empty one or a number', () => {
    const scan = scanValue({ password: 'short', api_key: '', pin: 1234, note: 'fine' }, { mask });
    expect(scan.value).toEqual({ password: `<${KEY_NAME_DETECTOR}>`, api_key: '', pin: 1234, note: 'fine' });
    expect(scan.findings.map((f) => f.pointer)).toEqual(['/password']);
  });

  it('keeps a __proto__ key as an own field, masked, and escapes pointers', () => {
    const input = JSON.parse(`{"__proto__": {"a/b~c": "token ${github}"}}`) as Record<string, unknown>;
    const scan = scanValue(input, { mask });
    const out = scan.value as Record<string, Record<string, string>>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({
      'a/b~c': 'token <secretlint:github>',
    });
    expect(scan.findings[0]?.pointer).toBe('/__proto__/a~1b~0c');
  });

  it('a bare string is its own pointer, and nothing found returns no findings', () => {
    expect(scanValue(`use ${github}`, { mask }).findings).toEqual([
      { pointer: '', detector: 'secretlint:github', count: 1 },
    ]);
    expect(scanValue({ a: ['nothing here at all'] }, { mask }).findings).toEqual([]);
  });

  it('limits, stated: a credential split across two strings, or sitting in a key, is not found', () => {
    const split = scanValue([github.slice(0, 20), github.slice(20)], { mask });
    expect(split.findings).toEqual([]);
    expect(scanValue({ [github]: 'admin' }, { mask }).findings).toEqual([]);
  });
});

describe('screenResult on a resources/read result', () => {
  it('masks contents[].text and leaves contents[].blob alone', () => {
    const awsId = `AKIA${'Z7Q2X9W3E4R5T6Y8'}`;
    const result = {
      contents: [
        { uri: 'file:///a.env', text: `GITHUB_TOKEN=${github}` },
        { uri: 'file:///a.bin', blob: awsId },
      ],
    };
    const screened = screenResult(result, 'redact');
    expect(screened.action).toBe('redacted');
    expect(screened.findings.map((f) => f.pointer)).toEqual(['/contents/0/text']);
    const contents = (screened.result as typeof result).contents;
    expect(contents[0]?.text).not.toContain(github);
    expect(contents[1]?.blob).toBe(awsId);
  });
});
