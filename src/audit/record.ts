// Turning a caller's event into a record: checked, redacted, sealed into the chain, formatted as a line.
import { canonicalJson, chainHash, formatLine } from './chain.js';
import { type Redactor, setField } from './redact.js';
import { type AuditEvent, type AuditEventKind, type AuditRecord, AuditWriteError } from './types.js';

/** A record ready to write: the record as returned to the caller, its line and the line's size. */
export interface Sealed {
  record: AuditRecord;
  line: string;
  bytes: number;
}

const CALLER_KINDS: ReadonlySet<AuditEventKind> = new Set([
  'decision',
  'approval',
  'execution',
  'policy_reload',
  'upstream',
]);
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

/** The event's fields with secrets masked; throws AuditWriteError for a kind callers may not write. */
export function eventFields(event: AuditEvent, redactor: Redactor): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || !CALLER_KINDS.has(event.event)) {
    throw new AuditWriteError(`unknown audit event kind ${JSON.stringify(event?.event)}`, 'invalid_event');
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined || CHAIN_FIELDS.has(key)) continue;
    const secret = !PLAIN_FIELDS.has(key) && redactor.isSecretKey(key);
    setField(fields, key, secret ? redactor.mask(value) : redactor.redact(value));
  }
  return fields;
}

/** Adds the chain fields and hashes; throws TypeError when a value has no JSON form. */
export function seal(fields: Record<string, unknown>, seq: number, prev: string, ts: string): Sealed {
  const record = {
    ...fields,
    agent: fields.agent ?? null,
    correlation_id: fields.correlation_id ?? null,
    seq,
    ts,
    prev,
  };
  const canonical = canonicalJson(record);
  const hash = chainHash(prev, canonical);
  const line = formatLine(canonical, hash);
  return { record: { ...record, hash } as AuditRecord, line, bytes: Buffer.byteLength(line) };
}
