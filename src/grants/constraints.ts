// Whether a call's arguments fall inside a grant's constraints, and the constraints in words for people.
import { pointer } from '../secrets/index.js';
import { canonicalJson } from '../util/index.js';
import type { GrantConstraint } from './types.js';

/** JSON Pointer of one top-level key (RFC 6901: `~` is `~0`, `/` is `~1`), as masked values are named. */
export function pointerOf(key: string): string {
  return pointer([key]);
}

/** The top-level key a pointer names; undefined for anything deeper or malformed (never covered). */
export function keyOf(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const token = path.slice(1);
  if (token.includes('/') || /~[^01]|~$/.test(token)) return undefined;
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function same(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

function satisfies(constraint: GrantConstraint, present: boolean, value: unknown): boolean {
  // Every constraint needs its argument present: a missing argument may mean an upstream default the reviewer never saw.
  if (!present) return false;
  if (constraint.op === 'any') return true;
  if (constraint.op === 'eq') return same(value, constraint.value);
  const max = constraint.value;
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    typeof max === 'number' &&
    Number.isFinite(max) &&
    value <= max
  );
}

/**
 * True when every named argument meets its constraint and, unless `otherArgs`, the call carries no
 * argument the grant does not name. Arguments that are not a JSON object are never covered.
 */
export function covers(constraints: readonly GrantConstraint[], otherArgs: boolean, args: unknown): boolean {
  const value = args === undefined || args === null ? {} : args;
  if (typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const named = new Set<string>();
  for (const constraint of constraints) {
    const key = keyOf(constraint.path);
    if (key === undefined) return false;
    named.add(key);
    if (!satisfies(constraint, Object.hasOwn(record, key), record[key])) return false;
  }
  if (otherArgs) return true;
  return Object.keys(record).every((key) => named.has(key));
}

function shown(value: unknown): string {
  let text: string;
  try {
    text = canonicalJson(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** One phrase per constraint, e.g. `amount_cents at most 5000`, `customer_id = "c_1"`, `body any value`. */
export function describeConstraint(constraint: GrantConstraint): string {
  const key = keyOf(constraint.path) ?? constraint.path;
  if (constraint.op === 'any') return `${key}: any value`;
  if (constraint.op === 'max') return `${key}: at most ${shown(constraint.value)}`;
  return `${key}: exactly ${shown(constraint.value)}`;
}

/** All constraints in words, ending with what the grant says about arguments it does not name. */
export function describeConstraints(constraints: readonly GrantConstraint[], otherArgs: boolean): string[] {
  const lines = constraints.map(describeConstraint);
  lines.push(otherArgs ? 'other arguments: allowed, any value' : 'no other arguments');
  return lines;
}
