// Lone UTF-16 surrogates: found in call arguments (denied) and replaced in audit records (strict JSON lines).
import { pointer } from './pointer.js';

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** ES2024's String#isWellFormed / #toWellFormed (Node 20 has them; the regular expressions are the fallback). */
type WellFormed = { isWellFormed?: () => boolean; toWellFormed?: () => string };
const native = typeof (String.prototype as WellFormed).isWellFormed === 'function';

export function hasLoneSurrogate(text: string): boolean {
  return native ? !(text as unknown as Required<WellFormed>).isWellFormed() : LONE_SURROGATE.test(text);
}

/** `text` with every lone surrogate replaced by U+FFFD, as a UTF-8 encoder would. */
export function toWellFormed(text: string): string {
  return native
    ? (text as unknown as Required<WellFormed>).toWellFormed()
    : text.replace(LONE_SURROGATES, '\uFFFD');
}

/**
 * The JSON Pointer of the first string (or object key) in `value` holding a lone surrogate, or null.
 * Such text is not valid Unicode: no UTF-8 peer can receive it as sent.
 */
export function findLoneSurrogate(value: unknown, path: (string | number)[] = []): string | null {
  if (typeof value === 'string') return hasLoneSurrogate(value) ? pointer(path) : null;
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findLoneSurrogate(value[i], [...path, i]);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    if (hasLoneSurrogate(key)) return pointer([...path, key]);
    const found = findLoneSurrogate(item, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}
