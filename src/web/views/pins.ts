// The Pins page: per server what is trusted, and every held definition as a coloured diff with Accept and Reject.
import { html } from 'hono/html';
import type { HeldTool, PinnedTool, ServerPins } from '../pins-overview.js';
import type { Html } from './layout.js';

export interface PinsFlash {
  kind: 'ok' | 'error';
  text: string;
}

function when(iso: string): Html {
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

const short = (sha256: string) => `${sha256.slice(0, 19)}…`;

/** The unified diff as lines a person reads: file headers dropped, hunks separated, + and - coloured. */
function diffView(diff: string): Html {
  const lines = diff.split('\n');
  const body = lines.slice(lines.findIndex((l) => l.startsWith('@@')));
  const rows = body
    .filter((line, i) => line !== '' || i < body.length - 1)
    .filter((line) => !line.startsWith('\\ No newline'))
    .map((line, i) => {
      // Between hunks, a gap marker; the first hunk needs none.
      if (line.startsWith('@@'))
        return i === 0 ? '' : html`<span class="dl hunk" title="unchanged lines left out">⋯</span>`;
      const sign = line[0];
      const text = line.slice(1);
      if (sign === '+') return html`<ins class="dl add"><span class="sign">+</span>${text}</ins>`;
      if (sign === '-') return html`<del class="dl del"><span class="sign">−</span>${text}</del>`;
      return html`<span class="dl"><span class="sign"> </span>${text}</span>`;
    });
  return html`<pre class="pin-diff">${rows}</pre>`;
}

function heldCard(server: string, held: HeldTool, csrf: string): Html {
  const id = `held-${encodeURIComponent(server)}-${encodeURIComponent(held.tool)}`.replace(/%/g, '_');
  const why =
    held.why === 'hidden'
      ? html`Its definition carries <strong>hidden content</strong> (<code>pins.hidden_content: quarantine</code>), listed below.`
      : held.why === 'changed'
        ? html`Its definition <strong>changed</strong> since it was pinned (pinned <code>${short(held.pinnedSha256 ?? '')}</code>, now <code>${short(held.sha256)}</code>).`
        : html`It is a <strong>new</strong> tool that appeared after this server's tools were pinned (<code>pins.new_tools: quarantine</code>).`;
  return html`<article class="card held${held.rejectedAt ? ' rejected' : ''}" id="${id}" data-server="${server}" data-tool="${held.tool}">
  <header class="card-head">
    <h3 class="call"><span class="server">${server}/</span>${held.tool}</h3>
    <span class="status ${held.rejectedAt ? 'denied' : 'held'}">${held.rejectedAt ? 'Rejected, still held' : 'Held'}</span>
  </header>
  <p class="reason">${why} Until someone accepts it, agents do not see this tool and its calls are refused.</p>
  ${held.findings.length > 0 ? html`<ul class="findings" aria-label="Hidden content found">${held.findings.map((f) => html`<li><code>${f}</code></li>`)}</ul>` : ''}
  <dl class="meta">
    <div><dt>First seen</dt><dd>${when(held.seenAt)}</dd></div>
    ${held.rejectedAt ? html`<div><dt>Rejected</dt><dd>${when(held.rejectedAt)}</dd></div>` : ''}
    <div><dt>Definition</dt><dd><code title="${held.sha256}">${short(held.sha256)}</code></dd></div>
  </dl>
  <section class="args" aria-label="Changes">
    <h3>${held.why === 'changed' || (held.why === 'hidden' && held.pinnedSha256 !== held.sha256 && held.pinnedSha256) ? 'Pinned → now listed' : 'Definition as listed'} <span class="legend"><ins>+ added</ins> <del>− removed</del></span></h3>
    ${diffView(held.diff)}
  </section>
  <form class="decide" method="post" action="/pins/decide">
    <input type="hidden" name="_csrf" value="${csrf}">
    <input type="hidden" name="server" value="${server}">
    <input type="hidden" name="tool" value="${held.tool}">
    <input type="hidden" name="sha256" value="${held.sha256}">
    <p class="muted decide-help">${
      held.rejectedAt
        ? 'You rejected this definition: the old pin stays and the tool stays held while the server lists it. You can still accept it.'
        : 'Accept trusts this definition: it becomes the pin and the tool runs again at once. Reject keeps the old pin; the tool stays held.'
    }</p>
    <div class="actions">
      <button type="submit" name="decision" value="reject" class="btn deny"${held.rejectedAt ? ' disabled' : ''}>Reject</button>
      <button type="submit" name="decision" value="accept" class="btn approve">Accept</button>
    </div>
  </form>
</article>`;
}

function pinnedList(pinned: PinnedTool[]): Html {
  if (pinned.length === 0) return html`<p class="muted">No tool is pinned yet.</p>`;
  return html`<details class="pinned">
  <summary>${pinned.length} pinned tool${pinned.length === 1 ? '' : 's'} (trusted definitions)</summary>
  <ul class="pinned-list">${pinned.map(
    (p) =>
      html`<li><code class="tool">${p.tool}</code> <code class="hash" title="${p.sha256}">${short(p.sha256)}</code> <span class="muted">since ${when(p.pinnedAt)}</span></li>`,
  )}</ul>
</details>`;
}

/** A command line that wraps between its words, never inside an option such as `--data-dir`. */
function commandView(command: string): Html[] {
  return command
    .split(' ')
    .map((word, i) =>
      word.startsWith('-')
        ? html`${i > 0 ? ' ' : ''}<span class="word">${word}</span>`
        : html`${i > 0 ? ' ' : ''}${word}`,
    );
}

function serverSection(entry: ServerPins, csrf: string): Html {
  if (entry.state === 'unreadable') {
    return html`<section class="pins-server card bad" aria-labelledby="srv-${entry.server}">
  <h2 id="srv-${entry.server}">${entry.server} <span class="status denied">Pin file unreadable</span></h2>
  <p>Every tool of this server is held: its pins cannot be trusted, so nothing of it runs.</p>
  <pre>${entry.error}</pre>
  <p>Fix the file, or remove it so the next listing pins this server's tools anew (trust on first use again):</p>
  <pre class="command">${commandView(entry.resetCommand)}</pre>
</section>`;
  }
  const held = entry.held.length;
  return html`<section class="pins-server" aria-labelledby="srv-${entry.server}">
  <h2 id="srv-${entry.server}">${entry.server}
    <span class="muted count">${entry.pinned.length} pinned${held > 0 ? html`, <strong class="held-count">${held} held</strong>` : ''}</span></h2>
  ${entry.held.map((h) => heldCard(entry.server, h, csrf))}
  ${pinnedList(entry.pinned)}
</section>`;
}

/** What is held, in one line: definitions waiting for a decision, and servers whose pin file holds everything. */
function summary(held: number, unreadable: number): Html {
  const bad =
    unreadable > 0
      ? html`<strong class="bad-note">${unreadable === 1 ? 'every tool of 1 server' : `every tool of ${unreadable} servers`} (unreadable pin file)</strong>`
      : '';
  if (held === 0 && unreadable === 0) return html`<strong>Nothing is held</strong>`;
  if (held === 0) return html`<strong>Held:</strong> ${bad}`;
  return html`<strong>${held} held</strong>${unreadable > 0 ? html`, and ${bad}` : ''}`;
}

export function pinsPage(servers: ServerPins[], csrf: string, flash?: PinsFlash): Html {
  const held = servers.reduce((n, s) => n + (s.state === 'pinned' ? s.held.length : 0), 0);
  const unreadable = servers.filter((s) => s.state === 'unreadable').length;
  return html`<div class="page-head">
  <h1>Pins</h1>
  <p class="sub">Each server's tool definitions are pinned the first time it is listed. A definition that changes later (or a new tool, if the policy quarantines them) is held: agents do not see it and its calls are refused until you accept it here.</p>
</div>
${flash ? html`<p class="flash ${flash.kind}" role="status">${flash.text}</p>` : ''}
${
  servers.length === 0
    ? html`<p class="empty">No pins yet: a server's tools are pinned when it is first listed.</p>`
    : html`<p class="pending-total">${summary(held, unreadable)} <span class="muted">· ${servers.length} server${servers.length === 1 ? '' : 's'}</span></p>
${servers.map((s) => serverSection(s, csrf))}`
}`;
}
