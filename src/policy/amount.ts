// Amount caps that fail closed: anything but a plain, finite, non-negative, safe JSON number is unreadable.
import { ABSENT, type ArgPath, readAll } from './paths.js';

export type AmountRead = { ok: true; amount: number } | { ok: false; problem: string };

function describe(value: unknown): string {
  if (value === ABSENT) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return 'not finite';
    if (Object.is(value, -0) || value < 0) return 'negative';
    if (value > Number.MAX_SAFE_INTEGER) return 'beyond 2^53';
    return 'not a whole number';
  }
  return `a ${typeof value}, not a JSON number`;
}

function readable(value: unknown, integer: boolean): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= 0 &&
    !Object.is(value, -0) &&
    value <= Number.MAX_SAFE_INTEGER &&
    (!integer || Number.isInteger(value))
  );
}

/**
 * Reads the amount a cap limits. `integer` is set for cents: a fraction of a cent is not an amount
 * any payment API takes, so it is treated as a trick. [*] paths are summed; an empty list is unreadable,
 * because "nothing to cap" is not something to allow blindly.
 */
export function readAmount(args: unknown, path: ArgPath, integer: boolean): AmountRead {
  const values = readAll(args, path);
  if (values === ABSENT) return { ok: false, problem: `${path.text} is missing` };
  if (!path.many) {
    const [value] = values;
    return readable(value, integer)
      ? { ok: true, amount: value }
      : { ok: false, problem: `${path.text} is ${describe(value)}` };
  }
  if (values.length === 0) return { ok: false, problem: `${path.text} names no values` };
  let sum = 0;
  for (const [i, value] of values.entries()) {
    if (!readable(value, integer))
      return { ok: false, problem: `${path.text} element ${i} is ${describe(value)}` };
    sum += value;
    if (sum > Number.MAX_SAFE_INTEGER) return { ok: false, problem: `${path.text} sums beyond 2^53` };
  }
  return { ok: true, amount: sum };
}
