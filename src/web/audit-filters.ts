// Audit filters from a query string, shared by the audit page and GET /api/audit: strict, so a typo
// (`decison=deny`) is an error rather than a page of everything.
import {
  AUDIT_DECISIONS,
  AUDIT_EVENT_KINDS,
  type AuditDecision,
  type AuditEventKind,
  type AuditQuery,
  AuditQueryError,
  parseAuditCursor,
} from '../audit/index.js';

// The audit's own lists (a filter naming another kind is a mistake, not an empty result); the
// audit page offers them as its choices.
export { AUDIT_DECISIONS, AUDIT_EVENT_KINDS };

/** The query module's page size bounds (queryAudit refuses anything else). */
export const AUDIT_LIMIT_DEFAULT = 50;
export const AUDIT_LIMIT_MAX = 1000;

const TEXT_MAX = 500;
const TEXT_FILTERS = ['agent', 'server', 'tool', 'correlation_id', 'q'] as const;

/** The filters as they travel in a query string (normalized), so links can carry them on. */
export interface AuditFilters {
  agent?: string;
  server?: string;
  tool?: string;
  decision?: AuditDecision;
  event?: AuditEventKind;
  correlation_id?: string;
  from?: string;
  to?: string;
  q?: string;
  limit?: number;
  /** The opaque paging cursor (a previous page's next cursor). */
  before?: string;
}

/** The filter parameters in the order links write them. */
const FILTER_KEYS = [
  'agent',
  'server',
  'tool',
  'decision',
  'event',
  'correlation_id',
  'from',
  'to',
  'q',
  'limit',
  'before',
] as const satisfies readonly (keyof AuditFilters)[];

export interface ParsedAuditFilters {
  filters: AuditFilters;
  query: AuditQuery;
}

/**
 * Reads the filters; throws AuditQueryError naming the first bad parameter. An empty value means
 * "not set" (an empty form field). `extra` names other parameters the caller handles itself.
 */
export function parseAuditFilters(
  params: URLSearchParams,
  extra: readonly string[] = [],
): ParsedAuditFilters {
  const allowed = new Set<string>([...FILTER_KEYS, ...extra]);
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!allowed.has(key)) throw new AuditQueryError(`unknown filter "${short(key)}"`);
    if (seen.has(key)) throw new AuditQueryError(`"${short(key)}" is given more than once`);
    seen.add(key);
  }
  const value = (key: string): string | undefined => {
    const raw = params.get(key)?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };

  const filters: AuditFilters = {};
  for (const key of TEXT_FILTERS) {
    const text = value(key);
    if (text === undefined) continue;
    if (text.length > TEXT_MAX) throw new AuditQueryError(`"${key}" is longer than ${TEXT_MAX} characters`);
    filters[key] = text;
  }
  /** An enumerated parameter: absent, or exactly one of `allowed`. */
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const given = value(key);
    if (given === undefined) return undefined;
    if (!isOneOf(allowed, given)) {
      throw new AuditQueryError(`${key} must be one of ${allowed.join(', ')}, not "${short(given)}"`);
    }
    return given;
  };
  const decision = oneOf('decision', AUDIT_DECISIONS);
  if (decision !== undefined) filters.decision = decision;
  const event = oneOf('event', AUDIT_EVENT_KINDS);
  if (event !== undefined) filters.event = event;
  const from = timeParam(value('from'), 'from');
  const to = timeParam(value('to'), 'to');
  if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) {
    throw new AuditQueryError('"from" must be earlier than "to"');
  }
  if (from !== undefined) filters.from = from.toISOString();
  if (to !== undefined) filters.to = to.toISOString();
  const limit = integerParam(value('limit'), 'limit');
  if (limit !== undefined) {
    if (limit < 1 || limit > AUDIT_LIMIT_MAX) {
      throw new AuditQueryError(`limit must be a whole number from 1 to ${AUDIT_LIMIT_MAX}`);
    }
    filters.limit = limit;
  }
  const before = value('before');
  if (before !== undefined) {
    parseAuditCursor(before); // throws for anything that is not a cursor this version wrote
    filters.before = before;
  }
  return {
    filters,
    query: { ...filters, limit: filters.limit ?? AUDIT_LIMIT_DEFAULT, from, to },
  };
}

/** A query string for these filters (with `?`), or '' when there are none. */
export function auditSearch(filters: AuditFilters): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const v = filters[key];
    if (v !== undefined) params.set(key, String(v));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** True when anything narrows the records (paging does not count). */
export function hasFilters(filters: AuditFilters): boolean {
  return FILTER_KEYS.some((key) => key !== 'limit' && key !== 'before' && filters[key] !== undefined);
}

// ISO 8601 only: Date.parse alone takes "1" as the year 2001. No zone means UTC (the page says so).
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

function timeParam(raw: string | undefined, name: string): Date | undefined {
  if (raw === undefined) return undefined;
  const match = ISO_TIME.exec(raw);
  const problem = `"${name}" must be a time like 2025-01-31 or 2025-01-31T14:30:00Z (UTC unless a zone is given), not "${short(raw)}"`;
  if (!match) throw new AuditQueryError(problem);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = match;
  // Date.parse rolls 2025-02-30 over to March; refuse it by checking the fields come back unchanged.
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)] as const;
  const probe = new Date(Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]));
  if (
    probe.getUTCFullYear() !== fields[0] ||
    probe.getUTCMonth() !== fields[1] - 1 ||
    probe.getUTCDate() !== fields[2] ||
    probe.getUTCHours() !== fields[3] ||
    probe.getUTCMinutes() !== fields[4] ||
    probe.getUTCSeconds() !== fields[5]
  ) {
    throw new AuditQueryError(problem);
  }
  const ms = Number(`0.${frac || '0'}`) * 1000;
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) throw new AuditQueryError(problem);
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return new Date(probe.getTime() + Math.floor(ms) - offsetMinutes * 60_000);
}

function integerParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw))
    throw new AuditQueryError(`${name} must be a whole number, not "${short(raw)}"`);
  return Number(raw);
}

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

/** Echo user input in a message, but not at any length. */
function short(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
