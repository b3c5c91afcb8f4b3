// JSON helpers with no surprises: deep equality, and a parser that refuses duplicate keys.

/** Deep equality of JSON values (key order does not matter; -0 equals 0 as JSON has one zero). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}

export class JsonInputError extends Error {
  readonly code = 'E_JSON_INPUT';
}

/**
 * JSON.parse, but a duplicate key anywhere is an error instead of "last one wins": two parsers that
 * disagree on which duplicate counts are how an amount slips past a cap.
 */
export function parseJsonStrict(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JsonInputError(`invalid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate !== null) throw new JsonInputError(`duplicate key "${duplicate}" in JSON object`);
  return value;
}

/** Scans already-valid JSON text for an object with a repeated key; returns the key or null. */
function findDuplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
      expectKey = false;
    } else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') {
      expectKey = stack.at(-1) instanceof Set;
    } else if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      if (expectKey) {
        const key = JSON.parse(raw) as string;
        const keys = stack.at(-1);
        if (keys instanceof Set) {
          if (keys.has(key)) return key;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    }
  }
  return null;
}
