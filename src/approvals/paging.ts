// Keyset paging through approvals: the order each status is listed in, and the opaque cursor that marks a place in it.
import { APPROVAL_ID_PATTERN, APPROVAL_STATUSES, ApprovalQueryError, type ApprovalStatus } from './types.js';

/** Where a page starts: after (`next`) or before (`prev`) the approval with this sort key. */
export interface ApprovalCursor {
  status: ApprovalStatus;
  direction: 'next' | 'prev';
  /** The sort key of the approval the page continues from: [expires_at or decided_at, id]. */
  at: number;
  id: string;
}

/**
 * Pending approvals are listed by expiry, soonest first: the one that times out (and is denied) next is
 * the one a reviewer must see first, however many arrived after it. With one timeout that is also oldest
 * first. Decided ones are listed newest decision first. Both tie-break on the id, so the order is total
 * and a cursor stays exact while approvals arrive or leave.
 */
export function orderOf(status: ApprovalStatus): { column: 'expires_at' | 'decided_at'; ascending: boolean } {
  return status === 'pending'
    ? { column: 'expires_at', ascending: true }
    : { column: 'decided_at', ascending: false };
}

const MAX_CURSOR_LENGTH = 200;

/** Opaque to clients: base64url of a small JSON array; the version leads so a later format can be told apart. */
export function encodeCursor(cursor: ApprovalCursor): string {
  const body = JSON.stringify([
    1,
    cursor.status,
    cursor.direction === 'next' ? 'n' : 'p',
    cursor.at,
    cursor.id,
  ]);
  return Buffer.from(body, 'utf8').toString('base64url');
}

/** Reads a cursor this version wrote for a list of `status`; anything else is an ApprovalQueryError (HTTP 400). */
export function decodeCursor(text: string, status: ApprovalStatus): ApprovalCursor {
  const bad = new ApprovalQueryError('cursor is not one this server handed out (copy it from X-Next-Cursor)');
  if (text.length === 0 || text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) throw bad;
  const [version, listed, direction, at, id] = parsed as unknown[];
  if (version !== 1 || (direction !== 'n' && direction !== 'p')) throw bad;
  if (
    typeof at !== 'number' ||
    !Number.isSafeInteger(at) ||
    typeof id !== 'string' ||
    !APPROVAL_ID_PATTERN.test(id)
  )
    throw bad;
  if (typeof listed !== 'string' || !(APPROVAL_STATUSES as readonly string[]).includes(listed)) throw bad;
  if (listed !== status) {
    throw new ApprovalQueryError(`cursor belongs to the list of ${listed} approvals, not ${status}`);
  }
  return { status, direction: direction === 'n' ? 'next' : 'prev', at, id };
}
