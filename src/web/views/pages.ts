// Views outside the queue: sign-in, policy status, and plain error pages.
import { html } from 'hono/html';
import type { Html } from './layout.js';

export interface PolicyStatus {
  sha256: string;
  loadedAt: Date | string | number;
  file?: string | undefined;
  /** Problems of the last refused reload (`file:line:col: message`); empty when it loaded cleanly. */
  errors: readonly string[];
  /** Problems of the policy in force that do not stop it (e.g. a tool name two upstreams list). */
  warnings?: readonly string[] | undefined;
}

export function loginPage(options: {
  code?: string | undefined;
  error?: string | undefined;
  /** Where to go after signing in (already checked by safeNext). */
  next?: string | undefined;
}): Html {
  const next = options.next ? html`<input type="hidden" name="next" value="${options.next}">` : '';
  if (options.code) {
    return html`<section class="login card">
  <h1>Sign in</h1>
  ${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ''}
  <form method="post" action="/login">
    <p>This one-time link signs this browser in to the approval queue as the admin. It works once.</p>
    <input type="hidden" name="code" value="${options.code}">
    ${next}
    <label for="reviewer">Your name <span class="muted">(recorded with your decisions)</span></label>
    <input id="reviewer" name="reviewer" maxlength="80" autocomplete="name" placeholder="admin">
    <button type="submit" class="btn approve wide">Sign in</button>
  </form>
</section>`;
  }
  return html`<section class="login card">
  <h1>Sign in</h1>
  ${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ''}
  <form method="post" action="/login">
    <p>Paste your personal reviewer token (it starts with <code>pcr_</code>), or the admin token
      (from <code>PORTCULLIS_UI_TOKEN</code> or the <code>ui-token</code> file in the data directory),
      or open the one-time sign-in link the proxy printed to its log.</p>
    ${next}
    <label for="token">Token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required>
    <label for="reviewer">Your name <span class="muted">(with the admin token: recorded with your decisions)</span></label>
    <input id="reviewer" name="reviewer" maxlength="80" autocomplete="name" placeholder="admin">
    <button type="submit" class="btn approve wide">Sign in</button>
  </form>
  <form method="post" action="/login" class="password-sign-in" aria-labelledby="password-title">
    <h2 id="password-title">Or with your reviewer name and password</h2>
    ${next}
    <label for="account">Reviewer name</label>
    <input id="account" name="account" maxlength="64" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit" class="btn primary wide">Sign in with password</button>
  </form>
</section>`;
}

export function policyPage(status: PolicyStatus | undefined): Html {
  if (!status) {
    return html`<div class="page-head"><h1>Policy</h1></div><p class="flash error">No policy is loaded.</p>`;
  }
  const loaded = new Date(status.loadedAt);
  return html`<div class="page-head">
  <h1>Policy</h1>
  <p class="sub">The policy in force. Edits to the file apply live; a broken file is refused and this one stays.</p>
</div>
<section class="card">
  <dl class="meta wide">
    ${status.file ? html`<div><dt>File</dt><dd><code>${status.file}</code></dd></div>` : ''}
    <div><dt>SHA-256</dt><dd><code class="break">${status.sha256}</code></dd></div>
    <div><dt>Loaded</dt><dd><time datetime="${loaded.toISOString()}">${loaded.toISOString().replace('T', ' ').slice(0, 19)} UTC</time></dd></div>
  </dl>
  ${
    status.errors.length > 0
      ? html`<h2 class="warn">Last reload was refused</h2><ul class="errors">${status.errors.map((e) => html`<li><code>${e}</code></li>`)}</ul>`
      : html`<p class="ok">The last reload succeeded.</p>`
  }
  ${
    status.warnings && status.warnings.length > 0
      ? html`<h2 class="warn">Warnings</h2><ul class="errors warnings">${status.warnings.map((w) => html`<li>${w}</li>`)}</ul>`
      : ''
  }
</section>`;
}

export function messagePage(title: string, text: string): Html {
  return html`<section class="card"><h1>${title}</h1><p>${text}</p></section>`;
}
