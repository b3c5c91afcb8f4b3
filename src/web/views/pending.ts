// The parts of the Pending page around the cards: pending per agent (floods at a glance), the total, and the pager.
import { html } from 'hono/html';
import type { AgentPending, Approval, ApprovalPage, PendingByAgent } from '../../approvals/index.js';
import { type ApprovalListParams, approvalListSearch, PAGE_LIST } from '../approval-paging.js';
import type { Html } from './layout.js';
import { utcTime } from './time.js';

/** Everything the Pending page shows besides the cards themselves. */
export interface PendingContext {
  page: ApprovalPage;
  byAgent: PendingByAgent;
  /** The pending cap per agent in force now. */
  cap: number;
  /** Pending approvals of every agent (the nav badge), whatever this page is filtered to. */
  allPending: number;
  params: ApprovalListParams;
  /** The standing-grant offer under a card's decision ('' for none); absent without grants. */
  offer?: ((approval: Approval) => string) | undefined;
}

function href(params: Partial<ApprovalListParams>): string {
  return `/${approvalListSearch(params, PAGE_LIST)}`;
}

function agentRow(row: AgentPending, ctx: PendingContext): Html {
  const atCap = row.pending >= ctx.cap;
  const flood = atCap || row.refused > 0;
  const current = row.agent !== null && row.agent === ctx.params.agent;
  const name =
    row.agent === null
      ? html`<span class="agent-name muted">unknown agent</span>`
      : html`<a class="agent-name" href="${href({ agent: row.agent, limit: ctx.params.limit })}"${current ? html` aria-current="true"` : ''} title="Show only ${row.agent}'s calls">${row.agent}</a>`;
  return html`<li class="agent-row${flood ? ' flood' : ''}${current ? ' current' : ''}" data-agent="${row.agent ?? ''}">
    ${name}
    <span class="agent-count">${row.pending} pending</span>
    ${atCap ? html`<span class="cap-reached" title="approval.max_pending_per_agent is ${ctx.cap}: further calls of this agent are denied without being queued">cap reached (${ctx.cap})</span>` : ''}
    ${row.refused > 0 && row.refusedSince !== null ? html`<span class="refused">${row.refused} refused since ${utcTime(row.refusedSince, 'minute')}</span>` : ''}
  </li>`;
}

function floodNote(agents: AgentPending[], cap: number): string {
  return agents.some((a) => a.pending >= cap)
    ? `An agent at its cap of ${cap} pending calls is flooding the queue: its further calls are denied, not queued.`
    : `Calls were denied, not queued, while their agent was at its cap of ${cap} pending calls.`;
}

/**
 * Shown when it tells the reviewer something: several agents are waiting, or one hit its cap. A flood
 * then reads as one line ("support-bot: 20 pending, cap reached, 340 refused") and every other agent
 * is one click away.
 */
export function agentSummary(ctx: PendingContext): Html {
  const { agents, agentCount } = ctx.byAgent;
  const flooded = agents.some((a) => a.pending >= ctx.cap || a.refused > 0);
  if (agentCount < 2 && !flooded) return html`<section id="agent-summary" hidden></section>`;
  const more = agentCount - agents.length;
  return html`<section id="agent-summary" class="agents card${flooded ? ' has-flood' : ''}" aria-labelledby="agents-title">
  <h2 id="agents-title">Waiting, by agent</h2>
  ${flooded ? html`<p class="flood-note">${floodNote(agents, ctx.cap)} Pick an agent to see only its calls.</p>` : ''}
  <ul class="agent-list">${agents.map((a) => agentRow(a, ctx))}</ul>
  ${more > 0 ? html`<p class="muted more-agents">and ${more} more agent${more === 1 ? '' : 's'} with fewer pending calls</p>` : ''}
</section>`;
}

/** "523 pending · 21–40, soonest to expire first", or the same for one agent with a way back to all. */
export function pendingTotal(ctx: PendingContext): Html {
  const { page, params } = ctx;
  const shown = page.approvals.length;
  const range =
    shown > 0 && shown < page.total
      ? html` <span class="muted">· showing ${page.offset + 1}–${page.offset + shown}, soonest to expire first</span>`
      : '';
  if (params.agent === undefined) {
    return html`<p id="pending-total" class="pending-total"><strong>${page.total} pending</strong>${range}</p>`;
  }
  return html`<p id="pending-total" class="pending-total"><strong>${page.total} pending from ${params.agent}</strong>${range}
  <span class="muted">· ${ctx.allPending} from all agents</span> <a href="${href({ limit: params.limit })}">Show every agent</a></p>`;
}

/** Older / Newer: keyset cursors, so a page does not shift while approvals arrive or are decided. */
export function pager(ctx: PendingContext): Html {
  const { page, params } = ctx;
  if (page.prevCursor === null && page.nextCursor === null)
    return html`<nav id="pager" class="pager" hidden></nav>`;
  const link = (cursor: string | null, rel: 'prev' | 'next', label: string) =>
    cursor === null
      ? html`<span class="pager-off muted">${label}</span>`
      : html`<a rel="${rel}" href="${href({ agent: params.agent, limit: params.limit, cursor })}">${label}</a>`;
  return html`<nav id="pager" class="pager" aria-label="Pages of pending approvals">
  ${link(page.prevCursor, 'prev', '← Older')}
  ${page.prevCursor === null ? '' : html`<a class="pager-first" href="${href({ agent: params.agent, limit: params.limit })}">First page</a>`}
  ${link(page.nextCursor, 'next', 'Newer →')}
</nav>`;
}

/** What an empty list says: nothing waits at all, nothing from this agent, or this page ran dry. */
export function emptyText(ctx: PendingContext): Html {
  if (ctx.page.total > 0) {
    return html`Nothing left on this page. <a href="${href({ agent: ctx.params.agent, limit: ctx.params.limit })}">Back to the first page</a>`;
  }
  if (ctx.params.agent !== undefined) {
    return html`Nothing from ${ctx.params.agent} is waiting. <a href="${href({ limit: ctx.params.limit })}">Show every agent</a>`;
  }
  return html`Nothing is waiting for a decision. New requests appear here as they arrive.`;
}
