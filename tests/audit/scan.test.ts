// The fast line reader must agree with RFC 8785 (the canonicalize package) whenever it answers.
import { describe, expect, it } from 'vitest';
import { chainHash, formatLine } from '../../src/audit/chain.js';
import { scanWriterLine } from '../../src/audit/scan.js';
import { canonicalize, jsonValue, random, type ValueShape } from '../helpers/generated.js';

const STRINGS = [
  '',
  'a',
  'Zz',
  'ключ',
  'emoji 😀',
  'tab\there',
  'quote"back\\slash',
  'nl\n',
  '\u0001\u001f',
  '/',
  '\u2028',
];
const NUMBERS = [0, 1, -1, 42, 1.5, -0.25, 1e21, 1e-7, 123456789012, 2 ** 53 - 1, 0.1 + 0.2];

const SHAPE: ValueShape = {
  strings: STRINGS,
  numbers: NUMBERS,
  maxKeys: 4,
  key: (next) => STRINGS[Math.floor(next() * STRINGS.length)] + String(Math.floor(next() * 3)),
};

function record(next: () => number): Record<string, unknown> {
  return {
    seq: 1 + Math.floor(next() * 1000),
    prev: '0'.repeat(64),
    event: 'decision',
    args: jsonValue(SHAPE, next),
  };
}

/** Non-canonical spellings of the same record. */
function variants(canonical: string): string[] {
  return [
    canonical.replace(':', ': '),
    canonical.replace('{"', '{ "'),
    canonical.replace(/"seq":(\d+)/, '"seq":$1.0'),
    canonical.replace(/"seq":(\d+)/, '"seq":$1e0'),
    canonical.replace('"event"', '"\\u0065vent"'),
    canonical.replace('decision', 'decisi\\u006fn'),
    canonical.replace('/', '\\/'),
    canonical.replace(/"args":/, '"args":{"z":1,"a":2},"argz":'),
    canonical.replace(/"event":"decision",/, ''),
    `${canonical.slice(0, -1)},"event":"x"}`,
    // What JSON.stringify never writes raw, and escapes it never writes.
    canonical.replace('decision', 'deci\u0001sion'),
    canonical.replace('decision', 'deci\ud800sion'),
    canonical.replace('decision', 'deci\udc00sion'),
    canonical.replace('decision', 'decision\ud83d'),
    canonical.replace('decision', 'deci\\u001Fsion'),
    canonical.replace('decision', 'deci\\u0008sion'),
    canonical.replace('decision', 'deci\\u0041sion'),
    canonical.replace('decision', 'deci\\qsion'),
    // Numbers JavaScript would print otherwise.
    canonical.replace(/"seq":(\d+)/, '"seq":0$1'),
    canonical.replace(/"seq":(\d+)/, '"seq":-0'),
    canonical.replace(/"seq":(\d+)/, '"seq":1$1000000000000000'),
    canonical.replace(/"seq":(\d+)/, '"seq":$1E2'),
  ].filter((text) => text !== canonical);
}

function lineOf(canonical: string): string {
  return formatLine(canonical, chainHash('0'.repeat(64), canonical)).trimEnd();
}

describe('scanWriterLine', () => {
  it('accepts canonical lines and returns exactly the canonical text', () => {
    const next = random(7);
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const canonical = canonicalize(record(next));
      const scanned = scanWriterLine(lineOf(canonical));
      if (scanned === null) continue;
      accepted += 1;
      expect(scanned.canonical).toBe(canonical);
    }
    // Only keys with escapes are left to the slow path.
    expect(accepted).toBeGreaterThan(1000);
  });

  it('never calls a non-canonical line canonical', () => {
    const next = random(11);
    let tried = 0;
    for (let i = 0; i < 500; i++) {
      for (const text of variants(canonicalize(record(next)))) {
        const line = lineOf(text);
        const scanned = scanWriterLine(line);
        tried += 1;
        if (scanned === null) continue;
        // A line JSON.parse refuses (a raw control character, a leading zero) must have been refused.
        const { hash: _, ...parsed } = JSON.parse(line) as Record<string, unknown>;
        expect(scanned.canonical).toBe(canonicalize(parsed));
      }
    }
    expect(tried).toBeGreaterThan(2000);
  });

  it('reads seq, prev, hash and event', () => {
    const canonical = canonicalize({ event: 'chain_break', prev: 'f'.repeat(64), seq: 9 });
    const scanned = scanWriterLine(lineOf(canonical));
    expect(scanned).toMatchObject({ seq: 9, prev: 'f'.repeat(64), event: 'chain_break', canonical });
    expect(scanned?.hash).toBe(chainHash('0'.repeat(64), canonical));
  });
});
