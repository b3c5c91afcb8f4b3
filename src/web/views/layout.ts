// The page frame every UI page shares: head, top bar with navigation, and the live-update script.
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface LayoutProps {
  title: string;
  active:
    | 'pending'
    | 'decided'
    | 'audit'
    | 'policy'
    | 'pins'
    | 'agents'
    | 'incidents'
    | 'grants'
    | 'compliance'
    | 'reviewers'
    | 'none';
  reviewer?: string | undefined;
  csrf?: string | undefined;
  pendingCount?: number | undefined;
  showPolicy: boolean;
  showAudit?: boolean | undefined;
  showPins?: boolean | undefined;
  showAgents?: boolean | undefined;
  showIncidents?: boolean | undefined;
  /** Off for a signed-in reviewer account that may not open it; on when not given. */
  showCompliance?: boolean | undefined;
  showReviewers?: boolean | undefined;
  showGrants?: boolean | undefined;
  /** Tables with many columns (the audit log) get more of a laptop screen. */
  wide?: boolean | undefined;
}

const logo = html`<svg class="logo" viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
  <path d="M3 21V7l9-4 9 4v14" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/>
  <path d="M7 21V10M12 21V8M17 21V10M5 13h14M5 17h14" fill="none" stroke="currentColor" stroke-width="1.6"/>
</svg>`;

function navLink(href: string, label: Html | string, on: boolean): Html {
  return html`<a href="${href}"${on ? html` aria-current="page" class="active"` : ''}>${label}</a>`;
}

export function layout(props: LayoutProps, body: Html): Html {
  const signedIn = props.csrf !== undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
<title>${props.title} · Portcullis</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/links.js"></script>
${signedIn ? html`<script src="/assets/notify.js" defer></script><script src="/assets/queue.js" defer></script>` : ''}
</head>
<body${signedIn ? html` data-csrf="${props.csrf}"` : ''}>
<header class="topbar">
  <a class="brand" href="/">${logo}<span>Portcullis</span></a>
  ${
    signedIn
      ? html`<nav aria-label="Main">
    ${navLink('/', html`Pending <span class="badge" id="pending-count">${props.pendingCount ?? 0}</span>`, props.active === 'pending')}
    ${navLink('/decided', 'Decided', props.active === 'decided')}
    ${props.showGrants ? navLink('/grants', 'Grants', props.active === 'grants') : ''}
    ${props.showAudit ? navLink('/audit', 'Audit', props.active === 'audit') : ''}
    ${props.showPins ? navLink('/pins', 'Pins', props.active === 'pins') : ''}
    ${props.showAgents ? navLink('/agents', 'Agents', props.active === 'agents') : ''}
    ${props.showIncidents ? navLink('/incidents', 'Incidents', props.active === 'incidents') : ''}
    ${props.showPolicy ? navLink('/policy', 'Policy', props.active === 'policy') : ''}
    ${props.showCompliance !== false ? navLink('/compliance', 'Compliance', props.active === 'compliance') : ''}
    ${props.showReviewers ? navLink('/reviewers', 'Reviewers', props.active === 'reviewers') : ''}
  </nav>
  <form class="signout" method="post" action="/logout">
    <input type="hidden" name="_csrf" value="${props.csrf}">
    <span class="who">${props.reviewer}</span>
    <button type="submit" class="link">Sign out</button>
  </form>`
      : ''
  }
</header>
<main${props.wide ? html` class="wide"` : ''}>
${body}
</main>
</body>
</html>`;
}
