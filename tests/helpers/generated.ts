// Generated JSON values for tests that compare with RFC 8785's reference package (canonicalize).
import canonicalizeModule from 'canonicalize';

export const canonicalize = canonicalizeModule as unknown as (value: unknown) => string;

/** A small deterministic PRNG so failures reproduce. */
export function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

export interface ValueShape {
  strings: readonly string[];
  numbers: readonly number[];
  /** Leaves besides strings, numbers, booleans and null (e.g. Dates), each as likely as an array. */
  leaves?: readonly ((next: () => number) => unknown)[];
  /** The most members an object gets. */
  maxKeys: number;
  key(next: () => number): string;
  /** A member's value, given the generated one (e.g. sometimes undefined). */
  member?: (next: () => number, value: unknown) => unknown;
}

/** A random value of `shape`, nested at most four levels deep. */
export function jsonValue(shape: ValueShape, next: () => number, depth = 0): unknown {
  const pick = (list: readonly unknown[]) => list[Math.floor(next() * list.length)];
  const leaves = shape.leaves ?? [];
  const kinds = 6 + leaves.length;
  const kind = Math.floor(next() * (depth > 3 ? 4 : kinds));
  if (kind === 0) return pick(shape.strings);
  if (kind === 1) return pick(shape.numbers);
  if (kind === 2) return pick([true, false, null]);
  if (kind === 3) return `s${Math.floor(next() * 1000)}`;
  if (kind === 4)
    return Array.from({ length: Math.floor(next() * 4) }, () => jsonValue(shape, next, depth + 1));
  const leaf = leaves[kind - 5];
  if (leaf) return leaf(next);
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(next() * (shape.maxKeys + 1)); i > 0; i--) {
    const key = shape.key(next);
    const member = jsonValue(shape, next, depth + 1);
    object[key] = shape.member ? shape.member(next, member) : member;
  }
  return object;
}
