// GET /approvals/:id: one approval's own page, the address every link handed out for it points to.
import type { Hono } from 'hono';
import { APPROVAL_ID_PATTERN, type ApprovalQueue } from '../../approvals/index.js';
import type { Grants } from '../../grants/index.js';
import type { MaskApproval } from '../display.js';
import type { Principal, WebEnv } from '../security.js';
import { approvalPage } from '../views/approval-page.js';
import { messagePage } from '../views/pages.js';
import type { Frame } from './frame.js';

export interface ApprovalPageDeps {
  queue: ApprovalQueue;
  mask: MaskApproval;
  frame: Frame;
  /** Standing grants: a grantable approval offers "approve, and allow calls like this" (as its Pending card does). */
  grants?: Grants | undefined;
  auditLinks: boolean;
}

function flashOf(query: Record<string, string>): { kind: 'ok' | 'error'; text: string } | undefined {
  if (query.done === 'approved')
    return { kind: 'ok', text: 'Approved. The call runs now (or on its retry).' };
  if (query.done === 'pending')
    return { kind: 'ok', text: 'Your approval is recorded; one more reviewer must approve.' };
  if (query.done === 'denied') return { kind: 'ok', text: 'Denied. Nothing runs.' };
  if (query.conflict)
    return {
      kind: 'error',
      text: `It was already ${query.conflict.replace(/[^a-z]/g, '')}: your decision was not recorded.`,
    };
  return undefined;
}

export function approvalPageRoute(pages: Hono<WebEnv>, deps: ApprovalPageDeps): void {
  pages.get('/approvals/:id', (c) => {
    const principal = c.get('principal') as Extract<Principal, { kind: 'session' }>;
    const id = c.req.param('id');
    const approval = APPROVAL_ID_PATTERN.test(id) ? deps.queue.store.get(id) : undefined;
    if (!approval) {
      const body = messagePage(
        'No such approval',
        `There is no approval ${id.slice(0, 40)}. It may be from another proxy's data directory.`,
      );
      return c.html(deps.frame(principal, 'Not found', 'none', body), 404);
    }
    const body = approvalPage(deps.mask(approval), {
      csrf: principal.session.csrf,
      now: deps.queue.now(),
      grantMaxMs: deps.grants?.maxMs(),
      auditLinks: deps.auditLinks,
      flash: flashOf(c.req.query()),
      viewer: principal.session.reviewer,
    });
    return c.html(deps.frame(principal, `${approval.tool} (${approval.status})`, 'pending', body));
  });
}
