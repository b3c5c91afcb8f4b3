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
  const scan = scanValue(result, { mask: resultMask, skip: binary });
  const instructions = findInstructions(result, binary);
  if (scan.findings.length === 0) return { result, findings: [], instructions };
  const found = { findings: scan.findings, instructions };
  if (action === 'allow') return { result, ...found, action: 'passed' };
  if (action === 'block') return { result, ...found, action: 'blocked' };
  const masked = scan.value as Result;
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
