// Who may open what: the admin everything; a reviewer account only the approval pages and API listed here.
import type { Context, MiddlewareHandler } from 'hono';
import { type Principal, reviewerRefOf, type WebEnv } from './security.js';

/** One path a reviewer may use: exactly `path`, or (prefix) anything under it; `read` allows GET and HEAD only. */
interface Opening {
  path: string;
  prefix?: boolean;
  read?: boolean;
}

/**
 * What a reviewer account's browser session may open. A list of what is allowed, not of what is
 * not: a page added later is the admin's until it is named here (closed by default). Reviewers see
 * and decide approvals, reveal masked values, revoke grants, and read the audit log and compliance
 * summary; reviewers, agents, incidents, policy and pins are managed by the admin alone.
 */
const REVIEWER_PAGES: readonly Opening[] = [
  { path: '/' },
  { path: '/decided', read: true },
  { path: '/approvals/', prefix: true },
  { path: '/fragments/pending', read: true },
  { path: '/events', read: true },
  { path: '/logout' },
  { path: '/audit', read: true },
  { path: '/compliance', read: true },
  { path: '/grants', prefix: true },
  { path: '/api/approvals', prefix: true },
  { path: '/api/grants', prefix: true },
  { path: '/api/audit', read: true },
  { path: '/api/compliance', read: true },
];

/** A reviewer's personal token as a Bearer: the approval endpoints only (list, read, decide, reveal). */
const REVIEWER_BEARER: readonly Opening[] = [{ path: '/api/approvals', prefix: true }];

function opens(openings: readonly Opening[], method: string, path: string): boolean {
  const reading = method === 'GET' || method === 'HEAD';
  return openings.some(
    (o) =>
      (path === o.path ||
        (o.prefix === true && path.startsWith(o.path.endsWith('/') ? o.path : `${o.path}/`))) &&
      (o.read !== true || reading),
  );
}

export function isAdmin(principal: Principal | undefined): boolean {
  return principal !== undefined && reviewerRefOf(principal).kind === 'admin';
}

/** Whether this principal may make this request. */
export function allowed(principal: Principal, method: string, path: string): boolean {
  if (isAdmin(principal)) return true;
  return opens(principal.kind === 'bearer' ? REVIEWER_BEARER : REVIEWER_PAGES, method, path);
}

/** Whether a nav link to `path` leads somewhere for this principal (the layout hides the others). */
export function mayOpen(principal: Principal | undefined, path: string): boolean {
  return principal !== undefined && allowed(principal, 'GET', path);
}

export const ADMIN_ONLY_CODE = 'E_ADMIN_ONLY';

export function adminOnlyMessage(principal: Principal): string {
  const who = reviewerRefOf(principal).name;
  return `Only the admin can open this. You are signed in as ${who}, a reviewer account: reviewers see and decide approvals. Ask the admin if you need more.`;
}

/**
 * After sign-in: 403 for what a reviewer may not open, as JSON under /api/ and as `page` (a page in
 * the frame, so the reviewer keeps their navigation) elsewhere.
 */
export function requireRole(
  page?: (c: Context<WebEnv>, message: string) => Response | Promise<Response>,
): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!allowed(principal, c.req.method, c.req.path)) {
      const message = adminOnlyMessage(principal);
      if (page && !c.req.path.startsWith('/api/')) return page(c, message);
      return c.json({ error: message, code: ADMIN_ONLY_CODE }, 403);
    }
    await next();
  };
}
