// The Pending page: the live queue of held calls (page, fragment, event stream) and the decisions made on it.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import {
  APPROVAL_ID_PATTERN,
  ApprovalAlreadyVotedError,
  ApprovalConflictError,
  ApprovalInClientError,
  ApprovalNeedsAccountError,
  ApprovalQueryError,
  type ApprovalQueue,
} from '../../approvals/index.js';
import type { Grants } from '../../grants/index.js';
import {
  type ApprovalListParams,
  approvalListSearch,
  PAGE_LIST,
  parseApprovalListParams,
} from '../approval-paging.js';
import type { MaskApproval } from '../display.js';
import { actorOf, type Principal, readForm, reviewerRefOf, type WebEnv } from '../security.js';
import { type Flash, pendingList, pendingPage } from '../views/approvals.js';
import { grantOffer } from '../views/grant-form.js';
import { messagePage } from '../views/pages.js';
import type { PendingContext } from '../views/pending.js';
import type { Frame } from './frame.js';

export interface PendingDeps {
  queue: ApprovalQueue;
  mask: MaskApproval;
  frame: Frame;
  /** One line per decision. */
  log?: ((line: string) => void) | undefined;
  /** Keep-alive comment interval on the live-update stream. */
  sseHeartbeatMs?: number | undefined;
  /** Standing grants: each grantable card offers "approve, and allow calls like this". */
  grants?: Grants | undefined;
}

type SessionPrincipal = Extract<Principal, { kind: 'session' }>;

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
      // Decided on the approval's own page: back to it, where the outcome shows.
      if (from.origin === origin && flash.id !== undefined && from.pathname === `/approvals/${flash.id}`) {
        return `${from.pathname}?${new URLSearchParams(flash).toString()}`;
      }
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
  if (!id || !APPROVAL_ID_PATTERN.test(id)) return undefined;
  if (query.done === 'approved')
    return { kind: 'ok', text: `Approved ${id}. The call runs now (or on its retry).` };
  if (query.done === 'denied') return { kind: 'ok', text: `Denied ${id}. Nothing runs.` };
  // A two-person approval: this approve was a vote; it runs once a second reviewer approves.
  if (query.done === 'pending')
    return {
      kind: 'ok',
      text: `Your approval of ${id} is recorded. It needs a second, different reviewer before it runs.`,
    };
  if (query.conflict)
    return {
      kind: 'error',
      text: `${id} was already ${query.conflict.replace(/[^a-z]/g, '')}: your decision was not recorded.`,
    };
  return undefined;
}

/** GET /, GET /fragments/pending, GET /events and POST /approvals/:id/decide. */
export function pendingRoutes(pages: Hono<WebEnv>, deps: PendingDeps): void {
  const { queue, mask, frame } = deps;

  /** The page the URL asks for: its cards, plus what surrounds them (agent summary, total, pager). */
  const pendingOf = (params: ApprovalListParams, csrf: string) => {
    const { grants } = deps;
    const page = queue.page(params);
    const ctx: PendingContext = {
      page,
      byAgent: queue.pendingByAgent(),
      cap: queue.maxPendingPerAgent,
      allPending: queue.store.countPending(),
      params,
      offer:
        grants === undefined
          ? undefined
          : (approval) =>
              grantOffer(approval, { csrf, grantable: approval.grantable, maxMs: grants.maxMs() }),
    };
    return { approvals: page.approvals.map(mask), ctx };
  };

  pages.get('/', (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const show = (params: ApprovalListParams, flash: Flash | undefined) => {
      const { approvals, ctx } = pendingOf(params, principal.session.csrf);
      const viewer = principal.session.reviewer;
      const body = pendingPage(approvals, principal.session.csrf, queue.now(), ctx, flash, viewer);
      // The tab counts what waits (queue.js keeps it current): "(3) Pending · Portcullis".
      return frame(
        principal,
        ctx.allPending > 0 ? `(${ctx.allPending}) Pending` : 'Pending',
        'pending',
        body,
      );
    };
    let params: ApprovalListParams;
    try {
      params = parseApprovalListParams(new URL(c.req.url).searchParams, PAGE_LIST, FLASH_KEYS);
      return c.html(show(params, flashFrom(c.req.query())));
    } catch (error) {
      if (!(error instanceof ApprovalQueryError)) throw error;
      // A stale or hand-edited link: say so, and offer the first page rather than a bare error.
      const flash: Flash = {
        kind: 'error',
        text: `This link cannot be used: ${error.message}. Showing the first page.`,
      };
      return c.html(show({ status: 'pending', limit: PAGE_LIST.defaultLimit }, flash), 400);
    }
  });

  pages.get('/fragments/pending', (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const params = parseApprovalListParams(new URL(c.req.url).searchParams, PAGE_LIST);
    const { approvals, ctx } = pendingOf(params, principal.session.csrf);
    return c.html(
      pendingList(approvals, principal.session.csrf, queue.now(), ctx, principal.session.reviewer),
    );
  });

  liveUpdates(pages, deps);
  decideRoute(pages, deps);
}

/** GET /events: a "changed" event whenever the queue changes, so the page reloads its cards. */
function liveUpdates(pages: Hono<WebEnv>, { queue, sseHeartbeatMs }: PendingDeps): void {
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
      }, sseHeartbeatMs ?? 15_000);
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
}

/** POST /approvals/:id/decide (the card's Approve and Deny buttons), back to the page it came from. */
function decideRoute(pages: Hono<WebEnv>, { queue, log, frame }: PendingDeps): void {
  pages.post('/approvals/:id/decide', async (c) => {
    const principal = c.get('principal') as SessionPrincipal;
    const form = await readForm(c);
    const decision = form.decision;
    if (decision !== 'approve' && decision !== 'deny') {
      throw new HTTPException(400, { message: 'decision must be approve or deny' });
    }
    const note = (form.note ?? '').trim().slice(0, 2000);
    const id = c.req.param('id');
    const by = actorOf(principal);
    const reviewer = reviewerRefOf(principal);
    const referer = c.req.header('referer');
    const origin = new URL(c.req.url).origin;
    try {
      const approval = queue.decide(id, { decision, by, reviewer, note: note === '' ? null : note });
      log?.(`approval ${approval.id} ${approval.status} by ${by}`);
      return c.redirect(returnSearch(referer, origin, { done: approval.status, id: approval.id }), 303);
    } catch (error) {
      if (error instanceof ApprovalConflictError) {
        return c.redirect(returnSearch(referer, origin, { conflict: error.status, id }), 303);
      }
      // The store refused this approve (a second vote, a client-kept or two-person approval): say why,
      // inside the frame so the reviewer can go back and deny it or leave it to someone else.
      if (
        error instanceof ApprovalAlreadyVotedError ||
        error instanceof ApprovalInClientError ||
        error instanceof ApprovalNeedsAccountError
      ) {
        const text = `${error.message}. Nothing was recorded; the approval is still pending on the Pending page.`;
        const status = error instanceof ApprovalNeedsAccountError ? 403 : 409;
        return c.html(
          frame(principal, 'Not recorded', 'pending', messagePage('Your approve was not recorded', text)),
          status,
        );
      }
      throw error;
    }
  });
}
