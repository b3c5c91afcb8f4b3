// A grant as the JSON API and `portcullis grants list --json` print it: snake_case, ISO times, constraints in words.
import { describeConstraints } from './constraints.js';
import { type Grant, grantState } from './types.js';

/** One grant for JSON readers, with its state at `now`. */
export function grantJson(grant: Grant, now: number) {
  return {
    id: grant.id,
    state: grantState(grant, now),
    kind: grant.kind,
    agent: grant.agent,
    server: grant.server,
    tool: grant.tool,
    constraints: grant.constraints,
    other_args: grant.otherArgs,
    summary: describeConstraints(grant.constraints, grant.otherArgs),
    created_at: new Date(grant.createdAt).toISOString(),
    expires_at: new Date(grant.expiresAt).toISOString(),
    created_by: grant.createdBy,
    created_by_id: grant.createdById,
    from_approval: grant.fromApproval,
    uses: grant.uses,
    max_uses: grant.maxUses,
    last_used_at: grant.lastUsedAt === null ? null : new Date(grant.lastUsedAt).toISOString(),
    revoked_at: grant.revokedAt === null ? null : new Date(grant.revokedAt).toISOString(),
    revoked_by: grant.revokedBy,
  };
}
