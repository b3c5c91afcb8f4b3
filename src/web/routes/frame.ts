// The page frame as the routes use it: the shared layout, filled in from who is signed in and which pages exist.
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
        showPolicy: deps.showPolicy,
        showAudit: deps.showAudit,
        showPins: deps.showPins,
        showAgents: deps.showAgents,
        showIncidents: deps.showIncidents,
        showGrants: deps.showGrants,
        wide,
        reviewer: principal?.kind === 'session' ? principal.session.reviewer.name : undefined,
        csrf: principal?.kind === 'session' ? principal.session.csrf : undefined,
        pendingCount: principal ? deps.pendingCount() : undefined,
      },
      body,
    );
}
