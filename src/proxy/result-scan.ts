// Credentials in what a tool returns: found in text, structured content and embedded resources, then masked, refused or passed on.
import type { Result } from '@modelcontextprotocol/sdk/types.js';
import { findInstructions, type InstructionFinding } from '../inspect/index.js';
import type { ResultSecretAction } from '../policy/index.js';
import { scanValue, type ValueFinding } from '../secrets/index.js';

/** `_meta` key under which a result Portcullis changed says what it masked (pointers and detectors, never values). */
export const RESULT_META_KEY = 'portcullis/result';

/** What was done, as the execution record says it. */
export type ResultScanAction = 'redacted' | 'blocked' | 'passed';

export interface ScreenedResult {
  /** The result to hand the client: masked for redact, the upstream's own otherwise (block builds its own). */
  result: Result;
  findings: ValueFinding[];
  /** Absent when nothing was found. */
  action?: ResultScanAction | undefined;
  /** Instruction-like text (flag only: the result is not changed for it). */
  instructions: InstructionFinding[];
}

/** The text that stands where a credential was: says it was Portcullis, and which detector, never the value. */
export function resultMask(detector: string): string {
  return `[redacted by Portcullis: ${detector}]`;
}

/**
 * Base64 payloads are not scanned: an image's bytes are not text a client reads, and random base64
 * matches entropy-shaped patterns. A tool result's `content[i].data` (image, audio) and
 * `content[i].resource.blob`; a resources/read result's `contents[i].blob`.
 */
function binary(path: readonly (string | number)[]): boolean {
  if (typeof path[1] !== 'number') return false;
  if (path[0] === 'contents') return path.length === 3 && path[2] === 'blob';
  if (path[0] !== 'content') return false;
  return (
    (path.length === 3 && path[2] === 'data') ||
    (path.length === 4 && path[2] === 'resource' && path[3] === 'blob')
  );
}

/**
 * Scans the whole result (a tools/call result, or any other, such as resources/read's), not only `content[].text`: structured content, embedded resources' text,
 * resource links' names and URIs, `_meta` and any field an upstream adds all reach the client.
 */
export function screenResult(result: Result, action: ResultSecretAction): ScreenedResult {
  const blobs = textBlobs(result);
  const view = blobs.length === 0 ? result : withBlobs(result, blobs, (b) => b.text);
  const decoded = new Set(blobs.map((b) => b.path.join('/')));
  const scan = scanValue(view, {
    mask: resultMask,
    skip: (path) => binary(path) && !decoded.has(path.join('/')),
  });
  const instructions = findInstructions(result, binary);
  if (scan.findings.length === 0) return { result, findings: [], instructions };
  const found = { findings: scan.findings, instructions };
  if (action === 'allow') return { result, ...found, action: 'passed' };
  if (action === 'block') return { result, ...found, action: 'blocked' };
  // A blob stays a blob: the masked text goes back as base64, so the client gets the shape it asked for.
  const masked = (
    blobs.length === 0
      ? scan.value
      : withBlobs(scan.value as Result, blobs, (b, now) =>
          typeof now === 'string' && now !== b.text ? Buffer.from(now, 'utf8').toString('base64') : b.blob,
        )
  ) as Result;
  const meta = (typeof masked._meta === 'object' && masked._meta !== null ? masked._meta : {}) as Record<
    string,
    unknown
  >;
  return {
    result: { ...masked, _meta: { ...meta, [RESULT_META_KEY]: { redacted: scan.findings } } },
    ...found,
    action: 'redacted',
  };
}

/** The detectors of all findings, sorted and unique, for a message. */
export function detectorsOf(findings: readonly ValueFinding[]): string[] {
  return [...new Set(findings.flatMap((f) => f.detector.split('+')))].sort();
}

/** A base64 blob whose bytes are UTF-8 text, where it sits in the result. */
interface TextBlob {
  path: (string | number)[];
  blob: string;
  text: string;
}

/** Control characters other than white space: bytes that make a blob binary, not text. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const BINARY_CHARS = /[\u0000-\u0008\u000e-\u001f\u007f]/;

/**
 * Blobs that decode cleanly to UTF-8 text (a file served as application/octet-stream, a config as
 * base64): their text reaches whoever decodes them, so it is scanned like any other. Images and other
 * bytes that are not valid UTF-8, or that hold control characters, stay unscanned (see binary()).
 */
function textBlobs(result: Result): TextBlob[] {
  const found: TextBlob[] = [];
  const consider = (holder: unknown, path: (string | number)[]): void => {
    if (typeof holder !== 'object' || holder === null) return;
    const blob = (holder as { blob?: unknown }).blob;
    if (typeof blob !== 'string' || blob === '') return;
    const text = utf8Text(blob);
    if (text !== undefined) found.push({ path: [...path, 'blob'], blob, text });
  };
  const r = result as { contents?: unknown; content?: unknown };
  if (Array.isArray(r.contents))
    for (const [i, item] of r.contents.entries()) consider(item, ['contents', i]);
  if (Array.isArray(r.content))
    for (const [i, item] of r.content.entries())
      consider((item as { resource?: unknown })?.resource, ['content', i, 'resource']);
  return found;
}

function utf8Text(blob: string): string | undefined {
  const bytes = Buffer.from(blob, 'base64');
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    return BINARY_CHARS.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/** A copy of the result with each text blob's string replaced (the input is never changed). */
function withBlobs(
  result: Result,
  blobs: readonly TextBlob[],
  value: (blob: TextBlob, now: unknown) => string,
): Result {
  const copy = structuredClone(result) as Record<string | number, unknown>;
  for (const b of blobs) {
    let holder: Record<string | number, unknown> = copy;
    for (const key of b.path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
    holder.blob = value(b, holder.blob);
  }
  return copy as Result;
}
