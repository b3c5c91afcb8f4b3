// The page of one approval: what is asked and why, where it stands, the arguments read plainly, and the decision.
import { html } from 'hono/html';
import type { Approval, ReviewerRef } from '../../approvals/index.js';
import type { MaskedApproval } from '../display.js';
import { readableArgs } from './args.js';
import { grantOffer } from './grant-form.js';
import type { Html } from './layout.js';
import { maskedList } from './reveal.js';
import { timeLeft, utcTime } from './time.js';
import { mayApprove, voteLine } from './votes.js';

export interface ApprovalPageProps {
  csrf: string;
  now: number;
  /** The policy's `approval.grant_max`, for the grant offer; undefined: no standing grants here, none offered. */
  grantMaxMs: number | undefined;
  /** Whether the audit page exists, for the link to this call's trail. */
  auditLinks: boolean;
  flash?: { kind: 'ok' | 'error'; text: string } | undefined;
  /** Who is looking: a reviewer who already approved a two-person call is offered Deny only. */
  viewer?: ReviewerRef | undefined;
}

const KIND_LABEL = { tool: 'Tool call', resource: 'Resource read', prompt: 'Prompt get' } as const;

function outcome(a: Approval): Html {
  if (a.status !== 'approved') return html`<span class="muted">not run</span>`;
  if (a.executedAt !== null)
    return a.executionOk
      ? html`<span class="ran ok">ran ${utcTime(a.executedAt)}</span>`
      : html`<span class="ran failed">failed upstream: ${a.executionError ?? 'no detail'}</span>`;
  return a.deliveredAt !== null
    ? html`<span class="muted">running</span>`
    : html`<span class="muted">approved, runs when the agent retries</span>`;
}

function statusRows(a: Approval, now: number, auditLinks: boolean): Html {
  const trail =
    auditLinks && a.correlationId !== null
      ? html`<a href="/audit?${new URLSearchParams({ correlation_id: a.correlationId }).toString()}">audit trail</a>`
      : '';
  return html`<div><dt>Status</dt><dd><span class="status ${a.status}">${a.status}</span> ${trail}</dd></div>
    <div><dt>Requested</dt><dd>${utcTime(a.createdAt)}</dd></div>
    ${
      a.status === 'pending'
        ? html`<div class="span"><dt>Expires</dt><dd><span class="countdown" data-expires="${a.expiresAt}">${timeLeft(a.expiresAt - now)}</span> <span class="muted">then denied, at ${utcTime(a.expiresAt)}</span></dd></div>`
        : html`<div><dt>Decided</dt><dd>${utcTime(a.decidedAt)}${a.decidedBy ? html` by <strong>${a.decidedBy}</strong>` : ''}</dd></div>
    <div class="span"><dt>Note</dt><dd>${a.note === null ? html`<span class="muted">none</span>` : html`<span class="note-text">${a.note}</span>`}</dd></div>
    <div class="span"><dt>Execution</dt><dd>${outcome(a)}</dd></div>`
    }`;
}

function decisionForm(a: Approval, csrf: string, viewer: ReviewerRef | undefined): Html {
  const clientOnly = a.approveIn === 'client';
  const approvable = !clientOnly && mayApprove(a, viewer);
  return html`<form class="decide" method="post" action="/approvals/${a.id}/decide">
    <input type="hidden" name="_csrf" value="${csrf}">
    ${clientOnly ? html`<p class="flash error">This rule has the call approved in the agent's client; here it can only be denied.</p>` : ''}
    <label for="note-${a.id}">Note <span class="muted">(optional, recorded in the audit log)</span></label>
    <textarea id="note-${a.id}" name="note" rows="2" maxlength="2000"></textarea>
    <div class="actions">
      <button type="submit" name="decision" value="deny" class="btn deny">Deny</button>
      ${approvable ? html`<button type="submit" name="decision" value="approve" class="btn approve">Approve</button>` : ''}
    </div>
  </form>`;
}

function argsSection(a: MaskedApproval, csrf: string): Html {
  if (a.kind === 'resource')
    return html`<p class="args-none">Approving lets this read run once, for this agent and this URI only.</p>`;
  const heading = a.kind === 'prompt' ? 'Prompt arguments' : 'Arguments';
  return html`<section class="args" aria-label="${heading}">
    <h2>${heading} <span class="hash" title="SHA-256 of the canonical arguments">sha256 ${a.argsSha256.slice(0, 16)}…</span></h2>
    ${readableArgs(a.argsCanonical)}
    ${a.status === 'pending' ? maskedList(a.id, a.maskedPaths, csrf) : ''}
  </section>`;
}

export function approvalPage(a: MaskedApproval, props: ApprovalPageProps): Html {
  return html`<p class="crumbs"><a href="/">← Pending approvals</a></p>
<article class="approval approval-page" id="${a.id}" data-id="${a.id}" data-status="${a.status}">
  <div class="page-head">
    <p class="kind-line muted">${KIND_LABEL[a.kind]} · <code>${a.id}</code></p>
    <h1 class="call">${a.server ? html`<span class="server">${a.server}</span><span class="sep">/</span>` : ''}<span class="tool">${a.tool}</span></h1>
    <p class="reason">${a.reason}</p>
  </div>
  ${props.flash ? html`<p class="flash ${props.flash.kind}" role="status">${props.flash.text}</p>` : ''}
  ${a.status === 'pending' ? html`<p class="live" id="live-status" aria-live="polite" title="This page shows the decision as soon as it is made">Live</p>` : ''}
  <section class="card">
    <dl class="meta wide">
      <div><dt>Agent</dt><dd>${a.agent ?? html`<span class="muted">unknown</span>`}</dd></div>
      <div><dt>Server</dt><dd>${a.server ?? html`<span class="muted">—</span>`}</dd></div>
      <div><dt>Rule</dt><dd>${a.rule ? html`<code>${a.rule}</code>` : html`<span class="muted">policy default</span>`}</dd></div>
      ${statusRows(a, props.now, props.auditLinks)}
    </dl>
    ${voteLine(a, props.viewer)}
  </section>
  <section class="card">${argsSection(a, props.csrf)}</section>
  ${
    a.status === 'pending'
      ? html`<section class="card decision-card" aria-label="Decision">${decisionForm(a, props.csrf, props.viewer)}
    ${props.grantMaxMs === undefined ? '' : grantOffer(a, { csrf: props.csrf, grantable: a.grantable, maxMs: props.grantMaxMs })}</section>`
      : ''
  }
</article>`;
}
