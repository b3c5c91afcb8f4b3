// Server-rendered pages: sign-in, the live pending queue, decided approvals, the audit log, policy status.
import { type Context, Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import { ApprovalConflictError, ApprovalQueryError } from '../../approvals/index.js';
import { type AuditPage, AuditQueryError, queryAudit } from '../../audit/query.js';
import type { WebAppOptions } from '../app.js';
import {
  type ApprovalListParams,
  approvalListSearch,
  PAGE_LIST,
  parseApprovalListParams,
} from '../approval-paging.js';
import { type AuditFilters, parseAuditFilters } from '../audit-filters.js';
import { displayed } from '../display.js';
import { clientAddress, type SignInLimiter } from '../rate-limit.js';
import { checkCsrf, identify, type Principal, readForm, SESSION_COOKIE, type WebEnv } from '../security.js';
import { decidedPage, type Flash, pendingList, pendingPage } from '../views/approvals.js';
import { auditPage } from '../views/audit.js';
import { type Html, layout } from '../views/layout.js';
import { loginPage, policyPage } from '../views/pages.js';
import type { PendingContext } from '../views/pending.js';
import { pageRevealRoute } from './reveal.js';

const ID_PATTERN = /^ap_[0-9a-f]{16}$/;

function reviewerName(raw: string | undefined): string {
  // Free text from the person signing in: strip control characters, keep it short.
  const name = (raw ?? '')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim()
    .slice(0, 80);
  return name === '' ? 'admin' : name;
}

/** Query parameters of the flash message a decision redirects to. */
const FLASH_KEYS = ['done', 'id', 'conflict'] as const;

/**
 * After a decision, back to the page the reviewer decided on (same agent filter, same place), read
 * from the same-origin Referer; only the list's own parameters are carried over.
 */
function returnSearch(referer: string | undefined, origin: string, flash: Record<string, string>): string {
  const search = new URLSearchParams();
  if (referer !== undefined) {
    try {
      const from = new URL(referer);
      if (from.origin === origin && from.pathname === '/') {
        const params = parseApprovalListParams(from.searchParams, PAGE_LIST, FLASH_KEYS);
        for (const [key, value] of new URLSearchParams(approvalListSearch(params, PAGE_LIST)))
          search.set(key, value);
      }
    } catch {
      // An unreadable or foreign referer: the first page.
    }
  }
  for (const [key, value] of Object.entries(flash)) search.set(key, value);
  return `/?${search.toString()}`;
}

function flashFrom(query: Record<string, string>): Flash | undefined {
  const id = query.id;
  if (!id || !ID_PATTERN.test(id)) return undefined;
  if (query.done === 'approved')
    return { kind: 'ok', text: `Approved ${id}. The call runs now (or on its retry).` };
  if (query.done === 'denied') return { kind: 'ok', text: `Denied ${id}. Nothing runs.` };
  if (query.conflict)
    return {
      kind: 'error',
      text: `${id} was already ${query.conflict.replace(/[^a-z]/g, '')}: your decision was not recorded.`,
    };
  return undefined;
}

function attemptsLeft(remaining: number, limiter: SignInLimiter): string {
  const window = Math.round(limiter.windowMs / 1000);
  return remaining === 1
    ? `One more failed attempt pauses sign-in from this address for ${window} seconds.`
    : `${remaining} attempts left before sign-in from this address pauses for ${window} seconds.`;
}

function pauseText(retryAfterSeconds: number, limiter: SignInLimiter): string {
  return (
    `Sign-in from this address is paused after ${limiter.failures} failed attempts within ` +
    `${Math.round(limiter.windowMs / 1000)} seconds: try again in ${retryAfterSeconds} seconds. ` +
    'An unused sign-in link still works after the pause.'
  );
}

export function pageRoutes(options: WebAppOptions): Hono<WebEnv> {
  const pages = new Hono<WebEnv>();
  const { queue, auth } = options;
  const showPolicy = options.policyStatus !== undefined;
  const { auditDir } = options;
  const showAudit = auditDir !== undefined;

  const frame = (
    principal: Principal | undefined,
    title: string,
    active: 'pending' | 'decided' | 'audit' | 'policy' | 'none',
    body: Html,
    wide = false,
  ) =>
    layout(
      {
        title,
        active,
        showPolicy,
        showAudit,
        wide,
        reviewer: principal?.kind === 'session' ? principal.session.reviewer : undefined,
        csrf: principal?.kind === 'session' ? principal.session.csrf : undefined,
        pendingCount: principal ? queue.store.countPending() : undefined,
      },
      body,
    );

  /** 429 with Retry-After, and a page that says plainly what happened and when to try again. */
  const pausedSignIn = (c: Context<WebEnv>, retryAfterSeconds: number) => {
    c.header('Retry-After', String(retryAfterSeconds));
    const error = `Too many failed sign-in attempts. ${pauseText(retryAfterSeconds, auth.signIns)}`;
    return c.html(frame(undefined, 'Sign in', 'none', loginPage({ error })), 429);
  };

  pages.get('/login', (c) => {
    const code = c.req.query('code');
    return c.html(
      frame(undefined, 'Sign in', 'none', loginPage({ code: code && code.length <= 200 ? code : undefined })),
    );
  });

  pages.post('/login', async (c) => {
    const address = clientAddress(c);
    // Before the credential is looked at: a paused address's guesses are not even compared.
    const verdict = auth.signIns.check(address);
    if (!verdict.allowed) {
      options.log?.(`ui: sign-in from ${address} refused unchecked: too many failures`);
      return pausedSignIn(c, verdict.retryAfterSeconds);
    }
    const form = await readForm(c);
    let ok = false;
    if (form.code !== undefined) ok = auth.loginCodes.consume(form.code);
    else if (form.token !== undefined) ok = auth.verifyToken(form.token.trim());
    if (!ok) {
      // A success does not clear the count: failures age out by themselves, so signing in now and
      // then cannot buy a guesser on the same address (often 127.0.0.1, like the agent) more tries.
      const after = auth.signIns.fail(address);
      options.log?.(`ui: sign-in refused from ${address} (used, expired or wrong credential)`);
      const problem =
        form.code !== undefined
          ? 'This sign-in link was already used or has expired. Ask for a new one (restart the proxy) or use the admin token.'
          : 'That token is not right.';
      const error = after.allowed
        ? `${problem} ${attemptsLeft(after.remaining, auth.signIns)}`
        : `${problem} ${pauseText(after.retryAfterSeconds, auth.signIns)}`;
      if (!after.allowed) c.header('Retry-After', String(after.retryAfterSeconds));
      return c.html(frame(undefined, 'Sign in', 'none', loginPage({ code: undefined, error })), 401);
    }
    const reviewer = reviewerName(form.reviewer);
    const { id } = auth.sessions.create(reviewer);
    setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 12 * 3600 });
    options.log?.(`ui: ${reviewer} signed in`);
    // A clean address: the one-time code does not stay in the address bar or history.
    return c.redirect('/', 303);
  });

  // Everything below needs a signed-in browser session.
  pages.use('*', async (c, next) => {
    const principal = identify(c, auth);
    if (principal?.kind !== 'session') {
      if (c.req.path === '/events' || c.req.path.startsWith('/fragments/')) {
        throw new HTTPException(401, { message: 'Sign in again' });
      }
      return c.html(frame(undefined, 'Sign in', 'none', loginPage({})), 401);
    }
    c.set('principal', principal);
    if (c.req.method === 'POST') await checkCsrf(c, principal);
    await next();
  });

  /** The page the URL asks for: its cards, plus what surrounds them (agent summary, total, pager). */
  const pendingOf = (params: ApprovalListParams) => {
    const page = queue.page(params);
    const ctx: PendingContext = {
      page,
      byAgent: queue.pendingByAgent(),
      cap: queue.maxPendingPerAgent,
      allPending: queue.store.countPending(),
      params,
    };
    return { approvals: page.approvals.map((a) => displayed(options, a)), ctx };
  };

  pages.get('/', (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    let params: ApprovalListParams;
    try {
      params = parseApprovalListParams(new URL(c.req.url).searchParams, PAGE_LIST, FLASH_KEYS);
      const { approvals, ctx } = pendingOf(params);
      return c.html(
        frame(
          principal,
          'Pending approvals',
          'pending',
          pendingPage(approvals, principal.session.csrf, queue.now(), ctx, flashFrom(c.req.query())),
        ),
      );
    } catch (error) {
      if (!(error instanceof ApprovalQueryError)) throw error;
      // A stale or hand-edited link: say so, and offer the first page rather than a bare error.
      const { approvals, ctx } = pendingOf({ status: 'pending', limit: PAGE_LIST.defaultLimit });
      const flash: Flash = {
        kind: 'error',
        text: `This link cannot be used: ${error.message}. Showing the first page.`,
      };
      return c.html(
        frame(
          principal,
          'Pending approvals',
          'pending',
          pendingPage(approvals, principal.session.csrf, queue.now(), ctx, flash),
        ),
        400,
      );
    }
  });

  pages.get('/fragments/pending', (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const params = parseApprovalListParams(new URL(c.req.url).searchParams, PAGE_LIST);
    const { approvals, ctx } = pendingOf(params);
    return c.html(pendingList(approvals, principal.session.csrf, queue.now(), ctx));
  });

  pages.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      let wake: () => void = () => {};
      const closed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const unsubscribe = queue.subscribe((change) => {
        stream.writeSSE({ event: 'changed', data: change.kind }).catch(() => wake());
      });
      const heartbeat = setInterval(() => {
        stream.write(': keep-alive\n\n').catch(() => wake());
      }, options.sseHeartbeatMs ?? 15_000);
      stream.onAbort(() => wake());
      try {
        await stream.writeSSE({ event: 'ready', data: String(queue.store.countPending()) });
        await closed;
      } finally {
        clearInterval(heartbeat);
        unsubscribe();
      }
    }),
  );

  pages.get('/decided', (c) => {
    const principal = c.get('principal');
    return c.html(
      frame(
        principal,
        'Decided approvals',
        'decided',
        decidedPage(
          queue.list({ limit: 200 }).map((a) => displayed(options, a)),
          { auditLinks: showAudit },
        ),
      ),
    );
  });

  if (auditDir !== undefined) {
    pages.get('/audit', async (c) => {
      const params = new URL(c.req.url).searchParams;
      const form: Record<string, string> = {};
      for (const [key, value] of params) if (value.length <= 500) form[key] = value;
      let filters: AuditFilters = {};
      let page: AuditPage = { records: [], chains: [], nextCursor: null };
      let error: string | undefined;
      try {
        const parsed = parseAuditFilters(params);
        filters = parsed.filters;
        page = await queryAudit(auditDir, parsed.query);
      } catch (caught) {
        if (!(caught instanceof AuditQueryError)) throw caught;
        error = `These filters cannot be used: ${caught.message}.`;
      }
      return c.html(
        frame(c.get('principal'), 'Audit log', 'audit', auditPage({ ...page, filters, form, error }), true),
        error === undefined ? 200 : 400,
      );
    });
  }

  if (showPolicy) {
    pages.get('/policy', (c) =>
      c.html(frame(c.get('principal'), 'Policy', 'policy', policyPage(options.policyStatus?.()))),
    );
  }

  pages.post('/approvals/:id/decide', async (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const form = await readForm(c);
    const decision = form.decision;
    if (decision !== 'approve' && decision !== 'deny') {
      throw new HTTPException(400, { message: 'decision must be approve or deny' });
    }
    const note = (form.note ?? '').trim().slice(0, 2000);
    const id = c.req.param('id');
    const by = `${principal.session.reviewer} (browser)`;
    const referer = c.req.header('referer');
    const origin = new URL(c.req.url).origin;
    try {
      const approval = queue.decide(id, { decision, by, note: note === '' ? null : note });
      options.log?.(`approval ${approval.id} ${approval.status} by ${by}`);
      return c.redirect(returnSearch(referer, origin, { done: approval.status, id: approval.id }), 303);
    } catch (error) {
      if (error instanceof ApprovalConflictError) {
        return c.redirect(returnSearch(referer, origin, { conflict: error.status, id }), 303);
      }
      throw error;
    }
  });

  pageRevealRoute(pages, options);

  pages.post('/logout', (c) => {
    const principal = c.get('principal');
    if (principal.kind === 'session') auth.sessions.destroy(principal.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/login', 303);
  });

  for (const path of ['/approvals/:id/decide', '/logout']) {
    pages.on(['GET', 'PUT', 'PATCH', 'DELETE'], path, () => {
      throw new HTTPException(405, { message: 'Use POST' });
    });
  }

  return pages;
}
