// Revealing one masked argument of a pending approval to a signed-in reviewer, on purpose and on the record.
import type { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApprovalConflictError, ApprovalNotFoundError, type ApprovalQueue } from '../../approvals/index.js';
import type { ApprovalAuditEvent, AuditSink } from '../../audit/index.js';
import { resolvePointer } from '../../secrets/index.js';
import type { MaskApproval } from '../display.js';
import { actorOf, type Principal, readForm, type WebEnv } from '../security.js';
import { revealedPage } from '../views/reveal.js';
import { jsonBody } from './body.js';
import type { Frame } from './frame.js';

const PATH_MAX = 2000;

export interface RevealDeps {
  queue: Pick<ApprovalQueue, 'get'>;
  mask: MaskApproval;
  /** Where reveals are recorded; without it nothing can be revealed. */
  audit: AuditSink | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface Revealed {
  id: string;
  /** The JSON Pointer of the value, as listed in the approval's `masked`. */
  path: string;
  value: unknown;
}

/** Reveals `path` of approval `id` to reviewer `by`; what both Reveal routes call. */
export type Reveal = (id: string, path: unknown, by: string) => Promise<Revealed>;

/**
 * The real value at `path` of a pending approval's arguments, once the reveal is in the audit log
 * (who, which approval, which path; never the value). Only values the reviewer's view masks can
 * be revealed; a reveal that cannot be recorded is refused (no record, no reveal).
 */
export function revealer({ queue, mask, audit, log }: RevealDeps): Reveal {
  return async (id, path, by) => {
    if (typeof path !== 'string' || path.length > PATH_MAX) {
      throw new HTTPException(400, {
        message: `"path" must be a JSON Pointer of at most ${PATH_MAX} characters`,
      });
    }
    const approval = queue.get(id);
    if (!approval) throw new ApprovalNotFoundError(id);
    // Once decided there is nothing left to approve: the value stays masked.
    if (approval.status !== 'pending') throw new ApprovalConflictError(id, approval.status);
    if (!mask(approval).maskedPaths.includes(path)) {
      throw new HTTPException(400, { message: `no masked value at ${JSON.stringify(path)} in ${id}` });
    }
    const found = resolvePointer(JSON.parse(approval.argsCanonical), path);
    if (!found.found)
      throw new HTTPException(400, { message: `no value at ${JSON.stringify(path)} in ${id}` });
    if (audit === undefined) {
      throw new HTTPException(503, {
        message: 'Revealing is recorded in the audit log, which is not available here',
      });
    }
    const event: ApprovalAuditEvent = {
      event: 'approval',
      action: 'revealed',
      approval_id: approval.id,
      correlation_id: approval.correlationId ?? undefined,
      agent: approval.agent,
      server: approval.server,
      tool: approval.tool,
      by,
      path,
    };
    try {
      await audit.append(event);
    } catch {
      throw new HTTPException(503, {
        message: 'The reveal could not be recorded in the audit log, so the value is not shown',
      });
    }
    log?.(`approval ${approval.id}: ${by} revealed ${path}`);
    return { id: approval.id, path, value: found.value };
  };
}

/** POST /api/approvals/:id/reveal `{"path": "/password"}` → `{id, path, value}` (admin token or session + CSRF). */
export function apiRevealRoute(
  api: Hono<WebEnv>,
  reveal: Reveal,
  reviewer: (principal: Principal) => string,
): void {
  api.post('/approvals/:id/reveal', async (c) => {
    const { path } = await jsonBody(c.req);
    return c.json(await reveal(c.req.param('id'), path, reviewer(c.get('principal'))));
  });
}

/**
 * POST /approvals/:id/reveal (the Pending page's Reveal button, form with `_csrf` and `path`): JSON
 * for the page's script (Accept: application/json), a page showing the value without script.
 */
export function pageRevealRoute(
  pages: Hono<WebEnv>,
  { reveal, frame }: { reveal: Reveal; frame: Frame },
): void {
  pages.post('/approvals/:id/reveal', async (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const form = await readForm(c);
    const revealed = await reveal(c.req.param('id'), form.path, actorOf(principal));
    if ((c.req.header('accept') ?? '').includes('application/json')) return c.json(revealed);
    return c.html(frame(principal, 'Revealed value', 'pending', revealedPage(revealed)));
  });
}
