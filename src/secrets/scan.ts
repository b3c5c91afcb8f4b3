// Finding credentials in many strings with one pass: the strings joined, every detector run once, spans mapped back.
import { DETECTORS, type Detector, type Finding } from './detectors.js';
import { SECRETLINT } from './secretlint.js';

export type { Finding } from './detectors.js';

/** Every detector, secretlint's rules first. */
export const ALL_DETECTORS: readonly Detector[] = [SECRETLINT, ...DETECTORS];

/** No credential any detector knows is shorter (`a:bc@`, `pin: 12`): shorter strings are not scanned. */
export const MIN_SCANNED_LENGTH = 8;

/** Joins strings so no detector match crosses from one into the next (see detectors.ts). */
const SEPARATOR = '\0';

/** Merged spans per input string: `spans[i]` are the [start, end) ranges to mask in `texts[i]`, in order. */
export function findSecrets(texts: readonly string[], detectors = ALL_DETECTORS): Finding[][] {
  const spans: Finding[][] = texts.map(() => []);
  const starts: number[] = [];
  const indexes: number[] = [];
  let joined = '';
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i] as string;
    if (text.length < MIN_SCANNED_LENGTH) continue;
    if (joined !== '') joined += SEPARATOR;
    starts.push(joined.length);
    indexes.push(i);
    joined += text;
  }
  if (joined === '') return spans;
  const found: Finding[] = [];
  for (const detector of detectors) detector.find(joined, found);
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
