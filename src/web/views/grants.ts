// The Grants page: standing grants in force (scope, constraints in words, time left, uses) with Revoke, and recently ended ones.
import { html } from 'hono/html';
import { describeConstraints, durationText, type Grant, grantState } from '../../grants/index.js';
import type { Html } from './layout.js';
import { utcTime } from './time.js';

function scope(grant: Grant): Html {
  const kind = grant.kind === 'tool' ? '' : html`<span class="kind kind-${grant.kind}">${grant.kind}</span> `;
  return html`<div class="call">${kind}${grant.server ? html`<span class="server">${grant.server}</span><span class="sep">/</span>` : ''}<span class="tool">${grant.tool}</span></div>
  <div>for ${grant.agent === null ? html`<span class="muted">calls with no agent id</span>` : html`<strong>${grant.agent}</strong>`}</div>
  <code class="muted">${grant.id}</code>`;
}

function constraints(grant: Grant): Html {
  return html`<ul class="constraints">${describeConstraints(grant.constraints, grant.otherArgs).map((line) => html`<li>${line}</li>`)}</ul>`;
}

function uses(grant: Grant): string {
  return grant.maxUses === null ? String(grant.uses) : `${grant.uses} of ${grant.maxUses}`;
}

function origin(grant: Grant): Html {
  return html`${grant.createdBy}<br>${grant.fromApproval ? html`<span class="muted">from <code>${grant.fromApproval}</code></span>` : ''}`;
}

function activeRow(grant: Grant, csrf: string, now: number): Html {
  return html`<tr id="${grant.id}" class="grant-row">
    <td data-label="Scope">${scope(grant)}</td>
    <td data-label="Arguments">${constraints(grant)}</td>
    <td data-label="Expires" title="until ${new Date(grant.expiresAt).toISOString()}">in ${durationText(grant.expiresAt - now)}<br>${utcTime(grant.expiresAt, 'minute')}</td>
    <td data-label="Uses">${uses(grant)}${grant.lastUsedAt !== null ? html`<br><span class="muted">last ${utcTime(grant.lastUsedAt, 'minute')}</span>` : ''}</td>
    <td data-label="Granted by">${origin(grant)}</td>
    <td class="grant-action"><form class="revoke" method="post" action="/grants/${grant.id}/revoke">
      <input type="hidden" name="_csrf" value="${csrf}">
      <button type="submit" class="btn deny">Revoke</button>
    </form></td>
  </tr>`;
}

const ENDED = { revoked: 'revoked', expired: 'expired', used_up: 'used up', active: 'active' } as const;

function endedRow(grant: Grant, now: number): Html {
  const state = grantState(grant, now);
  const when =
    state === 'revoked'
      ? html`${utcTime(grant.revokedAt, 'minute')}<br><span class="muted">by ${grant.revokedBy ?? ''}</span>`
      : utcTime(state === 'used_up' ? grant.lastUsedAt : grant.expiresAt, 'minute');
  return html`<tr id="${grant.id}" class="grant-row ended">
    <td data-label="State"><span class="status ${state === 'revoked' ? 'denied' : 'expired'}">${ENDED[state]}</span></td>
    <td data-label="Scope">${scope(grant)}</td>
    <td data-label="Arguments">${constraints(grant)}</td>
    <td data-label="Ended">${when}</td>
    <td data-label="Uses">${uses(grant)}</td>
    <td data-label="Granted by">${origin(grant)}</td>
  </tr>`;
}

export function grantsPage(active: Grant[], ended: Grant[], csrf: string, now: number, flash?: string): Html {
  return html`<div class="page-head">
  <h1>Standing grants</h1>
  <p class="sub">Calls a reviewer allowed in advance: while a grant is in force, a call by that agent to that tool whose arguments match runs without asking a person. Grants never get past a deny rule, a cap or a budget. Revoke one and the next such call waits for a person again.</p>
</div>
${flash ? html`<p class="flash ok" role="status">${flash}</p>` : ''}
${
  active.length === 0
    ? html`<p class="empty" id="grants-none">No grant is in force. Make one from a pending approval: “Approve, and allow calls like this for a while”.</p>`
    : html`<div class="table-wrap"><table class="decided grants" id="grants-active">
  <thead><tr><th>Scope</th><th>Arguments</th><th>Expires</th><th>Uses</th><th>Granted by</th><th></th></tr></thead>
  <tbody>${active.map((g) => activeRow(g, csrf, now))}</tbody></table></div>`
}
<h2 class="section">Recently ended</h2>
${
  ended.length === 0
    ? html`<p class="muted">None yet.</p>`
    : html`<div class="table-wrap"><table class="decided grants" id="grants-ended">
  <thead><tr><th>State</th><th>Scope</th><th>Arguments</th><th>Ended</th><th>Uses</th><th>Granted by</th></tr></thead>
  <tbody>${ended.map((g) => endedRow(g, now))}</tbody></table></div>`
}`;
}
