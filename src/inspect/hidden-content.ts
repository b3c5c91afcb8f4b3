// Hidden content in text a model reads but a person skims: invisible and bidi characters, tag characters, comments, blobs, instructions aimed at the model.

import { pointer } from '../secrets/index.js';
import { instructionKinds } from './instructions.js';

/** What kind of hidden content was found. */
export type HiddenKind = 'invisible' | 'bidi' | 'tag' | 'comment' | 'base64' | 'instruction';

export interface HiddenFinding {
  kind: HiddenKind;
  /** JSON Pointer of the string inside the inspected value ("" for a bare string). */
  at: string;
  /** What was found, safe to show: code points as U+XXXX, comments as written (at most 80 characters), phrase families. */
  detail: string;
}

/** Zero-width and other invisible characters; emoji joiners and variation selectors are judged apart. */
const INVISIBLE =
  /\u034F|\u180B|\u180C|\u180D|\u180F|[\u00AD\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200D\u2060-\u2064\u206A-\u206F\u3164\uFEFF\uFFA0]/gu;
/** Bidirectional controls: text that displays in another order than the model reads it. */
const BIDI = /[\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
/** Unicode tag characters (U+E0000-E007F): invisible ASCII ("ASCII smuggling"). */
const TAG = /[\u{E0000}-\u{E007F}]/gu;
const EMOJI_END = /\p{Extended_Pictographic}$/u;
const EMOJI_START = /^\p{Extended_Pictographic}/u;

/** HTML comments, and Markdown's reference-link comments (`[//]: # (...)`), which renderers hide. */
const COMMENTS = [/<!--[\s\S]*?(?:-->|$)/g, /^\s*\[(?:\/\/|comment)\]:\s*#\s*\(.*\)\s*$/gim];

/** A long unbroken run of base64 with both letter cases and a digit: an encoded payload, not prose. */
const BASE64_RUN = /[A-Za-z0-9+/_-]{60,}={0,2}/g;

function codePoints(text: string, pattern: RegExp, keep: (text: string, index: number) => boolean): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(pattern)) {
    const index = match.index ?? 0;
    if (!keep(text, index)) continue;
    found.add(`U+${(match[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return [...found];
}

/** A joiner between emoji (after any variation selector or skin tone) is how emoji are written, not hidden text. */
function notEmojiGlue(text: string, index: number): boolean {
  if (text[index] !== '\u200D') return true;
  const before = text
    .slice(Math.max(0, index - 8), index)
    .replace(/(?:[\uFE0E\uFE0F]|\u{1F3FB}|\u{1F3FC}|\u{1F3FD}|\u{1F3FE}|\u{1F3FF})+$/u, '');
  return !(EMOJI_END.test(before) && EMOJI_START.test(text.slice(index + 1, index + 3)));
}

/** Tag characters after U+1F3F4 (waving black flag) spell a subdivision flag such as Scotland's. */
function notFlagTag(text: string, index: number): boolean {
  const flag = text.lastIndexOf('\u{1F3F4}', index);
  if (flag === -1) return true;
  // Every character between the flag and this one is a tag character too (each is 2 UTF-16 units).
  return !/^[\u{E0020}-\u{E007F}]*$/u.test(text.slice(flag + 2, index));
}

function looksEncoded(run: string): boolean {
  const body = run.replace(/=+$/, '');
  if (!/[A-Z]/.test(body) || !/[a-z]/.test(body) || !/[0-9]/.test(body)) return false;
  // Identifiers written in camelCase or with separators are words, not payloads: a payload rarely
  // has its letters in runs of lower case as long as English words are.
  const words = body.match(/[a-z]{4,}/g)?.length ?? 0;
  return words * 12 < body.length;
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

/** Everything hidden in one string. */
export function inspectText(text: string, at = ''): HiddenFinding[] {
  const findings: HiddenFinding[] = [];
  const invisible = codePoints(text, INVISIBLE, notEmojiGlue);
  if (invisible.length > 0) findings.push({ kind: 'invisible', at, detail: invisible.join(' ') });
  const bidi = codePoints(text, BIDI, () => true);
  if (bidi.length > 0) findings.push({ kind: 'bidi', at, detail: bidi.join(' ') });
  const tags = codePoints(text, TAG, notFlagTag);
  if (tags.length > 0) findings.push({ kind: 'tag', at, detail: `${tags.length} tag character(s)` });
  for (const pattern of COMMENTS) {
    for (const match of text.matchAll(pattern))
      findings.push({ kind: 'comment', at, detail: clip(match[0]) });
  }
  for (const match of text.matchAll(BASE64_RUN)) {
    if (looksEncoded(match[0])) {
      findings.push({ kind: 'base64', at, detail: `${match[0].length} characters of base64` });
    }
  }
  // One vocabulary for descriptions and results (instructions.ts): the phrase families found.
  const instructions = instructionKinds(text);
  if (instructions.length > 0) findings.push({ kind: 'instruction', at, detail: instructions.join('+') });
  return findings;
}

/** Every string in a value (and every object key: a property name is read by the model too). */
export function inspectValue(value: unknown, path: readonly (string | number)[] = []): HiddenFinding[] {
  if (typeof value === 'string') return inspectText(value, pointer(path));
  if (Array.isArray(value)) return value.flatMap((item, i) => inspectValue(item, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [
      ...inspectText(key, `${pointer([...path, key])}#key`),
      ...inspectValue(item, [...path, key]),
    ]);
  }
  return [];
}

/** The parts of a tool definition a model reads: name, title, description, schemas and annotations. */
export interface ToolDefinition {
  name: string;
  title?: unknown;
  description?: unknown;
  inputSchema?: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
}

/** Hidden content anywhere in a tool's definition, with pointers relative to the definition. */
export function inspectTool(tool: ToolDefinition): HiddenFinding[] {
  const { name, title, description, inputSchema, outputSchema, annotations } = tool;
  return inspectValue({ name, title, description, inputSchema, outputSchema, annotations });
}
