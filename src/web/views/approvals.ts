// Views of approvals: the pending cards a reviewer decides, and the table of past decisions.
import { html } from 'hono/html';
import type { Approval, ReviewerRef } from '../../approvals/index.js';
import { approvalListSearch, PAGE_LIST } from '../approval-paging.js';
import { readableArgs } from './args.js';
import type { Html } from './layout.js';
import { agentSummary, emptyText, type PendingContext, pager, pendingTotal } from './pending.js';
import { maskedList } from './reveal.js';
import { timeLeft, utcTime } from './time.js';
import { mayApprove, voteLine } from './votes.js';

function prettyArgs(approval: Approval): string {
  try {
    return JSON.stringify(JSON.parse(approval.argsCanonical), null, 2);
  } catch {
    return approval.argsCanonical;
  }
}

/** What a reviewer approves besides a tool call: the label names the request, so a URI never reads as a tool. */
const KIND_LABEL = { resource: 'resource read', prompt: 'prompt get' } as const;

function toolName(approval: Approval): Html {
  const kind =
    approval.kind === 'tool'
      ? ''
      : html`<span class="kind kind-${approval.kind}">${KIND_LABEL[approval.kind]}</span> `;
  return html`${kind}${approval.server ? html`<span class="server">${approval.server}</span><span class="sep">/</span>` : ''}<span class="tool">${approval.tool}</span>`;
}

/** The arguments block's heading: a resource read has none, a prompt's are its arguments. */
function argsHeading(approval: Approval): string {
  return approval.kind === 'prompt' ? 'Prompt arguments' : 'Arguments';
}

export function pendingCard(
  approval: Approval & { maskedPaths?: readonly string[] },
  csrf: string,
  now: number,
  viewer?: ReviewerRef,
  offer?: ((approval: Approval) => string) | undefined,
): Html {
  return html`<article class="card approval" id="${approval.id}" data-id="${approval.id}" data-expires="${approval.expiresAt}" data-tool="${approval.tool}" data-agent="${approval.agent ?? ''}">
  <header class="card-head">
    <h2 class="call"><a class="call-link" href="/approvals/${approval.id}" title="Open this approval's own page">${toolName(approval)}</a></h2>
    <span class="countdown" data-expires="${approval.expiresAt}" title="Expires and is denied at ${new Date(approval.expiresAt).toISOString()}">${timeLeft(approval.expiresAt - now)}</span>
  </header>
  <p class="reason">${approval.reason}</p>
  ${voteLine(approval, viewer)}
  <dl class="meta">
    <div><dt>Agent</dt><dd>${approval.agent ?? html`<span class="muted">unknown</span>`}</dd></div>
    <div><dt>Rule</dt><dd>${approval.rule ? html`<code>${approval.rule}</code>` : html`<span class="muted">policy default</span>`}</dd></div>
    <div><dt>Requested</dt><dd>${utcTime(approval.createdAt)}</dd></div>
    <div><dt>Approval</dt><dd><a href="/approvals/${approval.id}"><code>${approval.id}</code></a></dd></div>
  </dl>
  ${
    approval.kind === 'resource'
      ? html`<p class="args-none">Approving lets this read run once, for this agent and this URI only.</p>`
      : html`<section class="args" aria-label="${argsHeading(approval)}">
    <h3>${argsHeading(approval)} <span class="hash" title="SHA-256 of the canonical arguments">sha256 ${approval.argsSha256.slice(0, 16)}…</span></h3>
    ${readableArgs(approval.argsCanonical, { compact: true })}
    ${maskedList(approval.id, approval.maskedPaths, csrf)}
  </section>`
  }
  <form class="decide" method="post" action="/approvals/${approval.id}/decide">
    <input type="hidden" name="_csrf" value="${csrf}">
    <label for="note-${approval.id}">Note <span class="muted">(optional, recorded in the audit log)</span></label>
    <textarea id="note-${approval.id}" name="note" rows="2" maxlength="2000"></textarea>
    <div class="actions">
      <button type="submit" name="decision" value="deny" class="btn deny">Deny</button>
      ${
        approval.approveIn === 'client'
          ? html`<span class="muted client-only">Approved in the client only: the agent's user is asked there; here you can only deny it.</span>`
          : mayApprove(approval, viewer)
            ? html`<button type="submit" name="decision" value="approve" class="btn approve">Approve</button>`
            : ''
      }
    </div>
  </form>
  ${offer ? offer(approval) : ''}
</article>`;
}

/** The cards of one page; `ctx` adds the agent summary, total and pager that live updates refresh with them. */
export function pendingList(
  approvals: Approval[],
  csrf: string,
  now: number,
  ctx: PendingContext,
  viewer?: ReviewerRef,
): Html {
  const search = approvalListSearch(ctx.params, PAGE_LIST);
  return html`<div id="pending-view" data-total="${ctx.page.total}" data-all="${ctx.allPending}" data-search="${search}">
${agentSummary(ctx)}
${pendingTotal(ctx)}
<div id="pending-list" class="stack" data-count="${approvals.length}">
  ${approvals.map((a) => pendingCard(a, csrf, now, viewer, ctx.offer))}
  <p class="empty"${approvals.length > 0 ? html` hidden` : ''}>${emptyText(ctx)}</p>
</div>
${pager(ctx)}
</div>`;
}

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export function pendingPage(
  approvals: Approval[],
  csrf: string,
  now: number,
  ctx: PendingContext,
  flash?: Flash,
  viewer?: ReviewerRef,
): Html {
  return html`<div class="page-head">
  <h1>Pending approvals</h1>
  <p class="sub">Calls an agent made that the policy sent to a person, the one that expires first at the top. Nothing runs until you approve it; unanswered requests are denied when their time runs out.</p>
</div>
${flash ? html`<p class="flash ${flash.kind}" role="status">${flash.text}</p>` : ''}
<div class="live-bar"><p class="live" id="live-status" aria-live="polite">Live</p>
<button type="button" id="notify-toggle" class="btn small" hidden>Notify me of new approvals</button></div>
${pendingList(approvals, csrf, now, ctx, viewer)}`;
}

function statusBadge(approval: Approval): Html {
  return html`<span class="status ${approval.status}">${approval.status}</span>`;
}

function execution(approval: Approval): Html {
  if (approval.status !== 'approved') return html`<span class="muted">not run</span>`;
  if (approval.executedAt !== null) {
    return approval.executionOk
      ? html`<span class="ran ok">ran ${utcTime(approval.executedAt)}</span>`
      : html`<span class="ran failed" title="${approval.executionError ?? ''}">failed upstream</span>`;
  }
  return approval.deliveredAt !== null
    ? html`<span class="muted">running</span>`
    : html`<span class="muted">awaiting retry</span>`;
}

function auditTrail(approval: Approval): Html {
  if (approval.correlationId === null) return html``;
  const href = `/audit?${new URLSearchParams({ correlation_id: approval.correlationId }).toString()}`;
  return html` <a class="trail" href="${href}" title="This call's decision, approval and execution records">audit trail</a>`;
}

export function decidedPage(approvals: Approval[], options: { auditLinks?: boolean } = {}): Html {
  return html`<div class="page-head">
  <h1>Decided approvals</h1>
  <p class="sub">The latest decisions, newest first: who decided, when, and whether the call then ran.</p>
</div>
${
  approvals.length === 0
    ? html`<p class="empty">No decisions yet.</p>`
    : html`<div class="table-wrap"><table class="decided">
  <thead><tr><th>Decision</th><th>Call</th><th>Agent</th><th>Decided by</th><th>Note</th><th>When</th><th>Execution</th></tr></thead>
  <tbody>
  ${approvals.map(
    (a) => html`<tr id="${a.id}">
    <td>${statusBadge(a)}</td>
    <td><div class="call">${toolName(a)}</div>${a.kind === 'resource' ? '' : html`<details><summary>arguments</summary><pre>${prettyArgs(a)}</pre></details>`}<a class="muted" href="/approvals/${a.id}"><code>${a.id}</code></a>${options.auditLinks ? auditTrail(a) : ''}</td>
    <td>${a.agent ?? html`<span class="muted">unknown</span>`}</td>
    <td>${a.decidedBy ?? ''}${a.status === 'approved' ? '' : voteLine(a, undefined)}</td>
    <td class="note">${a.note === null ? html`<span class="muted">—</span>` : html`<div class="note-text">${a.note}</div>`}</td>
    <td>${utcTime(a.decidedAt)}</td>
    <td>${execution(a)}</td>
  </tr>`,
  )}
  </tbody></table></div>`
}`;
}
