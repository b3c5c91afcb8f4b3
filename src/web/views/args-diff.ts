// Edit-style arguments (oldText/newText, old_str/new_str, edit_file's edits[]) found and shown as a coloured line diff.
import { diffLines } from 'diff';
import { html } from 'hono/html';
import type { Html } from './layout.js';

export interface Edit {
  oldText: string;
  newText: string;
}

/** The edits of a call and the arguments left once they are taken out (shown as a tree beside the diff). */
export interface Edits {
  edits: Edit[];
  rest: Record<string, unknown>;
}

const PAIRS = [
  ['oldText', 'newText'],
  ['old_str', 'new_str'],
] as const;

function pairOf(value: Record<string, unknown>): [string, string, string, string] | undefined {
  for (const [from, to] of PAIRS) {
    const a = value[from];
    const b = value[to];
    if (typeof a === 'string' && typeof b === 'string') return [from, to, a, b];
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** undefined when the arguments are not an edit (nothing to diff). */
export function editsOf(args: unknown): Edits | undefined {
  if (!isRecord(args)) return undefined;
  const top = pairOf(args);
  if (top) {
    const [from, to, oldText, newText] = top;
    const { [from]: _a, [to]: _b, ...rest } = args;
    return { edits: [{ oldText, newText }], rest };
  }
  const list = args.edits;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const edits: Edit[] = [];
  for (const item of list) {
    const pair = isRecord(item) ? pairOf(item) : undefined;
    // One edit that is not a plain old/new pair: show the whole list as a tree, not half of it as a diff.
    if (!pair || Object.keys(item as object).length !== 2) return undefined;
    edits.push({ oldText: pair[2], newText: pair[3] });
  }
  const { edits: _e, ...rest } = args;
  return { edits, rest };
}

function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Removed lines marked −, added +, unchanged ones indented; a screen reader hears the words, not only colour. */
export function lineDiff(oldText: string, newText: string): Html {
  const rows: Html[] = [];
  for (const part of diffLines(oldText, newText)) {
    const kind = part.added ? 'add' : part.removed ? 'del' : 'ctx';
    const mark = part.added ? '+' : part.removed ? '−' : ' ';
    const label = part.added ? 'added' : part.removed ? 'removed' : 'unchanged';
    for (const line of linesOf(part.value)) {
      rows.push(
        html`<span class="diff-line ${kind}"><span class="diff-mark" aria-label="${label}">${mark}</span>${line}</span>`,
      );
    }
  }
  return html`<pre class="diff">${rows}</pre>`;
}
