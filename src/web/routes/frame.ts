// The page frame as the routes use it: the shared layout, filled in from who is signed in and which pages exist.
import { isAdmin, mayOpen } from '../roles.js';
import type { Principal } from '../security.js';
import { type Html, type LayoutProps, layout } from '../views/layout.js';

export interface FrameDeps {
  /** The nav badge: pending approvals of every agent. */
  pendingCount(): number;
  /** Whether the Policy and Audit pages exist (they are off without a policy status or an audit dir). */
  showPolicy: boolean;
  showAudit: boolean;
  /** Whether the Pins page exists (off without the proxy's pins). */
  showPins?: boolean | undefined;
  /** Whether the Agents page exists (off without the agent registry). */
  showAgents?: boolean | undefined;
  /** Whether the Incidents page exists (off without the proxy's incidents). */
  showIncidents?: boolean | undefined;
  /** Whether the Reviewers page exists (off without reviewer accounts); shown to the admin only. */
  showReviewers?: boolean | undefined;
  /** Whether the Grants page exists (off without standing grants). */
  showGrants?: boolean | undefined;
}

/** A page inside the frame; `wide` gives tables with many columns (the audit log) more of the screen. */
export type Frame = (
  principal: Principal | undefined,
  title: string,
  active: LayoutProps['active'],
  body: Html,
  wide?: boolean,
) => Html;

export function pageFrame(deps: FrameDeps): Frame {
  return (principal, title, active, body, wide = false) =>
    layout(
      {
        title,
        active,
        // A reviewer account sees links only to pages it may open (src/web/roles.ts).
        showPolicy: deps.showPolicy && mayOpen(principal, '/policy'),
        showAudit: deps.showAudit && mayOpen(principal, '/audit'),
        showPins: deps.showPins === true && mayOpen(principal, '/pins'),
        showAgents: deps.showAgents === true && mayOpen(principal, '/agents'),
        showIncidents: deps.showIncidents === true && mayOpen(principal, '/incidents'),
        showCompliance: mayOpen(principal, '/compliance'),
        showReviewers: deps.showReviewers === true && isAdmin(principal),
        showGrants: deps.showGrants === true && mayOpen(principal, '/grants'),
        wide,
        reviewer: principal?.kind === 'session' ? principal.session.reviewer.name : undefined,
        csrf: principal?.kind === 'session' ? principal.session.csrf : undefined,
        pendingCount: principal ? deps.pendingCount() : undefined,
      },
      body,
    );
}
