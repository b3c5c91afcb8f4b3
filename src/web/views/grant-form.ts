// The "approve for a while" offer on an approval's page: a standing grant's scope, constraints and expiry (src/grants).
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Approval } from '../../approvals/index.js';
import { durationText, offeredDurations } from '../../grants/index.js';

/** What the offer needs besides the approval: the form's CSRF token and whether grants may answer it. */
export interface GrantOfferProps {
  csrf: string;
  /** False when the approval's rule takes no grants (approvers: 2, grants: false, a cap's review): nothing is offered. */
  grantable: boolean;
  /** The longest grant the policy allows (`approval.grant_max`), in milliseconds. */
  maxMs: number;
}

function argsOf(approval: Approval): Record<string, unknown> {
  try {
    const args = JSON.parse(approval.argsCanonical) as unknown;
    return typeof args === 'object' && args !== null && !Array.isArray(args)
      ? (args as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > 48 ? `${text.slice(0, 45)}…` : text;
}

/** One argument's choice: exactly this value (the default), at most this number, or any value. */
function argChoice(approval: Approval, key: string, value: unknown) {
  const numeric = typeof value === 'number' && Number.isFinite(value);
  const id = `grant-${approval.id}-${key.replace(/[^\w-]/g, '_')}`;
  return html`<div class="grant-arg">
      <label for="${id}"><code>${key}</code> <span class="muted">${preview(value)}</span></label>
      <select id="${id}" name="arg:${key}">
        <option value="eq" selected>exactly this value</option>
        ${numeric ? html`<option value="max">at most this value</option>` : ''}
        <option value="any">any value</option>
      </select>
    </div>`;
}

/** The form that approves this call and grants its like for a while; '' when the approval cannot take a grant. */
export function grantOffer(approval: Approval, props: GrantOfferProps): string {
  const durations = offeredDurations(props.maxMs);
  // A client-kept approval cannot be approved here at all, so no grant is offered for it either.
  const offered = props.grantable && approval.grantable && approval.approveIn !== 'client';
  if (!offered || approval.status !== 'pending' || durations.length === 0) return '';
  const args = Object.entries(argsOf(approval));
  const who = approval.agent ?? 'calls with no agent id';
  const scope = `${approval.server ? `${approval.server}/` : ''}${approval.tool}`;
  const first = durationText(durations[0] as number);
  return html`<details class="grant-offer">
  <summary>Approve, and allow calls like this for a while…</summary>
  <form method="post" action="/approvals/${approval.id}/grant" class="grant-form">
    <input type="hidden" name="_csrf" value="${props.csrf}">
    <p class="grant-scope">Lets <strong>${who}</strong> call <code>${scope}</code> again without asking, while every argument matches below. Deny rules, caps and budgets still apply.</p>
    ${args.length > 0 ? html`<fieldset class="grant-args"><legend>Arguments</legend>${args.map(([k, v]) => argChoice(approval, k, v))}</fieldset>` : ''}
    <label class="grant-other"><input type="checkbox" name="other_args" value="on"> Also allow arguments this call did not have (any value)</label>
    <div class="grant-foot">
      <label>For <select name="duration" class="grant-duration">
        ${durations.map((ms, i) => html`<option value="${ms}"${i === 0 ? ' selected' : ''}>${durationText(ms)}</option>`)}
      </select></label>
      <button type="submit" class="btn approve grant-submit">Approve and allow like this for <span class="grant-for">${first}</span></button>
    </div>
  </form>
</details>` as unknown as HtmlEscapedString;
}
