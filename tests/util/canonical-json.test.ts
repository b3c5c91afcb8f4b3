// canonicalJson must write exactly what RFC 8785's reference package writes: hashes of records
// written before it changed must still verify, and "same value" comparisons must not move.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/util/index.js';
import { canonicalize, jsonValue, random, type ValueShape } from '../helpers/generated.js';

const STRINGS = [
  '',
  'a',
  'B',
  'aa',
  'ключ',
  'emoji 😀',
  '\ud83d\ude00x',
  'lone \ud800 high',
  'lone \udc00 low',
  'tab\there',
  'quote"back\\slash',
  'nl\n\r\b\f',
  '\u0000\u0001\u001f\u007f',
  '/</script>',
  '\u2028\u2029',
  'é',
  'e\u0301',
  '€',
  '\uffff',
  'x'.repeat(6000),
  `${'y'.repeat(5000)}"`,
];
const NUMBERS = [
  0,
  -0,
  1,
  -1,
  42,
  1.5,
  -0.25,
  1e21,
  1e-7,
  1e-6,
  123456789012,
  2 ** 53 - 1,
  2 ** 53 + 2,
  0.1 + 0.2,
  5e-324,
  1.7976931348623157e308,
  -1e300,
  333333333.3333333,
  4.35,
  0.000001,
  100,
  1e20,
];

const SHAPE: ValueShape = {
  strings: STRINGS,
  numbers: NUMBERS,
  leaves: [(next) => new Date(Math.floor(next() * 2e12))],
  maxKeys: 5,
  key: (next) => `${STRINGS[Math.floor(next() * STRINGS.length)]?.slice(0, 12)}${Math.floor(next() * 12)}`,
  member: (next, value) => (next() < 0.1 ? undefined : value),
};
const value = (next: () => number) => jsonValue(SHAPE, next);

describe('canonicalJson', () => {
  it('writes byte for byte what the canonicalize package writes', () => {
    const next = random(20261202);
    for (let i = 0; i < 5000; i++) {
      const v = value(next);
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it('sorts members by UTF-16 code units, numeric-looking keys included', () => {
    const v = { b: 1, a: 2, '10': 3, '9': 4, é: 5, z: 6, '😀': 7, '\uffff': 8, A: 9, '': 10 };
    expect(canonicalJson(v)).toBe(canonicalize(v));
    expect(canonicalJson(v)).toBe('{"":10,"10":3,"9":4,"A":9,"a":2,"b":1,"z":6,"é":5,"😀":7,"\uffff":8}');
  });

  it('refuses what JSON cannot carry instead of writing something else', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { n: Number.NEGATIVE_INFINITY },
      10n,
      cycle,
      { f: () => 1 },
    ]) {
      expect(() => canonicalJson(bad)).toThrow();
    }
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});
