// One walk over a value: secrets masked by the key that names them, by their name/value pair, or in place inside strings.
import { foldKey, looksSecretCached, namesSecretCached } from './names.js';
import { pointer } from './pointer.js';
import { findSecrets, MIN_SCANNED_LENGTH, maskSpans } from './scan.js';
import { hasLoneSurrogate, toWellFormed } from './unicode.js';

/**
 * `audit`: the audit log's test, broad (any key holding a secret's word is masked, whatever its value).
 * `review`: what a reviewer is shown: keys that NAME a secret; booleans, null and "" stay visible
 * (they cannot be one).
 */
export type RedactMode = 'audit' | 'review';

export interface RedactOptions {
  mode: RedactMode;
  /** The masked form of a secret value (the audit log's `[redacted] hmac-sha256:<hex>`). */
  mask(value: unknown): string;
  /** More keys to treat as secret (the policy's `audit.redact` patterns), given the raw and the folded key. */
  extraSecretKey?: ((key: string, folded: string) => boolean) | undefined;
  /** Top-level keys never masked by their name (an audit record's call fields); their strings are still scanned. */
  plainTopLevel?: ReadonlySet<string> | undefined;
  /** Replace lone surrogates by U+FFFD in strings and keys, and say where (`replaced`). */
  wellFormed?: boolean | undefined;
}

export interface Redaction {
  /** A copy with secrets masked; the input is never changed. */
  value: unknown;
  /** JSON Pointers (RFC 6901) of every value masked, wholly or in part, in document order. */
  masked: string[];
  /** JSON Pointers of strings and keys whose lone surrogates were replaced (wellFormed only). */
  replaced: string[];
}

/** Fields that name what a sibling value is: `{name: "Authorization", value: "..."}`, `{Key, Value}` tags. */
const PAIR_NAMES = new Set(['name', 'key', 'header', 'field', 'param', 'parameter', 'variable', 'var']);
const PAIR_VALUES = new Set(['value', 'val', 'content', 'data']);

/** Key classification, memoised per mode. */
function classify(mode: RedactMode, key: string): boolean {
  return mode === 'audit' ? looksSecretCached(key) : namesSecretCached(key);
}

interface Leaf {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  path: (string | number)[];
  text: string;
}

/**
 * `target[key] = value` as an own field, even for `__proto__`: assigning that would set the
 * prototype instead and drop the field, so a record would show less than was sent.
 */
export function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

class Walk {
  /** Pointers of values masked whole, and the scanned strings, in the order the walk met them. */
  readonly order: Array<string | Leaf> = [];
  readonly replaced: string[] = [];
  readonly leaves: Leaf[] = [];
  readonly path: (string | number)[] = [];

  constructor(readonly options: RedactOptions) {}

  secretKey(key: string): boolean {
    if (classify(this.options.mode, key)) return true;
    const extra = this.options.extraSecretKey;
    return extra?.(key, foldKey(key)) === true;
  }

  /** The masked form of a whole value, or the value itself where a reviewer loses nothing by seeing it. */
  maskWhole(value: unknown): unknown {
    if (this.options.mode === 'review' && (value === null || value === '' || typeof value === 'boolean')) {
      return value;
    }
    this.order.push(pointer(this.path));
    return this.options.mask(value);
  }

  text(value: string): string {
    if (this.options.wellFormed && hasLoneSurrogate(value)) {
      this.replaced.push(pointer(this.path));
      return toWellFormed(value);
    }
    return value;
  }

  value(value: unknown, holder: Record<string, unknown> | unknown[], key: string | number): unknown {
    if (typeof value === 'string') {
      const text = this.text(value);
      if (text.length >= MIN_SCANNED_LENGTH) {
        const leaf: Leaf = { holder, key, path: [...this.path], text };
        this.leaves.push(leaf);
        this.order.push(leaf);
      }
      return text;
    }
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return this.array(value);
    return this.object(value as Record<string, unknown>);
  }

  array(items: unknown[]): unknown[] {
    const out: unknown[] = new Array(items.length);
    // ["Authorization", "Bearer x"]: a header as an entry pair (fetch, Object.entries).
    const pair = items.length === 2 && typeof items[0] === 'string' && this.secretKey(items[0]);
    for (let i = 0; i < items.length; i++) {
      this.path.push(i);
      out[i] = pair && i === 1 ? this.maskWhole(items[i]) : this.value(items[i], out, i);
      this.path.pop();
    }
    return out;
  }

  object(object: Record<string, unknown>, top = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const pair = this.pairNamesSecret(object);
    const plain = top ? this.options.plainTopLevel : undefined;
    for (const rawKey in object) {
      if (!Object.hasOwn(object, rawKey)) continue;
      const item = object[rawKey];
      let key = rawKey;
      if (this.options.wellFormed && hasLoneSurrogate(rawKey)) {
        key = toWellFormed(rawKey);
        this.replaced.push(pointer([...this.path, key]));
      }
      this.path.push(key);
      let result: unknown;
      if (item === undefined) result = undefined;
      else if (plain?.has(key)) result = this.value(item, out, key);
      else if ((pair && PAIR_VALUES.has(key.toLowerCase())) || this.secretKey(key))
        result = this.maskWhole(item);
      else result = this.value(item, out, key);
      this.path.pop();
      setField(out, key, result);
    }
    return out;
  }

  /** Whether the object is a name/value pair whose name names a secret. */
  pairNamesSecret(object: Record<string, unknown>): boolean {
    let named = false;
    let valued = false;
    for (const key in object) {
      if (key.length > 9) continue;
      const lower = key.toLowerCase();
      if (PAIR_VALUES.has(lower)) valued = true;
      else if (PAIR_NAMES.has(lower)) {
        const name = object[key];
        if (typeof name === 'string' && this.secretKey(name)) named = true;
      }
    }
    return named && valued;
  }

  /** Masks, in place, the credentials the detectors find inside the strings collected on the way. */
  scanLeaves(): string[] {
    const hit = new Set<Leaf>();
    if (this.leaves.length > 0) {
      const spans = findSecrets(this.leaves.map((leaf) => leaf.text));
      for (let i = 0; i < this.leaves.length; i++) {
        const found = spans[i];
        if (!found || found.length === 0) continue;
        const leaf = this.leaves[i] as Leaf;
        const text = maskSpans(leaf.text, found, (secret) => this.options.mask(secret));
        if (Array.isArray(leaf.holder)) leaf.holder[leaf.key as number] = text;
        else setField(leaf.holder, leaf.key as string, text);
        hit.add(leaf);
      }
    }
    // Whole values and strings masked in part, in the order the walk met them (document order).
    const masked: string[] = [];
    for (const entry of this.order) {
      if (typeof entry === 'string') masked.push(entry);
      else if (hit.has(entry)) masked.push(pointer(entry.path));
    }
    return masked;
  }
}

/** A copy of `value` with its secrets masked, and where. */
export function redact(value: unknown, options: RedactOptions): Redaction {
  const walk = new Walk(options);
  let out: unknown;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    out = walk.object(value as Record<string, unknown>, true);
  } else {
    // A bare value sits in a box so a string leaf has a holder; its pointer is '' (the whole value).
    const box: unknown[] = [undefined];
    box[0] = walk.value(value, box, 0);
    const masked = walk.scanLeaves();
    return { value: box[0], masked, replaced: walk.replaced };
  }
  const masked = walk.scanLeaves();
  return { value: out, masked, replaced: walk.replaced };
}
