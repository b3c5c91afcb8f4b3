// The Incidents page: suspended agents with Reinstate, filters, each incident with its source and Acknowledge/Resolve, and the report form.
import { html } from 'hono/html';
import type { Incident, IncidentFilter } from '../../governance/index.js';
import type { AgentSuspension } from '../../incidents/index.js';
import type { Html } from './layout.js';

export interface IncidentsView {
  incidents: Incident[];
  suspended: AgentSuspension[];
  filter: IncidentFilter;
  csrf: string;
  /** Whether the Audit page exists to link to. */
  auditLinks: boolean;
  flash?: string | undefined;
}

const SOURCE_LABEL: Record<Incident['source'], string> = {
  rule: 'Policy rule',
  rate: 'Rate limit',
  concurrency: 'Concurrency limit',
  budget: 'Budget',
  audit: 'Audit log',
  manual: 'Reported',
};

function when(iso: string | null): Html | string {
  if (iso === null) return '';
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

function csrfField(csrf: string): Html {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

function auditLink(incident: Incident, on: boolean): Html | string {
  if (!on) return '';
  const query: Record<string, string> = incident.correlation_id
    ? { correlation_id: incident.correlation_id }
    : incident.agent
      ? { agent: incident.agent }
      : { event: 'incident' };
  const label = incident.correlation_id
    ? 'The call in the audit trail'
    : incident.agent
      ? "The agent's audit trail"
      : 'Audit trail';
  return html`<a href="/audit?${new URLSearchParams(query).toString()}">${label}</a>`;
}

function incidentCard(incident: Incident, view: IncidentsView): Html {
  const source = `${SOURCE_LABEL[incident.source]}${incident.rule ? `: ${incident.rule}` : ''}`;
  const actions =
    incident.status === 'resolved'
      ? ''
      : html`<div class="actions">
      ${
        incident.status === 'open'
          ? html`<form method="post" action="/incidents/${incident.id}/acknowledge">${csrfField(view.csrf)}<button type="submit" class="btn">Acknowledge</button></form>`
          : ''
      }
      <form method="post" action="/incidents/${incident.id}/resolve">${csrfField(view.csrf)}<button type="submit" class="btn approve">Resolve</button></form>
    </div>`;
  return html`<article class="card incident sev-${incident.severity}" id="${incident.id}" data-status="${incident.status}">
  <header class="card-head">
    <h3 class="call"><span class="severity ${incident.severity}">${incident.severity}</span> ${incident.type}</h3>
    <span class="status ${incident.status}">${incident.status}</span>
  </header>
  <p class="reason">${incident.description}</p>
  <dl class="meta">
    <div><dt>Agent</dt><dd>${incident.agent ? html`<a href="/incidents?agent=${encodeURIComponent(incident.agent)}">${incident.agent}</a>` : html`<span class="muted">none (Portcullis itself)</span>`}</dd></div>
    <div><dt>Source</dt><dd>${source}</dd></div>
    <div><dt>Opened</dt><dd>${when(incident.opened_at)} <span class="muted">by ${incident.opened_by}</span></dd></div>
    ${incident.count > 1 ? html`<div><dt>Occurrences</dt><dd>${incident.count}</dd></div>` : ''}
    ${incident.acknowledged_at ? html`<div><dt>Acknowledged</dt><dd>${when(incident.acknowledged_at)} <span class="muted">by ${incident.acknowledged_by}</span></dd></div>` : ''}
    ${incident.resolved_at ? html`<div><dt>Resolved</dt><dd>${when(incident.resolved_at)} <span class="muted">by ${incident.resolved_by}</span></dd></div>` : ''}
    ${incident.suspended ? html`<div><dt>Suspension</dt><dd><strong>suspended its agent</strong></dd></div>` : ''}
  </dl>
  <p class="incident-links">${auditLink(incident, view.auditLinks)} <span class="muted">${incident.id}</span></p>
  ${actions}
</article>`;
}

function suspendedSection(view: IncidentsView): Html {
  if (view.suspended.length === 0) return html`<p class="muted suspended-none">No agent is suspended.</p>`;
  return html`<section class="suspended card bad" aria-labelledby="suspended-h">
  <h2 id="suspended-h">Suspended agents <span class="muted count">${view.suspended.length}</span></h2>
  <p class="muted">Every call of a suspended agent is denied and its tool lists are empty, until a person reinstates it.</p>
  <ul class="suspended-list">${view.suspended.map(
    (s) => html`<li>
      <div><strong class="agent">${s.agent}</strong> <span class="muted">since ${when(s.at)}, by ${s.by}</span>
      <span class="detail">${s.incident ? html`<a href="#${s.incident}">${s.incident}</a>: ` : ''}${s.reason}</span></div>
      <form method="post" action="/incidents/agents/${encodeURIComponent(s.agent)}/reinstate">${csrfField(view.csrf)}<button type="submit" class="btn approve">Reinstate</button></form>
    </li>`,
  )}</ul>
</section>`;
}

function option(value: string, label: string, selected: string | undefined): Html {
  return html`<option value="${value}"${selected === value ? ' selected' : ''}>${label}</option>`;
}

function filters(filter: IncidentFilter): Html {
  return html`<form class="card filters" method="get" action="/incidents">
  <div class="filter-grid">
    <div class="field"><label for="f-status">Status</label><select id="f-status" name="status">
      ${option('', 'Any', filter.status ?? '')}${['open', 'acknowledged', 'resolved'].map((s) => option(s, s, filter.status))}
    </select></div>
    <div class="field"><label for="f-severity">Severity</label><select id="f-severity" name="severity">
      ${option('', 'Any', filter.severity ?? '')}${['critical', 'high', 'medium', 'low'].map((s) => option(s, s, filter.severity))}
    </select></div>
    <div class="field"><label for="f-agent">Agent</label><input id="f-agent" name="agent" value="${filter.agent ?? ''}" placeholder="any agent"></div>
    <div class="filter-actions"><a href="/incidents">Clear</a><button type="submit" class="btn primary">Filter</button></div>
  </div>
</form>`;
}

function reportForm(csrf: string): Html {
  return html`<details class="card report">
  <summary>Report an incident</summary>
  <form method="post" action="/incidents/report" class="decide">
    ${csrfField(csrf)}
    <div class="filter-grid">
      <div class="field"><label for="r-agent">Agent</label><input id="r-agent" name="agent" placeholder="agent id (optional)"></div>
      <div class="field"><label for="r-type">Type</label><input id="r-type" name="type" value="manual"></div>
      <div class="field"><label for="r-severity">Severity</label><select id="r-severity" name="severity">
        ${['low', 'medium', 'high', 'critical'].map((s) => option(s, s, 'medium'))}
      </select></div>
    </div>
    <label for="r-description">What happened</label>
    <textarea id="r-description" name="description" rows="3" required maxlength="2000"></textarea>
    <label class="check"><input type="checkbox" name="auto_suspend"> Suspend the agent at once (critical incidents only)</label>
    <div class="actions"><button type="submit" class="btn primary">Report</button></div>
  </form>
</details>`;
}

export function incidentsPage(view: IncidentsView): Html {
  const open = view.incidents.filter((i) => i.status !== 'resolved').length;
  return html`<div class="page-head">
  <h1>Incidents</h1>
  <p class="sub">Opened by denials of rules marked <code>severity:</code>, rate-limit and budget breaches, audit-log failures, and people. Repeats of the same breach count on one incident. <code>suspend:</code> in the policy suspends an agent after too many.</p>
</div>
${view.flash ? html`<p class="flash ok" role="status">${view.flash}</p>` : ''}
${suspendedSection(view)}
${filters(view.filter)}
<p class="count">${view.incidents.length} incident${view.incidents.length === 1 ? '' : 's'} shown, ${open} not resolved</p>
${
  view.incidents.length === 0
    ? html`<p class="empty">No incidents${view.filter.status || view.filter.severity || view.filter.agent ? ' match these filters' : ' yet'}.</p>`
    : html`<div class="stack">${view.incidents.map((i) => incidentCard(i, view))}</div>`
}
${reportForm(view.csrf)}`;
}
