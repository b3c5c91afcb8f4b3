// Server-rendered pages: sign-in first, then, behind a session, each feature's pages (see the files named below).
import { Hono } from 'hono';
import type { ApprovalQueue } from '../../approvals/index.js';
import type { WebAuth } from '../auth.js';
import type { MaskApproval } from '../display.js';
import { requireRole } from '../roles.js';
import type { WebEnv } from '../security.js';
import { messagePage } from '../views/pages.js';
import { type AgentsDeps, agentsPageRoutes } from './agents.js';
import { approvalPageRoute } from './approval.js';
import { type AuditDeps, auditPageRoute } from './audit.js';
import { type ComplianceDeps, compliancePageRoute, complianceSources } from './compliance.js';
import { decidedRoute } from './decided.js';
import { pageFrame } from './frame.js';
import { type GrantsDeps, grantsPageRoutes } from './grants.js';
import { type IncidentsDeps, incidentsPageRoutes } from './incidents.js';
import { type PendingDeps, pendingRoutes } from './pending.js';
import { type PinsDeps, pinsPageRoutes } from './pins.js';
import { type PolicyDeps, policyPageRoute } from './policy.js';
import { pageRevealRoute, type Reveal } from './reveal.js';
import { reviewersPageRoutes } from './reviewers.js';
import { logoutRoute, requireSession, signInRoutes } from './sign-in.js';

/** What all pages are built from; each feature below takes only its part. */
export interface PageDeps
  extends Omit<PendingDeps, 'frame'>,
    AuditDeps,
    Pick<PolicyDeps, 'policyStatus'>,
    PinsDeps,
    AgentsDeps,
    IncidentsDeps,
    Pick<GrantsDeps, 'grants'>,
    Pick<ComplianceDeps, 'policy' | 'directory' | 'integrity' | 'now' | 'maxRecords'> {
  /** Incidents for the Compliance page when they are not `incidents` (a test's own). */
  incidentLog?: ComplianceDeps['incidents'];
  queue: ApprovalQueue;
  auth: WebAuth;
  mask: MaskApproval;
  reveal: Reveal;
}

export function pageRoutes(deps: PageDeps): Hono<WebEnv> {
  const pages = new Hono<WebEnv>();
  const showAudit = deps.auditDir !== undefined;
  const frame = pageFrame({
    pendingCount: () => deps.queue.store.countPending(),
    showPolicy: deps.policyStatus !== undefined,
    showAudit,
    showPins: deps.pins !== undefined,
    showAgents: deps.agents !== undefined,
    showIncidents: deps.incidents !== undefined,
    showReviewers: deps.auth.reviewers !== undefined,
    showGrants: deps.grants !== undefined,
  });

  signInRoutes(pages, { auth: deps.auth, frame, log: deps.log });
  pages.use('*', requireSession({ auth: deps.auth, frame }));
  // One place decides what a reviewer account may open (src/web/roles.ts); the admin opens everything.
  pages.use(
    '*',
    requireRole((c, message) =>
      c.html(frame(c.get('principal'), 'Admin only', 'none', messagePage('Admin only', message)), 403),
    ),
  );
  pendingRoutes(pages, { ...deps, frame });
  approvalPageRoute(pages, { ...deps, frame, auditLinks: showAudit });
  grantsPageRoutes(pages, { grants: deps.grants, queue: deps.queue, log: deps.log, frame });
  decidedRoute(pages, { queue: deps.queue, mask: deps.mask, frame, auditLinks: showAudit });
  auditPageRoute(pages, { auditDir: deps.auditDir, frame });
  policyPageRoute(pages, { policyStatus: deps.policyStatus, frame });
  pinsPageRoutes(pages, { pins: deps.pins, log: deps.log, frame });
  agentsPageRoutes(pages, {
    agents: deps.agents,
    suspension: deps.suspension,
    log: deps.log,
    frame,
    auditLinks: showAudit,
  });
  compliancePageRoute(pages, { ...complianceSources(deps), frame });
  incidentsPageRoutes(pages, { incidents: deps.incidents, log: deps.log, frame, auditLinks: showAudit });
  pageRevealRoute(pages, { reveal: deps.reveal, frame });
  reviewersPageRoutes(pages, { reviewers: deps.auth.reviewers, log: deps.log, frame });
  logoutRoute(pages, deps);
  return pages;
}
