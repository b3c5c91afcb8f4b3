// Credentials anywhere in a JSON value (a tool's result): where each was found, by which detectors, and a masked copy.
import { namesSecretCached } from './names.js';
import { pointer } from './pointer.js';
import { setField } from './redact.js';
import { findSecrets, MIN_SCANNED_LENGTH } from './scan.js';

/** The detector name of a non-empty string under a key that names a secret (`"password": "..."`). */
export const KEY_NAME_DETECTOR = 'secret-key-name';

/**
 * One string that holds credentials: where, which detectors, and how many spans. `detector` is the
 * sorted unique names joined by `+` (as in Finding), not a list: the audit log reads a two-item list
 * whose first item holds a secret's word (`secretlint:aws`) as a header pair and masks the second.
 */
export interface ValueFinding {
  pointer: string;
  detector: string;
  count: number;
}

export interface ValueScan {
  /** A copy with every credential replaced by `mask(detector)`; the input is never changed. */
  value: unknown;
  /** In document order; empty when nothing was found. */
  findings: ValueFinding[];
}

export interface ValueScanOptions {
  /** The text that replaces one credential, given the detector(s) that found it (`a+b` when several). */
  mask(detector: string): string;
  /** Strings not to scan, by their path (binary payloads such as base64 image data). */
  skip?: ((path: readonly (string | number)[]) => boolean) | undefined;
}

interface Leaf {
  holder: Record<string, unknown> | unknown[];
  key: string | number;
  path: (string | number)[];
  text: string;
}

/**
 * Every string at any depth is scanned (keys are not: a result names its own fields). A string under
 * a key that names a secret is masked whole, so `{"password": "hunter2"}` is caught even though no
 * pattern matches `hunter2` alone. All strings are scanned in one pass (scan.ts).
 */
export function scanValue(value: unknown, options: ValueScanOptions): ValueScan {
  const leaves: Leaf[] = [];
  const whole = new Map<Leaf, true>();
  const path: (string | number)[] = [];
  const skip = options.skip;

  const visit = (item: unknown, holder: Leaf['holder'], key: string | number, named: boolean): unknown => {
    if (typeof item === 'string') {
      if (skip?.(path)) return item;
      const leaf: Leaf = { holder, key, path: [...path], text: item };
      if (named && item !== '') {
        whole.set(leaf, true);
        leaves.push(leaf);
      } else if (item.length >= MIN_SCANNED_LENGTH) leaves.push(leaf);
      return item;
    }
    if (typeof item !== 'object' || item === null) return item;
    if (Array.isArray(item)) {
      const out: unknown[] = new Array(item.length);
      for (let i = 0; i < item.length; i++) {
        path.push(i);
        out[i] = visit(item[i], out, i, false);
        path.pop();
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const k in item) {
      if (!Object.hasOwn(item, k)) continue;
      path.push(k);
      setField(out, k, visit((item as Record<string, unknown>)[k], out, k, namesSecretCached(k)));
      path.pop();
    }
    return out;
  };

  const box: unknown[] = [undefined];
  box[0] = visit(value, box, 0, false);

  const findings: ValueFinding[] = [];
  const scanned = leaves.filter((leaf) => !whole.has(leaf));
  const spans = findSecrets(scanned.map((leaf) => leaf.text));
  const spansOf = new Map(scanned.map((leaf, i) => [leaf, spans[i] ?? []]));
  for (const leaf of leaves) {
    let text: string;
    let detector: string;
    let count: number;
    if (whole.has(leaf)) {
      text = options.mask(KEY_NAME_DETECTOR);
      detector = KEY_NAME_DETECTOR;
      count = 1;
    } else {
      const found = spansOf.get(leaf) ?? [];
      if (found.length === 0) continue;
      // Not maskSpans: the mask names each span's own detector, which maskSpans does not pass on.
      text = '';
      let at = 0;
      for (const span of found) {
        text += leaf.text.slice(at, span.start) + options.mask(span.detector);
        at = span.end;
      }
      text += leaf.text.slice(at);
      detector = [...new Set(found.flatMap((span) => span.detector.split('+')))].sort().join('+');
      count = found.length;
    }
    if (Array.isArray(leaf.holder)) leaf.holder[leaf.key as number] = text;
    else setField(leaf.holder, leaf.key as string, text);
    findings.push({ pointer: pointer(leaf.path), detector, count });
  }
  return { value: box[0], findings };
}
