// The Decided page: the latest approvals that are no longer pending, and how each ended.
import type { Hono } from 'hono';
import type { ApprovalQueue } from '../../approvals/index.js';
import type { MaskApproval } from '../display.js';
import type { WebEnv } from '../security.js';
import { decidedPage } from '../views/approvals.js';
import type { Frame } from './frame.js';

export interface DecidedDeps {
  queue: Pick<ApprovalQueue, 'list'>;
  mask: MaskApproval;
  frame: Frame;
  /** Link each approval to its audit records (only where the audit page exists). */
  auditLinks: boolean;
}

/** GET /decided. */
export function decidedRoute(pages: Hono<WebEnv>, { queue, mask, frame, auditLinks }: DecidedDeps): void {
  pages.get('/decided', (c) => {
    const approvals = queue.list({ limit: 200 }).map(mask);
    return c.html(
      frame(c.get('principal'), 'Decided approvals', 'decided', decidedPage(approvals, { auditLinks })),
    );
  });
}
