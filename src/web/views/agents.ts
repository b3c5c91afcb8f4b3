// The Agents page: every agent (registry, auto-registered, policy file) with filters, and one agent's keys and forms.
import { html } from 'hono/html';
import type { AgentRecord, KeyRecord } from '../../governance/index.js';
import { TRUST_LEVELS } from '../../policy/index.js';
import type { Html } from './layout.js';

export interface AgentFilters {
  source: string;
  trust: string;
  q: string;
}

/** `key`: a key just made, shown in this response only. */
export type AgentsFlash = { kind: 'ok' | 'error'; text: string } | { kind: 'key'; text: string; key: string };

const SOURCES: Record<string, string> = { registry: 'Registry', auto: 'First seen', file: 'Policy file' };

function when(iso: string | null, never = 'never'): Html {
  if (iso === null) return html`<span class="muted">${never}</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

const activeKeys = (agent: AgentRecord) => agent.keys.filter((k) => k.revoked_at === null).length;

function sourceBadge(agent: AgentRecord): Html {
  return html`<span class="source ${agent.source}">${SOURCES[agent.source] ?? agent.source}</span>`;
}

function suspended(agent: AgentRecord): Html | string {
  return agent.suspension
    ? html`<span class="status denied suspension" title="${agent.suspension.reason}">Suspended: ${agent.suspension.reason}</span>`
    : '';
}

function flashView(flash: AgentsFlash | undefined): Html | string {
  if (!flash) return '';
  if (flash.kind !== 'key') return html`<p class="flash ${flash.kind}" role="status">${flash.text}</p>`;
  return html`<section class="flash ok key-once" role="status">
  <p><strong>${flash.text}</strong> Copy the key now: it is shown only this once, and Portcullis keeps only its hash.</p>
  <input class="key" readonly value="${flash.key}" aria-label="The new key" autofocus>
  <p class="muted">Give it to the agent as <code>Authorization: Bearer &lt;key&gt;</code>. Select the field and copy (Ctrl+C / ⌘C).</p>
</section>`;
}

function matches(agent: AgentRecord, filters: AgentFilters): boolean {
  if (filters.source && agent.source !== filters.source) return false;
  if (filters.trust && agent.trust !== filters.trust) return false;
  const q = filters.q.trim().toLowerCase();
  if (q && ![agent.id, agent.owner ?? '', agent.env ?? ''].some((v) => v.toLowerCase().includes(q)))
    return false;
  return true;
}

function options(values: readonly string[], chosen: string, label: (v: string) => string = (v) => v): Html[] {
  return values.map((v) => html`<option value="${v}"${v === chosen ? ' selected' : ''}>${label(v)}</option>`);
}

function filterForm(filters: AgentFilters): Html {
  return html`<form class="card filters" method="get" action="/agents" aria-label="Filter agents">
  <div class="filter-grid">
    <div class="field"><label for="f-q">Search</label><input id="f-q" name="q" value="${filters.q}" placeholder="id, owner or env"></div>
    <div class="field"><label for="f-source">Source</label><select id="f-source" name="source"><option value="">Any</option>${options(Object.keys(SOURCES), filters.source, (v) => SOURCES[v] ?? v)}</select></div>
    <div class="field"><label for="f-trust">Trust</label><select id="f-trust" name="trust"><option value="">Any</option>${options(TRUST_LEVELS, filters.trust)}</select></div>
    <div class="filter-actions"><a href="/agents">Clear</a><button class="btn primary" type="submit">Filter</button></div>
  </div>
</form>`;
}

function addForm(csrf: string): Html {
  return html`<details class="card add-agent">
  <summary><strong>Add an agent</strong> <span class="muted">— makes its first key</span></summary>
  <form method="post" action="/agents/add" class="agent-form">
    <input type="hidden" name="_csrf" value="${csrf}">
    <div class="filter-grid">
      <div class="field"><label for="a-id">Id</label><input id="a-id" name="id" required maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]*" placeholder="support-bot"></div>
      <div class="field"><label for="a-trust">Trust</label><select id="a-trust" name="trust">${options(TRUST_LEVELS, 'low')}</select></div>
      <div class="field"><label for="a-owner">Owner</label><input id="a-owner" name="owner" maxlength="200" placeholder="team"></div>
      <div class="field"><label for="a-env">Environment</label><input id="a-env" name="env" maxlength="200" placeholder="prod"></div>
      <div class="filter-actions"><button class="btn approve" type="submit">Add agent</button></div>
    </div>
  </form>
</details>`;
}

export function agentsPage(
  all: AgentRecord[],
  filters: AgentFilters,
  csrf: string,
  flash?: AgentsFlash,
): Html {
  const shown = all.filter((a) => matches(a, filters));
  const rows = shown.map(
    (a) => html`<tr data-agent="${a.id}">
  <td data-label="Agent"><a href="/agents/${encodeURIComponent(a.id)}" class="agent-id">${a.id}</a> ${suspended(a)}</td>
  <td data-label="Source">${sourceBadge(a)}</td>
  <td data-label="Trust"><span class="trust ${a.trust}">${a.trust}</span></td>
  <td data-label="Owner">${a.owner ?? html`<span class="muted">—</span>`}</td>
  <td data-label="Env">${a.env ?? html`<span class="muted">—</span>`}</td>
  <td data-label="Last seen">${when(a.last_seen)}</td>
  <td data-label="Keys">${a.source === 'file' ? html`<span class="muted">in policy</span>` : activeKeys(a) === 0 ? html`<span class="muted">none</span>` : `${activeKeys(a)} active`}</td>
</tr>`,
  );
  return html`<h1>Agents</h1>
<p class="muted">Who may call through Portcullis. Registry agents carry generated keys; agents first seen are registered at the policy's <code>default_trust</code>; policy-file agents are read-only here.</p>
${flashView(flash)}
${addForm(csrf)}
${filterForm(filters)}
<p class="count muted">${shown.length} of ${all.length} agents</p>
${
  shown.length === 0
    ? html`<p class="empty">No agent matches.</p>`
    : html`<div class="table-wrap"><table class="decided agents">
<thead><tr><th>Agent</th><th>Source</th><th>Trust</th><th>Owner</th><th>Env</th><th>Last seen</th><th>Keys</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}`;
}

function keyRow(agent: AgentRecord, key: KeyRecord, csrf: string): Html {
  return html`<tr data-key="${key.id}">
  <td data-label="Key"><code>${key.prefix}…</code><span class="seq">${key.id}</span></td>
  <td data-label="Created">${when(key.created_at)}</td>
  <td data-label="Last used">${when(key.last_used)}</td>
  <td data-label="State">${key.revoked_at ? html`<span class="status denied">Revoked</span> ${when(key.revoked_at)}` : html`<span class="status approved">Active</span>`}</td>
  <td class="key-action">${
    key.revoked_at
      ? ''
      : html`<form method="post" action="/agents/${encodeURIComponent(agent.id)}/keys/${key.id}/revoke">
    <input type="hidden" name="_csrf" value="${csrf}"><button class="btn deny" type="submit">Revoke</button></form>`
  }</td>
</tr>`;
}

export function agentPage(
  agent: AgentRecord,
  csrf: string,
  opts: { flash?: AgentsFlash | undefined; auditLinks: boolean },
): Html {
  const path = `/agents/${encodeURIComponent(agent.id)}`;
  const readOnly = agent.source === 'file';
  return html`<p><a href="/agents">← All agents</a></p>
<h1 class="agent-title">${agent.id}</h1>
${flashView(opts.flash)}
<article class="card">
  <header class="card-head"><div>${sourceBadge(agent)} <span class="trust ${agent.trust}">${agent.trust}</span></div>${suspended(agent)}</header>
  <dl class="meta">
    <div><dt>Owner</dt><dd>${agent.owner ?? '—'}</dd></div>
    <div><dt>Environment</dt><dd>${agent.env ?? '—'}</dd></div>
    <div><dt>Created</dt><dd>${when(agent.created_at, '—')}</dd></div>
    <div><dt>Last seen</dt><dd>${when(agent.last_seen)}</dd></div>
  </dl>
  ${opts.auditLinks ? html`<p><a href="/audit?agent=${encodeURIComponent(agent.id)}">Audit trail of ${agent.id} →</a></p>` : ''}
  ${
    readOnly
      ? html`<p class="muted">This agent is declared in the policy file (<code>agents:</code>): change its trust and key there.</p>`
      : html`<form method="post" action="${path}/trust" class="inline-form" aria-label="Set trust">
    <input type="hidden" name="_csrf" value="${csrf}">
    <label for="trust">Trust</label>
    <select id="trust" name="trust">${options(TRUST_LEVELS, agent.trust)}</select>
    <button class="btn primary" type="submit">Set trust</button>
    <span class="muted">applies to its next call</span>
  </form>`
  }
</article>
${
  readOnly
    ? ''
    : html`<h2>Keys</h2>
<div class="table-wrap"><table class="decided keys">
<thead><tr><th>Key</th><th>Created</th><th>Last used</th><th>State</th><th></th></tr></thead>
<tbody>${agent.keys.length === 0 ? html`<tr><td colspan="5" class="muted">No key: this agent can call only where it needs none (stdio, or anonymous HTTP).</td></tr>` : agent.keys.map((k) => keyRow(agent, k, csrf))}</tbody>
</table></div>
<form method="post" action="${path}/rotate" class="inline-form card" aria-label="Rotate key">
  <input type="hidden" name="_csrf" value="${csrf}">
  <button class="btn primary" type="submit">New key</button>
  <label><input type="checkbox" name="revoke_old"> revoke the other keys</label>
  <span class="muted">Without it the old keys keep working until you revoke them: rotate without downtime.</span>
</form>
<details class="card remove-agent">
  <summary>Remove this agent…</summary>
  <form method="post" action="${path}/remove" class="inline-form" aria-label="Remove agent">
    <input type="hidden" name="_csrf" value="${csrf}">
    <button class="btn deny" type="submit">Remove agent</button>
    <span class="muted">Revokes all its keys and removes it; the audit log keeps its history.${agent.source === 'auto' ? ' Seen again, it is registered anew at the default trust.' : ''}</span>
  </form>
</details>`
}`;
}
