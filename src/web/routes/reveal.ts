// Revealing one masked argument of a pending approval to a signed-in reviewer, on purpose and on the record.
import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApprovalConflictError, ApprovalNotFoundError } from '../../approvals/index.js';
import type { ApprovalAuditEvent } from '../../audit/types.js';
import { resolvePointer } from '../../secrets/pointer.js';
import type { WebAppOptions } from '../app.js';
import { displayed } from '../display.js';
import { type Principal, readForm, type WebEnv } from '../security.js';
import { layout } from '../views/layout.js';
import { revealedPage } from '../views/reveal.js';

const PATH_MAX = 2000;

export interface Revealed {
  id: string;
  /** The JSON Pointer of the value, as listed in the approval's `masked`. */
  path: string;
  value: unknown;
}

/**
 * The real value at `path` of a pending approval's arguments, once the reveal is in the audit log
 * (who, which approval, which path; never the value). Only values the reviewer's view masks can
 * be revealed; a reveal that cannot be recorded is refused (no record, no reveal).
 */
export async function reveal(
  options: WebAppOptions,
  id: string,
  path: unknown,
  by: string,
): Promise<Revealed> {
  if (typeof path !== 'string' || path.length > PATH_MAX) {
    throw new HTTPException(400, {
      message: `"path" must be a JSON Pointer of at most ${PATH_MAX} characters`,
    });
  }
  const approval = options.queue.get(id);
  if (!approval) throw new ApprovalNotFoundError(id);
  // Once decided there is nothing left to approve: the value stays masked.
  if (approval.status !== 'pending') throw new ApprovalConflictError(id, approval.status);
  const shown = displayed(options, approval);
  if (!shown.maskedPaths.includes(path)) {
    throw new HTTPException(400, { message: `no masked value at ${JSON.stringify(path)} in ${id}` });
  }
  const found = resolvePointer(JSON.parse(approval.argsCanonical), path);
  if (!found.found) throw new HTTPException(400, { message: `no value at ${JSON.stringify(path)} in ${id}` });
  if (options.audit === undefined) {
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
    await options.audit.append(event);
  } catch {
    throw new HTTPException(503, {
      message: 'The reveal could not be recorded in the audit log, so the value is not shown',
    });
  }
  options.log?.(`approval ${approval.id}: ${by} revealed ${path}`);
  return { id: approval.id, path, value: found.value };
}

/** POST /api/approvals/:id/reveal `{"path": "/password"}` → `{id, path, value}` (admin token or session + CSRF). */
export function apiRevealRoute(
  api: Hono<WebEnv>,
  options: WebAppOptions,
  body: (c: Context<WebEnv>) => Promise<Record<string, unknown>>,
  reviewer: (principal: Principal) => string,
): void {
  api.post('/approvals/:id/reveal', async (c) => {
    const { path } = await body(c);
    return c.json(await reveal(options, c.req.param('id'), path, reviewer(c.get('principal'))));
  });
  api.on(['GET', 'PUT', 'PATCH', 'DELETE'], '/approvals/:id/reveal', () => {
    throw new HTTPException(405, { message: 'Use POST' });
  });
}

/**
 * POST /approvals/:id/reveal (the Pending page's Reveal button, form with `_csrf` and `path`): JSON
 * for the page's script (Accept: application/json), a page showing the value without script.
 */
export function pageRevealRoute(pages: Hono<WebEnv>, options: WebAppOptions): void {
  pages.post('/approvals/:id/reveal', async (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const form = await readForm(c);
    const revealed = await reveal(
      options,
      c.req.param('id'),
      form.path,
      `${principal.session.reviewer} (browser)`,
    );
    if ((c.req.header('accept') ?? '').includes('application/json')) return c.json(revealed);
    return c.html(
      layout(
        {
          title: 'Revealed value',
          active: 'pending',
          showPolicy: options.policyStatus !== undefined,
          showAudit: options.auditDir !== undefined,
          reviewer: principal.session.reviewer,
          csrf: principal.session.csrf,
          pendingCount: options.queue.store.countPending(),
        },
        revealedPage(revealed),
      ),
    );
  });
  pages.on(['GET', 'PUT', 'PATCH', 'DELETE'], '/approvals/:id/reveal', () => {
    throw new HTTPException(405, { message: 'Use POST' });
  });
}
