// Admin JSON API (DESIGN 5): approvals, audit records, policy status, dry-run checks. Bearer token or session cookie.
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Approval, ApprovalQueue, DecisionVerb } from '../../approvals/index.js';
import { API_LIST, approvalListSearch, parseApprovalListParams } from '../approval-paging.js';
import type { WebAuth } from '../auth.js';
import type { MaskApproval, MaskedApproval } from '../display.js';
import { clientAddress } from '../rate-limit.js';
import { requireRole } from '../roles.js';
import { actorOf, checkCsrf, hasBearer, identify, reviewerRefOf, type WebEnv } from '../security.js';
import { type AgentsDeps, agentsApiRoutes } from './agents.js';
import { type AuditDeps, auditApiRoute } from './audit.js';
import { jsonBody, optionalString } from './body.js';
import { type ComplianceDeps, complianceApiRoute, complianceSources } from './compliance.js';
import { type GrantsDeps, grantsApiRoutes } from './grants.js';
import { type IncidentsDeps, incidentsApiRoutes } from './incidents.js';
import { type PinsDeps, pinsApiRoutes } from './pins.js';
import { type PolicyDeps, policyApiRoutes } from './policy.js';
import { apiRevealRoute, type Reveal } from './reveal.js';
import { reviewersApiRoutes } from './reviewers.js';

const NOTE_MAX = 2000;

type Log = ((line: string) => void) | undefined;

export interface ApprovalsApiDeps {
  queue: ApprovalQueue;
  mask: MaskApproval;
  log?: Log;
}

/** What the whole API is built from; each route group below takes only its part. */
export interface ApiDeps
  extends ApprovalsApiDeps,
    AuditDeps,
    PolicyDeps,
    PinsDeps,
    AgentsDeps,
    IncidentsDeps,
    Pick<GrantsDeps, 'grants'>,
    Pick<ComplianceDeps, 'directory' | 'integrity' | 'now' | 'maxRecords'> {
  /** Incidents for the Compliance page when they are not `incidents` (a test's own). */
  incidentLog?: ComplianceDeps['incidents'];
  auth: WebAuth;
  reveal: Reveal;
}

export function approvalJson(a: Approval | MaskedApproval) {
  return {
    id: a.id,
    status: a.status,
    // tool: a tool call; resource / prompt: `tool` holds the URI or the prompt name.
    kind: a.kind,
    server: a.server,
    tool: a.tool,
    args: JSON.parse(a.argsCanonical) as unknown,
    agent: a.agent,
    rule: a.rule,
    reason: a.reason,
    created_at: new Date(a.createdAt).toISOString(),
    expires_at: new Date(a.expiresAt).toISOString(),
    decided_at: a.decidedAt === null ? null : new Date(a.decidedAt).toISOString(),
    decided_by: a.decidedBy,
    decided_by_id: a.decidedById,
    // The two-person rule: how many accounts must approve, and who has (a reviewer sees whether theirs counted).
    approvers: a.approvers,
    votes: a.votes.map((v) => ({ reviewer: v.reviewerId, name: v.name, at: new Date(v.at).toISOString() })),
    note: a.note,
    executed_at: a.executedAt === null ? null : new Date(a.executedAt).toISOString(),
    correlation_id: a.correlationId,
    args_sha256: a.argsSha256,
    // JSON Pointers of the masked argument values (POST /api/approvals/:id/reveal takes one).
    ...('maskedPaths' in a && { masked: a.maskedPaths }),
  };
}

/** 429 for an address whose sign-in is paused; the JSON names a code, Retry-After says when to come back. */
function tooManySignIns(c: Context<WebEnv>, retryAfterSeconds: number): Response {
  c.header('Retry-After', String(retryAfterSeconds));
  return c.json(
    {
      error: `Too many failed sign-ins from this address: try again in ${retryAfterSeconds} s`,
      code: 'E_SIGN_IN_RATE_LIMITED',
      retry_after: retryAfterSeconds,
    },
    429,
  );
}

export const reviewerOf = actorOf;

/** Every API request needs the admin token or a session (and, for a session's POST, its CSRF token). */
function requirePrincipal(auth: WebAuth, log: Log): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    // A Bearer token is a guess at the admin token like the sign-in form's: limited the same way,
    // and while an address is paused its tokens are not even compared.
    const address = clientAddress(c);
    const guessing = hasBearer(c);
    if (guessing) {
      const verdict = auth.signIns.check(address);
      if (!verdict.allowed) return tooManySignIns(c, verdict.retryAfterSeconds);
    }
    const principal = identify(c, auth);
    if (!principal) {
      if (guessing) {
        auth.signIns.fail(address);
        log?.(`api: wrong admin token from ${address}`);
      }
      c.header('WWW-Authenticate', 'Bearer realm="portcullis"');
      throw new HTTPException(401, { message: 'Authentication required' });
    }
    c.set('principal', principal);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') await checkCsrf(c, principal);
    await next();
  };
}

/** GET /api/approvals, GET /api/approvals/:id, POST /api/approvals/:id/approve|deny. */
function approvalsApiRoutes(api: Hono<WebEnv>, { queue, mask, log }: ApprovalsApiDeps): void {
  // The body stays the documented array; paging rides in headers, as on GET /api/audit?format=jsonl:
  // X-Total-Count (the whole list), X-Next-Cursor and Link rel="next"/"prev". Pending approvals come
  // soonest expiry first, so the next one to time out is on the first page however many follow it.
  api.get('/approvals', (c) => {
    const params = parseApprovalListParams(new URL(c.req.url).searchParams, API_LIST);
    const page = queue.page(params);
    c.header('X-Total-Count', String(page.total));
    const links: string[] = [];
    const link = (cursor: string, rel: string) =>
      `</api/approvals${approvalListSearch({ ...params, cursor }, API_LIST)}>; rel="${rel}"`;
    if (page.nextCursor !== null) {
      c.header('X-Next-Cursor', page.nextCursor);
      links.push(link(page.nextCursor, 'next'));
    }
    if (page.prevCursor !== null) links.push(link(page.prevCursor, 'prev'));
    if (links.length > 0) c.header('Link', links.join(', '));
    return c.json(page.approvals.map((a) => approvalJson(mask(a))));
  });

  api.get('/approvals/:id', (c) => {
    const approval = queue.get(c.req.param('id'));
    if (!approval) throw new HTTPException(404, { message: 'No such approval' });
    return c.json(approvalJson(mask(approval)));
  });

  for (const verb of ['approve', 'deny'] as const satisfies readonly DecisionVerb[]) {
    api.post(`/approvals/:id/${verb}`, async (c) => {
      const body = await jsonBody(c.req);
      const note = optionalString(body, 'note', NOTE_MAX);
      const principal = c.get('principal');
      const by = reviewerOf(principal);
      const reviewer = reviewerRefOf(principal);
      const approval = queue.decide(c.req.param('id') ?? '', { decision: verb, by, reviewer, note });
      log?.(`approval ${approval.id} ${approval.status} by ${by}`);
      return c.json({ id: approval.id, status: approval.status });
    });
  }
}

export function apiRoutes(deps: ApiDeps): Hono<WebEnv> {
  const api = new Hono<WebEnv>();
  api.use('*', requirePrincipal(deps.auth, deps.log));
  api.use('*', requireRole());
  approvalsApiRoutes(api, deps);
  apiRevealRoute(api, deps.reveal, reviewerOf);
  auditApiRoute(api, deps);
  policyApiRoutes(api, deps);
  pinsApiRoutes(api, { ...deps, reviewerOf });
  agentsApiRoutes(api, { ...deps, reviewerOf });
  complianceApiRoute(api, complianceSources(deps));
  incidentsApiRoutes(api, { ...deps, reviewerOf });
  reviewersApiRoutes(api, { reviewers: deps.auth.reviewers, log: deps.log });
  grantsApiRoutes(api, deps);
  // /api/* ends here: an unknown path (or method, which the 405 middleware then names) is the API's
  // JSON 404, never the pages' sign-in screen, which a Bearer client would otherwise get.
  api.all('*', (c) => c.notFound());
  return api;
}
