// Dotted argument paths (`customer.id`, `items[*].amount_cents`): parsed once, read without trusting the input.

export type Segment = { key: string } | { index: number } | { each: true };
export interface ArgPath {
  text: string;
  segments: Segment[];
  /** True when the path contains [*] and so names several values. */
  many: boolean;
}

const PART = /^([^.[\]]+)((?:\[(?:\*|\d+)\])*)$/;

/** Parses a path or returns a message saying what is wrong with it. */
export function parsePath(text: string): ArgPath | string {
  if (text.length === 0) return 'argument path is empty';
  const segments: Segment[] = [];
  for (const part of text.split('.')) {
    const m = PART.exec(part);
    if (!m) return `argument path "${text}" is malformed near "${part}" (use a.b, a[0] or a[*].b)`;
    segments.push({ key: m[1] as string });
    for (const sub of (m[2] ?? '').match(/\[(\*|\d+)\]/g) ?? []) {
      const inner = sub.slice(1, -1);
      segments.push(inner === '*' ? { each: true } : { index: Number(inner) });
    }
  }
  return { text, segments, many: segments.some((s) => 'each' in s) };
}

/** Marks a value that is not there: distinct from null, which is a value. */
export const ABSENT: unique symbol = Symbol('absent');
export type Read = unknown | typeof ABSENT;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only, so `__proto__` or `constructor` never reach the prototype. */
function child(value: unknown, seg: Segment): Read {
  if ('key' in seg) return isRecord(value) && Object.hasOwn(value, seg.key) ? value[seg.key] : ABSENT;
  if ('index' in seg) return Array.isArray(value) && seg.index < value.length ? value[seg.index] : ABSENT;
  return ABSENT;
}

/** Reads a single-valued path (no [*]). */
export function readOne(root: unknown, path: ArgPath): Read {
  let value: Read = root;
  for (const seg of path.segments) {
    value = child(value, seg);
    if (value === ABSENT) return ABSENT;
  }
  return value;
}

/**
 * Reads every value a path names. Returns ABSENT when any step is missing or a [*] meets something
 * that is not an array: for a cap, one unreadable element makes the whole sum unreadable.
 */
export function readAll(root: unknown, path: ArgPath): unknown[] | typeof ABSENT {
  let values: unknown[] = [root];
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const value of values) {
      if ('each' in seg) {
        if (!Array.isArray(value)) return ABSENT;
        next.push(...value);
      } else {
        const c = child(value, seg);
        if (c === ABSENT) return ABSENT;
        next.push(c);
      }
    }
    values = next;
  }
  return values;
}

/**
 * Reads every value a [*] path names, for conditions: ABSENT when the argument itself is missing (the
 * condition is false, as for any absent argument), `broken` when it is there but does not have the
 * shape the path describes (a [*] meets a non-array, an element lacks the key): that is unreadable.
 */
export function readEach(
  root: unknown,
  path: ArgPath,
): { values: unknown[] } | { broken: string } | typeof ABSENT {
  let values: unknown[] = [root];
  let inside = false;
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const value of values) {
      if ('each' in seg) {
        if (!Array.isArray(value)) return { broken: `${path.text} is not a list where [*] expects one` };
        next.push(...value);
      } else {
        const c = child(value, seg);
        if (c === ABSENT) {
          if (!inside) return ABSENT;
          return { broken: `${path.text} is missing in an element` };
        }
        next.push(c);
      }
    }
    if ('each' in seg) inside = true;
    values = next;
  }
  return { values };
}
