// The hash chain: how a record is hashed, written as a line, and checked when read back.
import { canonicalJson, sha256Hex } from '../util/index.js';
import type { AuditRecord } from './types.js';

// Still importable from here: src/web's display and API import it from this file.

/** The `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;
/** Every line ends with this member followed by `"}`; see formatLine. */
const HASH_MEMBER = ',"hash":"';
const SUFFIX_LENGTH = HASH_MEMBER.length + 64 + 2;

export function isHexDigest(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** hash = sha256(prev + canonical JSON of the record without hash), lower-case hex. */
export function chainHash(prev: string, canonicalWithoutHash: string): string {
  return sha256Hex(prev + canonicalWithoutHash);
}

/**
 * One JSONL line: the canonical JSON of the record without `hash`, with `"hash"` appended as the
 * last member. Putting it last (instead of re-sorting) lets a reader recover the hashed bytes
 * exactly, which keeps verification fast.
 */
export function formatLine(canonicalWithoutHash: string, hash: string): string {
  return `${canonicalWithoutHash.slice(0, -1)}${HASH_MEMBER}${hash}"}\n`;
}

/**
 * A record exactly as the writer stored it, newline included: re-serializing a parsed writer line
 * this way gives back the same bytes (what the JSONL export serves).
 */
export function recordLine(record: AuditRecord): string {
  const { hash, ...rest } = record;
  return formatLine(canonicalJson(rest), hash);
}

/** A line read back: the record, its stored hash, and the canonical text its hash must cover. */
export interface ParsedLine {
  /** The record as parsed (it may still carry its `hash` member). */
  record: Record<string, unknown>;
  hash: unknown;
  canonical: string;
}

/** Parses one line (without its newline); throws SyntaxError when it is not a JSON object. */
export function parseLine(line: string): ParsedLine {
  const parsed: unknown = JSON.parse(line);
  if (!isPlainObject(parsed)) throw new SyntaxError('a record must be a JSON object');
  const hash = parsed.hash;
  // Fast path: a line exactly as formatLine wrote it. Then the text before the hash member is the
  // canonical text itself, and proving that is cheaper than canonicalizing again.
  const cut = line.length - SUFFIX_LENGTH;
  if (
    typeof hash === 'string' &&
    cut > 1 &&
    line.startsWith(HASH_MEMBER, cut) &&
    line.slice(cut + HASH_MEMBER.length, -2) === hash &&
    topKeysSorted(parsed) &&
    JSON.stringify(parsed) === line
  ) {
    return { record: parsed, hash, canonical: `${line.slice(0, cut)}}` };
  }
  // Anything else (a reformatted line, a hand-made record): canonicalize what was parsed.
  const { hash: _, ...record } = parsed;
  return { record, hash, canonical: canonicalJson(record) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Key order of a parsed line when it is the writer's: every object's keys in code-unit order
 * (RFC 8785), except the top level's trailing `hash`. JSON.stringify serializes strings and numbers
 * exactly as RFC 8785 does, so sorted keys plus `JSON.stringify(parsed) === line` prove the text
 * is canonical.
 */
function topKeysSorted(value: Record<string, unknown>): boolean {
  let previous: string | undefined;
  for (const key in value) {
    if (key === 'hash') continue;
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!keysSorted(value[key])) return false;
  }
  return true;
}

function keysSorted(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysSorted(item)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!keysSorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}
