// Standing grants' values: a grant's scope, argument constraints and life, and the errors of making or revoking one.
import type { ApprovalKind } from '../approvals/index.js';

/** How one top-level argument of a covered call must look: the same value, at most this number, or anything. */
export type ConstraintOp = 'eq' | 'max' | 'any';

export interface GrantConstraint {
  /** JSON Pointer of a top-level argument, e.g. `/amount_cents`. */
  path: string;
  op: ConstraintOp;
  /** The approved value (`eq`), the largest number allowed (`max`); absent for `any`. */
  value?: unknown;
}

/** One grant as stored; times are epoch milliseconds. */
export interface Grant {
  /** `gr_<16 hex>`. */
  id: string;
  kind: ApprovalKind;
  /** Exact agent id; null covers only calls that carry no agent identity. */
  agent: string | null;
  server: string | null;
  tool: string;
  constraints: GrantConstraint[];
  /** Whether a call may carry top-level arguments the constraints do not name (default false: closed). */
  otherArgs: boolean;
  createdAt: number;
  expiresAt: number;
  createdBy: string;
  createdById: string;
  fromApproval: string | null;
  uses: number;
  lastUsedAt: number | null;
  maxUses: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

export type GrantState = 'active' | 'expired' | 'revoked' | 'used_up';

/** Where a grant stands at `now`. */
export function grantState(grant: Grant, now: number): GrantState {
  if (grant.revokedAt !== null) return 'revoked';
  if (grant.expiresAt <= now) return 'expired';
  if (grant.maxUses !== null && grant.uses >= grant.maxUses) return 'used_up';
  return 'active';
}

/** The durations a reviewer is offered; each is cut to the policy's `approval.grant_max`. */
export const GRANT_DURATIONS_MS: readonly number[] = [15 * 60_000, 3_600_000, 8 * 3_600_000, 24 * 3_600_000];

/** The durations offered under `maxMs`: those that fit, or `maxMs` alone when even the shortest does not. */
export function offeredDurations(maxMs: number): number[] {
  const fit = GRANT_DURATIONS_MS.filter((ms) => ms <= maxMs);
  return fit.length > 0 ? fit : maxMs > 0 ? [maxMs] : [];
}

/** Base class of the grants' errors; callers branch on `code`. */
export class GrantError extends Error {
  readonly code: string;
  /** The HTTP status the API answers with. */
  readonly status: 400 | 404 | 409;
  constructor(code: string, status: 400 | 404 | 409, message: string) {
    super(message);
    this.name = 'GrantError';
    this.code = code;
    this.status = status;
  }
}

export class GrantNotFoundError extends GrantError {
  constructor(id: string) {
    super('E_GRANT_NOT_FOUND', 404, `no grant with id ${id}`);
  }
}

/** A grant request the approval cannot take (not pending, not grantable): 409. */
export class GrantNotAllowedError extends GrantError {
  constructor(message: string) {
    super('E_GRANT_NOT_ALLOWED', 409, message);
  }
}

/** A grant request that names a duration, an argument or a constraint that cannot be: 400. */
export class GrantInvalidError extends GrantError {
  constructor(message: string) {
    super('E_GRANT_INVALID', 400, message);
  }
}

/** The grant was revoked already: 409. */
export class GrantRevokedError extends GrantError {
  constructor(id: string) {
    super('E_GRANT_REVOKED', 409, `grant ${id} is already revoked`);
  }
}
