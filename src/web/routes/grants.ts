// Standing grants on the web: approve-and-grant from an approval, the Grants page with Revoke, and their JSON API.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  type Approval,
  ApprovalNotFoundError,
  type ApprovalQueue,
  type ReviewerRef,
} from '../../approvals/index.js';
import {
  type ConstraintOp,
  type Grant,
  type GrantChoice,
  GrantNotAllowedError,
  type Grants,
  grantJson,
} from '../../grants/index.js';
import { actorOf, type Principal, readForm, reviewerRefOf, type WebEnv } from '../security.js';
import { grantsPage } from '../views/grants.js';
import { jsonBody } from './body.js';
import type { Frame } from './frame.js';

export interface GrantsDeps {
  /** Standing grants; without them there is no Grants page and no grant offer. */
  grants?: Grants | undefined;
  queue: ApprovalQueue;
  log?: ((line: string) => void) | undefined;
}

type SessionPrincipal = Extract<Principal, { kind: 'session' }>;

const GRANT_ID = /^gr_[0-9a-f]{16}$/;
const OPS: readonly ConstraintOp[] = ['eq', 'max', 'any'];

/** The form's fields: `duration` (ms), `arg:<name>` = eq|max|any, `other_args` = on. */
function choiceOfForm(form: Record<string, string>): GrantChoice {
  const args: Record<string, ConstraintOp> = {};
  for (const [field, value] of Object.entries(form)) {
    if (!field.startsWith('arg:')) continue;
    if (!OPS.includes(value as ConstraintOp))
      throw new HTTPException(400, { message: `${field} must be eq, max or any` });
    args[field.slice(4)] = value as ConstraintOp;
  }
  return { durationMs: Number(form.duration), args, otherArgs: form.other_args === 'on' };
}

/** The API's body: `{duration_ms, args?: {name: op}, other_args?, max_uses?}`. */
function choiceOfJson(body: Record<string, unknown>): GrantChoice {
  const args = body.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new HTTPException(400, { message: '"args" must map argument names to eq, max or any' });
  }
  for (const value of Object.values(args)) {
    if (!OPS.includes(value as ConstraintOp))
      throw new HTTPException(400, { message: '"args" values must be eq, max or any' });
  }
  const maxUses = body.max_uses;
  if (maxUses !== undefined && maxUses !== null && typeof maxUses !== 'number') {
    throw new HTTPException(400, { message: '"max_uses" must be a number' });
  }
  return {
    durationMs: typeof body.duration_ms === 'number' ? body.duration_ms : Number.NaN,
    args: args as Record<string, ConstraintOp>,
    otherArgs: body.other_args === true,
    maxUses: maxUses as number | null | undefined,
  };
}

/**
 * Approves the approval, then makes its grant, in that order: checked first (pending, grantable, a
 * valid choice), so a refused grant never leaves an approval decided behind the reviewer's back.
 */
async function approveAndGrant(
  deps: Required<Pick<GrantsDeps, 'grants'>> & GrantsDeps,
  id: string,
  choice: GrantChoice,
  reviewer: ReviewerRef,
  by: string,
): Promise<{ approval: Approval; grant: Grant }> {
  const pending = deps.queue.get(id);
  if (!pending) throw new ApprovalNotFoundError(id);
  if (pending.status !== 'pending')
    throw new GrantNotAllowedError(`approval ${id} is already ${pending.status}`);
  deps.grants.check(pending, choice);
  const approval = deps.queue.decide(id, { decision: 'approve', by, reviewer, note: null });
  if (approval.status !== 'approved')
    throw new GrantNotAllowedError(`approval ${id} is ${approval.status}, not approved`);
  const grant = await deps.grants.create(approval, choice, reviewer);
  deps.log?.(`approval ${approval.id} approved by ${by} with standing grant ${grant.id}`);
  return { approval, grant };
}

function grantIdOf(id: string | undefined): string {
  if (!id || !GRANT_ID.test(id)) throw new HTTPException(404, { message: 'No such grant' });
  return id;
}

/** GET /grants, POST /grants/:id/revoke and POST /approvals/:id/grant (session, CSRF checked by requireSession). */
export function grantsPageRoutes(pages: Hono<WebEnv>, deps: GrantsDeps & { frame: Frame }): void {
  const { grants } = deps;
  if (!grants) return;
  pages.get('/grants', (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const now = grants.now();
    const created = c.req.query('created');
    const revoked = c.req.query('revoked');
    const flashId = created ?? revoked;
    const shown = flashId && GRANT_ID.test(flashId) ? grants.store.get(flashId) : undefined;
    const flash = !shown
      ? undefined
      : created
        ? `Approved ${shown.fromApproval ?? ''} and made grant ${shown.id}.`
        : shown.revokedAt !== null
          ? `Revoked ${shown.id}: the next such call waits for a person.`
          : undefined;
    const body = grantsPage(
      grants.store.active(now),
      grants.store.ended(now),
      principal.session.csrf,
      now,
      flash,
    );
    return c.html(deps.frame(principal, 'Standing grants', 'grants', body, true));
  });

  pages.post('/grants/:id/revoke', async (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const grant = await grants.revoke(
      grantIdOf(c.req.param('id')),
      actorOf(principal),
      reviewerRefOf(principal).id,
    );
    deps.log?.(`grant ${grant.id} revoked by ${actorOf(principal)}`);
    return c.redirect(`/grants?revoked=${grant.id}`, 303);
  });

  pages.post('/approvals/:id/grant', async (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const choice = choiceOfForm(await readForm(c));
    const { grant } = await approveAndGrant(
      { ...deps, grants },
      c.req.param('id'),
      choice,
      reviewerRefOf(principal),
      actorOf(principal),
    );
    return c.redirect(`/grants?created=${grant.id}`, 303);
  });
}

/** GET /api/grants, POST /api/grants/:id/revoke, POST /api/approvals/:id/grant. */
export function grantsApiRoutes(api: Hono<WebEnv>, deps: GrantsDeps): void {
  const { grants } = deps;
  if (!grants) return;
  api.get('/grants', (c) => {
    const now = grants.now();
    const all = c.req.query('state') === 'all';
    const list = all
      ? [...grants.store.active(now), ...grants.store.ended(now, 200)]
      : grants.store.active(now);
    return c.json(list.map((g) => grantJson(g, now)));
  });

  api.post('/grants/:id/revoke', async (c) => {
    const principal = c.get('principal');
    const grant = await grants.revoke(
      grantIdOf(c.req.param('id')),
      actorOf(principal),
      reviewerRefOf(principal).id,
    );
    return c.json(grantJson(grant, grants.now()));
  });

  api.post('/approvals/:id/grant', async (c) => {
    const principal = c.get('principal');
    const choice = choiceOfJson(await jsonBody(c.req));
    const { approval, grant } = await approveAndGrant(
      { ...deps, grants },
      c.req.param('id'),
      choice,
      reviewerRefOf(principal),
      actorOf(principal),
    );
    return c.json({ id: approval.id, status: approval.status, grant: grantJson(grant, grants.now()) });
  });
}
