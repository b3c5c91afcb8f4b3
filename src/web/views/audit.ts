// The audit log page: a filter form, the matching records newest first, each expandable to its JSON.
import { html } from 'hono/html';
import type { AuditRecord } from '../../audit/index.js';
import {
  AUDIT_DECISIONS,
  AUDIT_EVENT_KINDS,
  type AuditFilters,
  auditSearch,
  hasFilters,
} from '../audit-filters.js';
import type { Html } from './layout.js';

export interface AuditPageProps {
  /** The filters in force (normalized), carried on by the paging and correlation links. */
  filters: AuditFilters;
  /** What the form fields show: the raw query values, so a bad one can be corrected in place. */
  form: Record<string, string>;
  records: AuditRecord[];
  /** The writer slot (chain) of each record: `chains[i]` for `records[i]`. */
  chains: number[];
  nextCursor: string | null;
  /** A bad filter: shown instead of records. */
  error?: string | undefined;
}

const muted = (text: string): Html => html`<span class="muted">${text}</span>`;

export function auditHref(filters: AuditFilters): string {
  return `/audit${auditSearch(filters)}`;
}

function time(ts: string): Html {
  // Shown in UTC, like the filter fields, so what you read is what you type (data-utc: not localized).
  const shown = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(ts)
    ? `${ts.slice(0, 10)} ${ts.slice(11, 19)}`
    : ts;
  return html`<time datetime="${ts}" data-utc title="${ts}">${shown}</time>`;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The event-specific word worth a glance: approval action/status, execution outcome, ... */
function detail(record: AuditRecord): string | undefined {
  const word = text(record.action) ?? text(record.status) ?? text(record.outcome) ?? text(record.problem);
  if (word === undefined) return undefined;
  if (record.event === 'execution' && typeof record.latency_ms === 'number') {
    return `${word}, ${Math.round(record.latency_ms)} ms`;
  }
  // A reveal names who revealed as `by`; a decision names its reviewer as `decided_by`.
  const by = text(record.by) ?? text(record.decided_by);
  return by === undefined ? word : `${word} by ${by}`;
}

function call(record: AuditRecord): Html {
  const server = text(record.server);
  // Resource and prompt records name what they asked for instead of a tool.
  const tool = text(record.tool) ?? text(record.prompt) ?? text(record.resource);
  if (tool === undefined)
    return server === undefined ? muted('—') : html`<span class="server">${server}</span>`;
  return html`${server === undefined ? '' : html`<span class="server">${server}</span><span class="sep">/</span>`}<span class="tool">${tool}</span>`;
}

function recordRows(record: AuditRecord, filters: AuditFilters, chain: number): Html {
  const correlation = text(record.correlation_id);
  const approval = text(record.approval_id);
  const decision = text(record.decision);
  // seq counts per chain: another writer's records carry its slot in their id and label.
  const id = chain === 1 ? `seq-${record.seq}` : `seq-w${chain}-${record.seq}`;
  return html`<tbody class="record${record.event === 'chain_break' ? ' problem' : ''}" id="${id}" data-seq="${record.seq}" data-chain="${chain}">
  <tr class="main">
    <td class="when">${time(record.ts)}<span class="seq"${
      chain === 1 ? '' : html` title="written by writer slot ${chain} (audit/writer-${chain}/)"`
    }>${chain === 1 ? '' : `w${chain}`}#${record.seq}</span></td>
    <td><span class="event kind-${record.event}">${record.event}</span>${
      detail(record) === undefined ? '' : html`<span class="detail">${detail(record)}</span>`
    }</td>
    <td class="agent">${text(record.agent) ?? muted('—')}</td>
    <td><div class="call">${call(record)}</div></td>
    <td>${decision === undefined ? muted('—') : html`<span class="decision ${decision}">${decision}</span>`}</td>
    <td>${text(record.rule) === undefined ? muted('—') : html`<code>${record.rule}</code>`}</td>
    <td class="reason">${text(record.reason) ?? muted('—')}</td>
  </tr>
  <tr class="more">
    <td colspan="7"><div class="more-line">
      ${
        correlation === undefined
          ? ''
          : filters.correlation_id === correlation
            ? html`<span class="corr muted">call <code>${correlation}</code></span>`
            : html`<a class="corr" href="${auditHref({ correlation_id: correlation })}" title="Show every record of this call">call <code>${correlation}</code></a>`
      }
      ${approval === undefined ? '' : html`<span class="muted">approval <code>${approval}</code></span>`}
      <details class="json"><summary>Full record</summary><pre>${JSON.stringify(record, null, 2)}</pre></details>
    </div></td>
  </tr>
</tbody>`;
}

function field(name: string, label: string, value: string | undefined, placeholder = ''): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" value="${value ?? ''}" placeholder="${placeholder}" autocomplete="off" spellcheck="false"></div>`;
}

function choice(name: string, label: string, options: readonly string[], value: string | undefined): Html {
  return html`<div class="field"><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}">
  <option value="">any</option>
  ${options.map((o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${o}</option>`)}
</select></div>`;
}

function filterForm(props: AuditPageProps): Html {
  const f = props.form;
  return html`<form class="filters card" method="get" action="/audit" role="search">
  <div class="filter-grid">
    ${field('agent', 'Agent', f.agent)}
    ${field('server', 'Server', f.server)}
    ${field('tool', 'Tool', f.tool)}
    ${choice('decision', 'Decision', AUDIT_DECISIONS, f.decision)}
    ${choice('event', 'Event', AUDIT_EVENT_KINDS, f.event)}
    ${field('from', 'From (UTC)', f.from, '2025-01-31 09:00')}
    ${field('to', 'To (UTC)', f.to, '2025-01-31 18:00')}
    ${field('q', 'Text', f.q, 'anywhere in the record')}
    ${field('correlation_id', 'Call (correlation id)', f.correlation_id)}
    <div class="filter-actions">
      <a href="/audit" class="clear">Clear</a>
      <button type="submit" class="btn primary">Filter</button>
    </div>
  </div>
  ${f.limit ? html`<input type="hidden" name="limit" value="${f.limit}">` : ''}
</form>`;
}

function pager(props: AuditPageProps): Html {
  const { filters, nextCursor } = props;
  const newest = filters.before !== undefined ? auditHref({ ...filters, before: undefined }) : undefined;
  const older = nextCursor !== null ? auditHref({ ...filters, before: nextCursor }) : undefined;
  if (!newest && !older) return html``;
  return html`<nav class="pager" aria-label="Pages">
  ${newest ? html`<a href="${newest}" rel="first">« Newest</a>` : html`<span></span>`}
  ${older ? html`<a href="${older}" rel="next" class="older">Older »</a>` : html`<span class="muted">No older records</span>`}
</nav>`;
}

function results(props: AuditPageProps): Html {
  const { records, filters } = props;
  if (records.length === 0) {
    return html`<p class="empty">${
      hasFilters(filters) || filters.before !== undefined
        ? 'No records match these filters.'
        : 'The audit log is empty. Records appear here as agents make calls.'
    }</p>`;
  }
  const first = records[0] as AuditRecord;
  const last = records.at(-1) as AuditRecord;
  const writers = new Set(props.chains).size;
  // A seq range only means something within one chain; slot N's seqs are marked wN.
  const mark = props.chains[0] === undefined || props.chains[0] === 1 ? '' : `w${props.chains[0]}`;
  const range =
    writers > 1
      ? ` from ${writers} writers`
      : `, ${mark}#${first.seq}${records.length > 1 ? ` to ${mark}#${last.seq}` : ''}`;
  return html`<p class="count muted">${records.length} record${records.length === 1 ? '' : 's'}${range}, newest first. Open a record for everything it holds; secrets appear as stored, redacted.</p>
<div class="table-wrap"><table class="audit">
  <thead><tr><th>Time (UTC)</th><th>Event</th><th>Agent</th><th>Call</th><th>Decision</th><th>Rule</th><th>Reason</th></tr></thead>
  ${records.map((r, i) => recordRows(r, filters, props.chains[i] ?? 1))}
</table></div>
${pager(props)}`;
}

export function auditPage(props: AuditPageProps): Html {
  const { filters } = props;
  const correlation = filters.correlation_id;
  return html`<div class="page-head">
  <h1>Audit log</h1>
  <p class="sub">Every decision, approval and execution, as written to the hash-chained log. Link a call's records together with its correlation id.</p>
</div>
${filterForm(props)}
${
  props.error !== undefined
    ? html`<p class="flash error" role="alert">${props.error}</p>`
    : html`${
        correlation === undefined
          ? ''
          : html`<p class="flash info" role="status">Showing every record of one call, <code>${correlation}</code>: its decision, any approval, and its execution. <a href="${auditHref({ ...filters, correlation_id: undefined, before: undefined })}">Show all calls</a></p>`
      }${results(props)}`
}`;
}
