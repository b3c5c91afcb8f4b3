// Standing grants as the queue, the UI and the CLI use them: made from an approval, revoked, asked to cover a call; each change audited.
import { randomBytes } from 'node:crypto';
import type { Approval, GrantChecker, GrantQuery, GrantUse, ReviewerRef } from '../approvals/index.js';
import type { AuditSink, GrantAuditEvent } from '../audit/index.js';
import { describeConstraints, pointerOf } from './constraints.js';
import type { GrantStore } from './store.js';
import {
  type ConstraintOp,
  type Grant,
  type GrantConstraint,
  GrantInvalidError,
  GrantNotAllowedError,
  offeredDurations,
} from './types.js';

/** What the reviewer chose on the form (or sent to the API). */
export interface GrantChoice {
  durationMs: number;
  /** Per top-level argument of the approval; an argument not named here stays `eq` (closed). */
  args?: Record<string, ConstraintOp> | undefined;
  /** Allow arguments the approval did not carry (default false). */
  otherArgs?: boolean | undefined;
  maxUses?: number | null | undefined;
}

export interface GrantsOptions {
  store: GrantStore;
  audit?: AuditSink | undefined;
  /** The policy's `approval.grant_max` now, in milliseconds. */
  maxMs: () => number;
  now?: (() => number) | undefined;
}

function newId(): string {
  return `gr_${randomBytes(8).toString('hex')}`;
}

/** Whole-minute durations for people: `15 min`, `1 h`, `8 h`, `1 h 30 min`. */
export function durationText(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** Who granted what for whom, until when: the line audit records and client results carry. */
export function grantSummary(grant: Grant): string {
  const scope = `${grant.server ? `${grant.server}/` : ''}${grant.tool}`;
  return (
    `standing grant ${grant.id} by ${grant.createdBy} for ${grant.agent ?? 'calls without an agent id'} on ${scope} ` +
    `(${describeConstraints(grant.constraints, grant.otherArgs).join('; ')}) until ${new Date(grant.expiresAt).toISOString()}`
  );
}

/** The constraints a choice makes of an approval's arguments; `max` only on numbers. */
function constraintsOf(approval: Approval, choice: GrantChoice): GrantConstraint[] {
  const args = JSON.parse(approval.argsCanonical) as Record<string, unknown>;
  const chosen = choice.args ?? {};
  for (const key of Object.keys(chosen)) {
    if (!Object.hasOwn(args, key)) throw new GrantInvalidError(`the approval has no argument ${key}`);
  }
  return Object.entries(args).map(([key, value]) => {
    const op = chosen[key] ?? 'eq';
    if (op !== 'eq' && op !== 'max' && op !== 'any')
      throw new GrantInvalidError(`unknown constraint ${String(op)}`);
    if (op === 'max' && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new GrantInvalidError(`argument ${key} is not a number: it cannot take "at most"`);
    }
    return op === 'any' ? { path: pointerOf(key), op } : { path: pointerOf(key), op, value };
  });
}

export class Grants implements GrantChecker {
  readonly store: GrantStore;
  private readonly audit: AuditSink | undefined;
  private readonly maxMsOf: () => number;
  readonly now: () => number;

  constructor(options: GrantsOptions) {
    this.store = options.store;
    this.audit = options.audit;
    this.maxMsOf = options.maxMs;
    this.now = options.now ?? Date.now;
  }

  /** The policy's `approval.grant_max` now. */
  maxMs(): number {
    return this.maxMsOf();
  }

  /** Durations the form offers now. */
  durations(): number[] {
    return offeredDurations(this.maxMsOf());
  }

  /** Refuses an approval a grant cannot be made from; the caller approves it, then calls create(). */
  check(approval: Approval, choice: GrantChoice): GrantConstraint[] {
    if (!approval.grantable) {
      throw new GrantNotAllowedError(
        `approval ${approval.id} cannot take a standing grant: its rule needs more than one reviewer, forbids grants, or it was a cap's review`,
      );
    }
    if (!this.durations().includes(choice.durationMs)) {
      throw new GrantInvalidError(
        `duration must be one of ${this.durations().map(durationText).join(', ')} (approval.grant_max)`,
      );
    }
    if (choice.maxUses != null && (!Number.isInteger(choice.maxUses) || choice.maxUses < 1)) {
      throw new GrantInvalidError('max_uses must be a whole number of at least 1');
    }
    return constraintsOf(approval, choice);
  }

  /** Makes the grant of an approved approval; its audit record is written before it can be used. */
  async create(approval: Approval, choice: GrantChoice, reviewer: ReviewerRef): Promise<Grant> {
    const constraints = this.check(approval, choice);
    const now = this.now();
    const grant: Grant = {
      id: newId(),
      kind: approval.kind,
      agent: approval.agent,
      server: approval.server,
      tool: approval.tool,
      constraints,
      otherArgs: choice.otherArgs === true,
      createdAt: now,
      expiresAt: now + Math.min(choice.durationMs, this.maxMsOf()),
      createdBy: reviewer.name,
      createdById: reviewer.id,
      fromApproval: approval.id,
      uses: 0,
      lastUsedAt: null,
      maxUses: choice.maxUses ?? null,
      revokedAt: null,
      revokedBy: null,
    };
    this.store.insert(grant);
    try {
      await this.record(grant, 'created', reviewer.name, reviewer.id, {
        constraints: grant.constraints,
        other_args: grant.otherArgs,
        expires_at: new Date(grant.expiresAt).toISOString(),
        max_uses: grant.maxUses,
        approval_id: approval.id,
        reason: grantSummary(grant),
      });
    } catch (error) {
      // Fail closed: a grant the audit log does not know of must not let calls run.
      this.store.remove(grant.id);
      throw error;
    }
    return grant;
  }

  async revoke(id: string, by: string, byId: string | null = null): Promise<Grant> {
    const grant = this.store.revoke(id, by, this.now());
    await this.record(grant, 'revoked', by, byId, {});
    return grant;
  }

  cover(query: GrantQuery, now: number): GrantUse | undefined {
    const grant = this.store.use(
      { kind: query.kind, agent: query.agent, server: query.server, tool: query.tool },
      query.args,
      now,
    );
    return grant ? { grantId: grant.id, summary: grantSummary(grant) } : undefined;
  }

  private async record(
    grant: Grant,
    action: GrantAuditEvent['action'],
    by: string,
    reviewer: string | null,
    extra: Record<string, unknown>,
  ): Promise<void> {
    if (!this.audit) return;
    const event: GrantAuditEvent = {
      event: 'grant',
      action,
      grant: grant.id,
      by,
      reviewer,
      agent: grant.agent,
      server: grant.server,
      ...(grant.kind === 'tool' ? { tool: grant.tool } : { tool: null, [grant.kind]: grant.tool }),
      ...extra,
    };
    await this.audit.append(event);
  }
}
