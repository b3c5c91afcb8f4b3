// Views of masked values: the Reveal buttons on a pending card, and the page a reveal shows without script.
import { html } from 'hono/html';
import type { Html } from './layout.js';

/** How a revealed value reads: a string as it is, anything else as indented JSON. */
export function revealedText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** One Reveal button per masked value of a pending approval (nothing when none is masked). */
export function maskedList(id: string, paths: readonly string[] | undefined, csrf: string): Html | string {
  if (!paths || paths.length === 0) return '';
  return html`<section class="masked" aria-label="Masked values">
    <p class="masked-note"><strong>${paths.length === 1 ? '1 value is' : `${paths.length} values are`} masked</strong> because ${paths.length === 1 ? 'it names or looks like' : 'they name or look like'} a credential. Reveal shows one to you; every reveal is recorded in the audit log (who, which argument, never the value).</p>
    <ul>
    ${paths.map(
      (path) => html`<li class="masked-item">
      <code class="masked-path">${path}</code>
      <form class="reveal" method="post" action="/approvals/${id}/reveal">
        <input type="hidden" name="_csrf" value="${csrf}">
        <input type="hidden" name="path" value="${path}">
        <button type="submit" class="btn small">Reveal</button>
      </form>
      <pre class="revealed" hidden></pre>
    </li>`,
    )}
    </ul>
  </section>`;
}

/** The answer to a reveal posted without script: the value, and the way back. */
export function revealedPage(revealed: { id: string; path: string; value: unknown }): Html {
  return html`<div class="page-head">
  <h1>Revealed value</h1>
  <p class="sub">Approval <code>${revealed.id}</code>, argument <code>${revealed.path}</code>. This reveal is recorded in the audit log (who, which argument, never the value).</p>
</div>
<article class="card"><pre class="revealed">${revealedText(revealed.value)}</pre></article>
<p><a href="/approvals/${revealed.id}">Back to the approval</a></p>`;
}
