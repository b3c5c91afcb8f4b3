// Finding credentials in many strings with one pass: the strings joined, every detector run once, spans mapped back.
import { LRUCache } from 'lru-cache';
import { DETECTORS, type Detector, type Finding } from './detectors.js';
import { SECRETLINT } from './secretlint.js';

export type { Finding } from './detectors.js';

/** Every detector, secretlint's rules first. */
export const ALL_DETECTORS: readonly Detector[] = [SECRETLINT, ...DETECTORS];

/** No credential any detector knows is shorter (`a:bc@`, `pin: 12`): shorter strings are not scanned. */
export const MIN_SCANNED_LENGTH = 8;

/** Joins strings so no detector match crosses from one into the next (see detectors.ts). */
const SEPARATOR = '\0';

/**
 * Short texts every detector already found nothing in. Detectors are pure functions of the text,
 * and no match crosses a SEPARATOR, so a text clean alone is clean among others: it is not scanned
 * again. Records repeat the same short texts (event kinds, reasons, tool names, `ok`), and one
 * secretlint pass costs ~15 µs however short the text. Bounded by total length, least recent out.
 */
const CLEAN_MAX_LENGTH = 512;
const clean = new LRUCache<string, true>({
  maxSize: 2 * 1024 * 1024,
  sizeCalculation: (_value, text) => text.length + 64,
});

/** Merged spans per input string: `spans[i]` are the [start, end) ranges to mask in `texts[i]`, in order. */
export function findSecrets(texts: readonly string[], detectors = ALL_DETECTORS): Finding[][] {
  const spans: Finding[][] = texts.map(() => []);
  const starts: number[] = [];
  const indexes: number[] = [];
  const remember = detectors === ALL_DETECTORS;
  let joined = '';
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    if (text.length < MIN_SCANNED_LENGTH) continue;
    if (remember && text.length <= CLEAN_MAX_LENGTH && clean.has(text)) continue;
    if (joined !== '') joined += SEPARATOR;
    starts.push(joined.length);
    indexes.push(i);
    joined += text;
  }
  if (joined === '') return spans;
  const found: Finding[] = [];
  for (const detector of detectors) detector.find(joined, found);
  if (remember) rememberClean(texts, indexes, starts, found);
  if (found.length === 0) return spans;
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  // A finding belongs to the text it starts in; one that runs past that text's end is cut there.
  let slot = 0;
  for (const finding of found) {
    while (slot + 1 < starts.length && (starts[slot + 1] as number) <= finding.start) slot++;
    const base = starts[slot] as number;
    const index = indexes[slot] as number;
    const length = (texts[index] as string).length;
    const start = finding.start - base;
    const end = Math.min(finding.end - base, length);
    if (start < 0 || start >= end) continue;
    const list = spans[index] as Finding[];
    const last = list.at(-1);
    if (last && start <= last.end) {
      if (end > last.end) last.end = end;
      if (!last.detector.split('+').includes(finding.detector)) last.detector += `+${finding.detector}`;
    } else {
      list.push({ start, end, detector: finding.detector });
    }
  }
  return spans;
}

/** Remembers the scanned short texts no finding starts in or reaches into. */
function rememberClean(
  texts: readonly string[],
  indexes: readonly number[],
  starts: readonly number[],
  found: readonly Finding[],
): void {
  for (let slot = 0; slot < indexes.length; slot++) {
    const text = texts[indexes[slot] as number] as string;
    if (text.length > CLEAN_MAX_LENGTH) continue;
    const start = starts[slot] as number;
    const end = start + text.length;
    if (found.some((finding) => finding.start < end && finding.end > start)) continue;
    clean.set(text, true);
  }
}

/** `text` with each span replaced by `mask(the span's text)`. */
export function maskSpans(text: string, spans: readonly Finding[], mask: (secret: string) => string): string {
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += text.slice(at, span.start) + mask(text.slice(span.start, span.end));
    at = span.end;
  }
  return out + text.slice(at);
}
