// Request guards for the UI and admin API: response headers, authentication, CSRF (Host/Origin: src/util/host-guard.ts).
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import type { ReviewerRef } from '../approvals/index.js';
import type { Session, WebAuth } from './auth.js';
import { secretsEqual } from './auth.js';

export const SESSION_COOKIE = 'portcullis_session';

/** A bearer is the admin token, or (`reviewer` set) a reviewer's personal token, which roles.ts confines to approvals. */
export type Principal =
  | { kind: 'session'; id: string; session: Session }
  | { kind: 'bearer'; reviewer?: ReviewerRef | undefined };

/** The admin token as a reviewer: one identity, whatever name its holder types at sign-in. */
export const ADMIN_REVIEWER: ReviewerRef = { id: 'admin', name: 'admin', kind: 'admin' };

/** Who is deciding: the signed-in account, or the admin token on the API. */
export function reviewerRefOf(principal: Principal): ReviewerRef {
  return principal.kind === 'bearer' ? (principal.reviewer ?? ADMIN_REVIEWER) : principal.session.reviewer;
}

/** How records name who acted: "alice (browser)", "admin (API token)". */
export function actorOf(principal: Principal): string {
  if (principal.kind === 'bearer') return `${principal.reviewer?.name ?? 'admin'} (API token)`;
  return `${principal.session.reviewer.name} (browser)`;
}

export type WebEnv = { Variables: { principal: Principal; form: Record<string, string> } };

/**
 * Only the headers this app has always sent (hono's other defaults are off): CSP, no framing, no
 * sniffing, no cross-origin opener or embedding. Referrer-Policy is same-origin, not no-referrer:
 * with no-referrer Chromium sends `Origin: null` on form posts, which the host guard refuses.
 */
const secure = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'same-origin',
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

export function securityHeaders(): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    await secure(c, next);
    // secure-headers has no Cache-Control: pages show pending calls and tokens, so nothing is stored
    // unless a route says otherwise (the static assets do).
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  };
}

function bearer(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

/** True when the request carries an Authorization: Bearer header (right or wrong). */
export function hasBearer(c: Context): boolean {
  return bearer(c) !== undefined;
}

/**
 * Who is calling, or undefined. A present but wrong Authorization header never falls back to the
 * cookie. A reviewer account is looked up on every request, so disabling or removing it ends its
 * sessions and its token at once, in this process and any other on the same data dir.
 */
export function identify(c: Context, auth: WebAuth): Principal | undefined {
  const token = bearer(c);
  if (token !== undefined) {
    if (token === '') return undefined;
    if (auth.verifyToken(token)) return { kind: 'bearer' };
    const reviewer = auth.reviewers?.byToken(token);
    return reviewer ? { kind: 'bearer', reviewer } : undefined;
  }
  const id = getCookie(c, SESSION_COOKIE);
  const session = auth.sessions.get(id);
  if (!session || !id) return undefined;
  if (session.reviewer.kind === 'reviewer' && auth.reviewers?.isActive(session.reviewer.id) !== true) {
    auth.sessions.destroy(id);
    return undefined;
  }
  return { kind: 'session', id, session };
}

/** Read a urlencoded/multipart form once and keep it for the handler (CSRF reads `_csrf` from it). */
export async function readForm(c: Context<WebEnv>): Promise<Record<string, string>> {
  const cached = c.get('form');
  if (cached) return cached;
  const form: Record<string, string> = {};
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
    const body = await c.req.parseBody();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') form[key] = value;
  }
  c.set('form', form);
  return form;
}

/**
 * Cookie-authenticated state changes must carry the session's CSRF token (form field or header).
 * Bearer requests are exempt: a browser never attaches that header on its own.
 */
export async function checkCsrf(c: Context<WebEnv>, principal: Principal): Promise<void> {
  if (principal.kind === 'bearer') return;
  let sent = c.req.header('x-csrf-token');
  if (sent === undefined) sent = (await readForm(c))._csrf;
  if (!sent || !secretsEqual(sent, principal.session.csrf)) {
    throw new HTTPException(403, { message: 'Missing or invalid CSRF token' });
  }
}
