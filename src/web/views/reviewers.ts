// The Reviewers page (admin only): reviewer accounts, their credentials, and the forms that manage them.
import { html } from 'hono/html';
import type { ReviewerView } from '../../reviewers/index.js';
import type { Html } from './layout.js';

/** `token`: a token just made, shown in this response only. */
export type ReviewersFlash =
  | { kind: 'ok' | 'error'; text: string }
  | { kind: 'token'; text: string; token: string; name: string };

const MIN_PASSWORD = 12;

function when(iso: string | null, never = 'never'): Html {
  if (iso === null) return html`<span class="muted">${never}</span>`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

function flashView(flash: ReviewersFlash | undefined): Html | string {
  if (!flash) return '';
  if (flash.kind !== 'token') return html`<p class="flash ${flash.kind}" role="status">${flash.text}</p>`;
  return html`<section class="flash ok key-once" role="status">
  <p><strong>${flash.text}</strong> Copy the token now: it is shown only this once, and Portcullis keeps only its hash.</p>
  <input class="key" readonly value="${flash.token}" aria-label="The new token for ${flash.name}" autofocus>
  <p class="muted">Give it to ${flash.name} privately. They sign in with it at <code>/login</code>, or send it as
  <code>Authorization: Bearer &lt;token&gt;</code> to decide approvals through the API.</p>
</section>`;
}

function credentials(r: ReviewerView): Html {
  if (r.credentials.length === 0) return html`<span class="muted">none: cannot sign in</span>`;
  return html`${r.credentials.map((c) => html`<span class="cred">${c === 'token' ? 'personal token' : 'password'}</span> `)}`;
}

function post(action: string, csrf: string, label: string, cls: string): Html {
  return html`<form method="post" action="${action}">
    <input type="hidden" name="_csrf" value="${csrf}"><button class="btn small ${cls}" type="submit">${label}</button></form>`;
}

function row(r: ReviewerView, csrf: string): Html {
  const base = `/reviewers/${r.id}`;
  return html`<tr id="${r.id}" data-name="${r.name}">
  <td data-label="Reviewer"><strong>${r.name}</strong><br><code class="muted">${r.id}</code></td>
  <td data-label="Signs in with">${credentials(r)}</td>
  <td data-label="Created">${when(r.created_at)}</td>
  <td data-label="Last sign-in">${when(r.last_sign_in)}</td>
  <td data-label="State">${r.disabled_at ? html`<span class="status denied">Disabled</span> ${when(r.disabled_at)}` : html`<span class="status approved">Active</span>`}</td>
  <td class="reviewer-actions">
    ${post(`${base}/token`, csrf, r.credentials.includes('token') ? 'New token' : 'Make token', '')}
    ${r.disabled_at ? post(`${base}/enable`, csrf, 'Enable', '') : post(`${base}/disable`, csrf, 'Disable', 'deny')}
    ${post(`${base}/remove`, csrf, 'Remove', 'deny')}
    <details class="set-password"><summary>${r.credentials.includes('password') ? 'Replace password' : 'Set password'}</summary>
      <form method="post" action="${base}/password" class="inline-form">
        <input type="hidden" name="_csrf" value="${csrf}">
        <label for="pw-${r.id}" class="visually-hidden">New password for ${r.name}</label>
        <input id="pw-${r.id}" name="password" type="password" minlength="${MIN_PASSWORD}" maxlength="1024" required autocomplete="new-password" placeholder="at least ${MIN_PASSWORD} characters">
        <button class="btn small" type="submit">Save password</button>
      </form>
    </details>
  </td>
</tr>`;
}

function addForm(csrf: string): Html {
  return html`<section class="card add-reviewer" aria-labelledby="add-title">
  <h2 id="add-title">Add a reviewer</h2>
  <form method="post" action="/reviewers/add" class="inline-form">
    <input type="hidden" name="_csrf" value="${csrf}">
    <label for="r-name">Name</label>
    <input id="r-name" name="name" required maxlength="64" pattern="[A-Za-z0-9 ._\\-]+" placeholder="alice">
    <label for="r-password">Password <span class="muted">(optional)</span></label>
    <input id="r-password" name="password" type="password" minlength="${MIN_PASSWORD}" maxlength="1024" autocomplete="new-password" placeholder="leave empty for a token">
    <button class="btn approve" type="submit">Add reviewer</button>
  </form>
  <p class="muted">Without a password the account gets a personal token, shown once after adding.</p>
</section>`;
}

export function reviewersPage(reviewers: ReviewerView[], csrf: string, flash?: ReviewersFlash): Html {
  return html`<div class="page-head">
  <h1>Reviewers</h1>
  <p class="sub">People who sign in to decide approvals. Each account counts once toward a rule's
  <code>approvers: 2</code>, and its name is recorded with every decision. Only the admin sees this page;
  reviewers see and decide approvals, nothing else here.</p>
</div>
${flashView(flash)}
${addForm(csrf)}
${
  reviewers.length === 0
    ? html`<p class="empty">No reviewer accounts yet: only the admin token can sign in.</p>`
    : html`<div class="table-wrap"><table class="decided reviewers">
<thead><tr><th>Reviewer</th><th>Signs in with</th><th>Created</th><th>Last sign-in</th><th>State</th><th>Manage</th></tr></thead>
<tbody>${reviewers.map((r) => row(r, csrf))}</tbody></table></div>`
}`;
}
