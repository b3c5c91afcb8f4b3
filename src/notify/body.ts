// The JSON a webhook is sent: Slack's text and blocks (what, who, a link) and our structured fields under `portcullis`.
import type { Notification } from './events.js';

/** Where a person acts on a notification, in the UI at `base`; undefined when no UI is known. */
export function linkFor(notification: Notification, base: string | undefined): string | undefined {
  if (base === undefined) return undefined;
  const root = base.replace(/\/+$/, '');
  switch (notification.event) {
    // The approval's own page (as the agent's "waiting at" text names it).
    case 'approval_pending':
      return `${root}/approvals/${encodeURIComponent(notification.approval_id)}`;
    // The audit trail of that kind of record for that agent: it exists on every UI (an Incidents page may replace it).
    case 'incident_opened':
    case 'agent_suspended': {
      const params = new URLSearchParams({
        event: notification.event === 'incident_opened' ? 'incident' : 'agent',
      });
      if (notification.agent !== null) params.set('agent', notification.agent);
      return `${root}/audit?${params.toString()}`;
    }
  }
}

/**
 * Slack mrkdwn reads `<...>` as links and mentions (`<!channel>`, `<https://evil|Approve>`) and `&`
 * as an entity: names come from agents and upstream servers, so every one is escaped as Slack asks.
 */
export function mrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A name in backticks: escaped, and a backtick in it cannot end the code span early. */
function code(value: string): string {
  return `\`${mrkdwn(value.replace(/`/g, "'"))}\``;
}

function headline(n: Notification): string {
  const agent = n.agent === null ? 'an anonymous agent' : `agent ${code(n.agent)}`;
  switch (n.event) {
    case 'approval_pending': {
      const target = n.server === null ? n.tool : `${n.server}/${n.tool}`;
      const what = n.kind === 'tool' ? 'call' : n.kind === 'resource' ? 'read resource' : 'get prompt';
      const rule = n.rule === null ? 'the default' : `rule ${code(n.rule)}`;
      return `Approval ${code(n.approval_id)} is waiting: ${agent} wants to ${what} ${code(target)} (${rule}: ${mrkdwn(n.reason)})`;
    }
    case 'incident_opened':
      return `Incident ${code(n.incident)} opened (${mrkdwn(n.severity)}, ${mrkdwn(n.type)}) for ${agent}${n.reason === null ? '' : `: ${mrkdwn(n.reason)}`}`;
    case 'agent_suspended':
      return `${n.agent === null ? 'An agent' : `Agent ${code(n.agent)}`} was suspended${n.incident === null ? '' : ` (incident ${code(n.incident)})`} by ${mrkdwn(n.by)}${n.reason === null ? '' : `: ${mrkdwn(n.reason)}`}`;
  }
}

const ACTION: Record<Notification['event'], string> = {
  approval_pending: 'Review it',
  incident_opened: 'Open the audit trail',
  agent_suspended: 'Open the audit trail',
};

/** The request body: `slack` adds text and blocks for a chat channel; both carry `portcullis`. */
export function notificationBody(
  n: Notification,
  options: { format: 'slack' | 'json'; uiUrl: string | undefined; delivery: string },
): string {
  const url = linkFor(n, options.uiUrl);
  const portcullis = { ...n, delivery_id: options.delivery, url: url ?? null };
  if (options.format === 'json') return JSON.stringify({ portcullis });
  const line = headline(n);
  // A URL is ours (the UI's address), but `|` and `>` would still end Slack's link syntax early.
  const link = url === undefined ? '' : ` <${url.replace(/[|>]/g, encodeURIComponent)}|${ACTION[n.event]}>`;
  const text = `Portcullis: ${line}${link}`;
  return JSON.stringify({
    text,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    portcullis,
  });
}
