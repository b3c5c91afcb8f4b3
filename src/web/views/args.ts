// Arguments as a reviewer reads them: multi-line text as text, edits as a line diff, cents as money, a tree of keys, and the raw JSON.
import { html } from 'hono/html';
import { editsOf, lineDiff } from './args-diff.js';
import type { Html } from './layout.js';

export interface ArgsOptions {
  /** The pending list's cards: fold sooner, so one long argument does not push the next card away. */
  compact?: boolean | undefined;
}

interface Limits {
  /** A string with more lines or characters than this is folded into <details>. */
  lines: number;
  chars: number;
  /** An array or object with more entries than this is folded. */
  entries: number;
}

const FULL: Limits = { lines: 24, chars: 1200, entries: 30 };
const COMPACT: Limits = { lines: 6, chars: 300, entries: 8 };

/** "$1,234.56 (123456 cents)" with a valid sibling currency, "1,234.56 (123456 cents)" without one. */
export function centsText(cents: number, currency: unknown): string {
  const units = cents / 100;
  const raw = `(${cents.toLocaleString('en-US')} cents)`;
  if (typeof currency === 'string' && /^[A-Za-z]{3}$/.test(currency)) {
    try {
      const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
      return `${money.format(units)} ${raw}`;
    } catch {
      // An unknown code: the bare amount below.
    }
  }
  const bare = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${bare.format(units)} ${raw}`;
}

function foldedString(value: string, limits: Limits): Html {
  const lines = value.split('\n');
  const long = lines.length > limits.lines || value.length > limits.chars;
  const multiline = lines.length > 1;
  if (!long) {
    return multiline
      ? html`<pre class="arg-text">${value}</pre>`
      : html`<span class="arg-str">${value}</span>`;
  }
  const first = (lines[0] ?? '').slice(0, 80);
  return html`<details class="arg-fold"><summary><span class="arg-str">${first}</span>… <span class="muted">${lines.length} lines, ${value.length.toLocaleString('en-US')} characters</span></summary><pre class="arg-text">${value}</pre></details>`;
}

function scalar(
  value: unknown,
  key: string | undefined,
  parent: Record<string, unknown> | undefined,
  limits: Limits,
): Html {
  if (typeof value === 'string') return foldedString(value, limits);
  if (typeof value === 'number' && key !== undefined && /_cents$/.test(key) && Number.isSafeInteger(value)) {
    return html`<span class="arg-amount">${centsText(value, parent?.currency)}</span>`;
  }
  if (value === null) return html`<span class="arg-null">null</span>`;
  return html`<span class="arg-${typeof value}">${String(value)}</span>`;
}

function entriesOf(value: object): Array<[string, unknown]> {
  // Items are numbered as a person counts them ("#1"); the raw JSON keeps the real indexes.
  return Array.isArray(value) ? value.map((v, i) => [`#${i + 1}`, v]) : Object.entries(value);
}

/** One value of the tree: a scalar in place, a nested object or array as an indented list of its keys. */
function node(
  value: unknown,
  key: string | undefined,
  parent: Record<string, unknown> | undefined,
  limits: Limits,
): Html {
  if (value === null || typeof value !== 'object') return scalar(value, key, parent, limits);
  const entries = entriesOf(value);
  if (entries.length === 0) return html`<span class="arg-empty">${Array.isArray(value) ? '[]' : '{}'}</span>`;
  const self = Array.isArray(value) ? undefined : (value as Record<string, unknown>);
  const list = html`<dl class="arg-tree${Array.isArray(value) ? ' arg-list' : ''}">${entries.map(
    ([k, v]) => html`<div class="arg-row"><dt>${k}</dt><dd>${node(v, k, self, limits)}</dd></div>`,
  )}</dl>`;
  if (entries.length <= limits.entries) return list;
  const what = Array.isArray(value) ? `${entries.length} items` : `${entries.length} keys`;
  return html`<details class="arg-fold"><summary class="muted">${what}</summary>${list}</details>`;
}

function prettyJson(canonical: string): string {
  try {
    return JSON.stringify(JSON.parse(canonical), null, 2);
  } catch {
    return canonical;
  }
}

/**
 * The arguments of a call, from the canonical JSON a reviewer may see (the masked one: a masked
 * secret is rendered as its mask, never looked up). The raw JSON is always there, exactly.
 */
export function readableArgs(argsCanonical: string, options: ArgsOptions = {}): Html {
  const limits = options.compact ? COMPACT : FULL;
  let args: unknown;
  try {
    args = JSON.parse(argsCanonical);
  } catch {
    return html`<pre class="arg-raw">${argsCanonical}</pre>`;
  }
  const edits = editsOf(args);
  const rest = edits === undefined ? args : edits.rest;
  const diffs =
    edits === undefined
      ? ''
      : html`<div class="arg-diffs">${edits.edits.map(
          (edit, i) => html`<figure class="arg-diff">
      <figcaption>${edits.edits.length > 1 ? `Edit ${i + 1} of ${edits.edits.length}` : 'Edit'} <span class="muted">− removed, + added</span></figcaption>
      ${lineDiff(edit.oldText, edit.newText)}
    </figure>`,
        )}</div>`;
  const tree =
    rest !== null && typeof rest === 'object' && entriesOf(rest).length === 0 && edits !== undefined
      ? ''
      : node(rest, undefined, undefined, limits);
  return html`<div class="readable-args${options.compact ? ' compact' : ''}">
  ${tree}
  ${diffs}
  <details class="arg-json"><summary>Raw JSON <span class="muted">(the canonical arguments)</span></summary><pre>${prettyJson(argsCanonical)}</pre></details>
</div>`;
}
