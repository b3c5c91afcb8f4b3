// Turning a caller's event into a record: checked, redacted, sealed into the chain, formatted as a line.
import { canonicalJson } from '../util/index.js';
import { chainHash, formatLine } from './chain.js';
import { type Redactor, setField } from './redact.js';
import {
  AUDIT_EVENT_KINDS,
  type AuditEvent,
  type AuditEventKind,
  type AuditRecord,
  AuditWriteError,
} from './types.js';

/** A record ready to write: the record as returned to the caller, its line and the line's size. */
export interface Sealed {
  record: AuditRecord;
  line: string;
  bytes: number;
}

/** What callers may append: every kind but the log's own chain_break. */
const CALLER_KINDS: ReadonlySet<AuditEventKind> = new Set(
  AUDIT_EVENT_KINDS.filter((kind) => kind !== 'chain_break'),
);
/** Top-level fields that describe the call rather than carry its data: never masked by their name. */
const PLAIN_FIELDS = new Set([
  'event',
  'correlation_id',
  'agent',
  'server',
  'tool',
  'decision',
  'rule',
  'reason',
  'policy_sha256',
]);
/**
 * Set by the log itself; a caller's values for them are dropped. `chain` is never stored: readers
 * (the JSON API) add it to say which writer's chain a record came from.
 */
const CHAIN_FIELDS = new Set(['seq', 'ts', 'prev', 'hash', 'chain']);
/**
 * Top-level identifiers Portcullis makes itself, in a shape no credential has: a value of exactly
 * this shape is stored as it is, without running every detector over it (a UUID was the one text
 * over the scan's minimum length in most records). Any other value is scanned like the rest.
 */
const OWN_IDENTIFIERS: ReadonlyMap<string, RegExp> = new Map([
  ['correlation_id', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/],
  ['policy_sha256', /^[0-9a-f]{64}$/],
]);

/**
 * Set by the log when it replaced lone UTF-16 surrogates (by U+FFFD): the JSON Pointers of the
 * strings and keys it changed. A caller's own value for it is dropped like the chain fields.
 */
export const REPLACED_FIELD = 'lone_surrogates_replaced';

/**
 * The event's fields with secrets masked and every string well-formed Unicode (lone surrogates
 * replaced and listed in REPLACED_FIELD), so each line is strict I-JSON whatever the caller handed
 * in. Throws AuditWriteError for a kind callers may not write.
 */
export function eventFields(event: AuditEvent, redactor: Redactor): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || !CALLER_KINDS.has(event.event)) {
    throw new AuditWriteError(`unknown audit event kind ${JSON.stringify(event?.event)}`, 'invalid_event');
  }
  const own: Record<string, unknown> = {};
  const ids: Record<string, string> = {};
  for (const key in event) {
    if (!Object.hasOwn(event, key)) continue;
    const value = event[key];
    if (value === undefined || CHAIN_FIELDS.has(key) || key === REPLACED_FIELD) continue;
    if (typeof value === 'string' && OWN_IDENTIFIERS.get(key)?.test(value)) ids[key] = value;
    else setField(own, key, value);
  }
  const { value, replaced } = redactor.redaction(own, 'audit', {
    plainTopLevel: PLAIN_FIELDS,
    wellFormed: true,
  });
  const fields: Record<string, unknown> = Object.assign(value as Record<string, unknown>, ids);
  if (replaced.length > 0) fields[REPLACED_FIELD] = replaced;
  return fields;
}

/** Adds the chain fields and hashes; throws TypeError when a value has no JSON form. */
export function seal(fields: Record<string, unknown>, seq: number, prev: string, ts: string): Sealed {
  // One object literal with the spread inside it: members added to a spread copy afterwards cost
  // ~6 µs a record in V8, this ~0.4 µs. A spread (not Object.assign) keeps a __proto__ member data.
  const record: Record<string, unknown> = { agent: null, correlation_id: null, ...fields, seq, ts, prev };
  if (record.agent === undefined) record.agent = null;
  if (record.correlation_id === undefined) record.correlation_id = null;
  const canonical = canonicalJson(record);
  const hash = chainHash(prev, canonical);
  const line = formatLine(canonical, hash);
  record.hash = hash;
  return { record: record as AuditRecord, line, bytes: Buffer.byteLength(line) };
}
