// The Compliance page: headline tiles, the score with its formula, and the charts, all from one ComplianceReport.
import { html, raw } from 'hono/html';
import { barsFigure, columnsFigure, fillDefs, fillId, type Series } from '../charts/index.js';
import { AGE_BINS, type ComplianceReport, WINDOWS, type WindowName } from '../compliance/index.js';
import type { Html } from './layout.js';

const DECISIONS: readonly Series[] = [
  { key: 'allow', label: 'Allowed', colour: '#2f7d57', pattern: 'solid' },
  { key: 'deny', label: 'Denied', colour: '#b3261e', pattern: 'hatch' },
  { key: 'review', label: 'Sent to review', colour: '#b07a00', pattern: 'dots' },
];
const STATUSES: readonly Series[] = [
  { key: 'open', label: 'Open', colour: '#b3261e', pattern: 'hatch' },
  { key: 'acknowledged', label: 'Acknowledged', colour: '#b07a00', pattern: 'dots' },
  { key: 'resolved', label: 'Resolved', colour: '#5c6b7a', pattern: 'solid' },
];
const DENIED: readonly Series[] = [{ key: 'deny', label: 'Denials', colour: '#b3261e', pattern: 'hatch' }];
const WAITS: readonly Series[] = [{ key: 'n', label: 'Approvals', colour: '#1f4f8f', pattern: 'solid' }];
const PENDING: readonly Series[] = [{ key: 'n', label: 'Pending', colour: '#b07a00', pattern: 'dots' }];

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 48 * 3_600_000) return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** A bucket's start as a short axis label: the hour for a day's window, the date otherwise. */
function bucketLabel(iso: string, bucketMs: number): string {
  const d = new Date(iso);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const date = `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  if (bucketMs < 24 * 3_600_000 && bucketMs <= 3_600_000) return `${hh}:00`;
  if (bucketMs < 24 * 3_600_000) return hh === '00' ? date : `${hh}h`;
  return date;
}

function tile(label: string, value: string, note: string, id: string, tone = ''): Html {
  return html`<div class="tile${tone ? ` ${tone}` : ''}" id="tile-${id}"><dt>${label}</dt><dd><span class="value">${value}</span><span class="tile-note">${note}</span></dd></div>`;
}

const known = (n: number | null) => (n === null ? '—' : String(n));

function tiles(r: ComplianceReport): Html {
  const policy = r.policies;
  const tone = r.compliance_score >= 90 ? 'good' : r.compliance_score >= 70 ? 'fair' : 'poor';
  return html`<dl class="tiles">
  ${tile('Compliance score', `${r.compliance_score}`, 'of 100 · formula below', 'score', tone)}
  ${tile('Agents', known(r.total_agents), r.total_agents === null ? 'directory not connected' : 'known to Portcullis', 'agents')}
  ${tile('Active', String(r.active_agents), `made calls in the ${WINDOWS[r.window].label}`, 'active')}
  ${tile('Suspended', known(r.suspended_agents), r.suspended_agents === null ? 'directory not connected' : 'all calls denied', 'suspended', r.suspended_agents ? 'poor' : '')}
  ${tile('Policy', policy?.rules === null || !policy ? '—' : `${policy.rules} rules`, policy ? `sha256 ${policy.sha256.slice(0, 12)}… · loaded ${policy.loaded_at.replace('T', ' ').slice(0, 16)} UTC` : 'no policy loaded', 'policy')}
  ${tile('Recent violations', known(r.recent_violations), r.recent_violations === null ? 'incident log not connected' : 'incidents opened in the window', 'violations', r.recent_violations ? 'poor' : '')}
  ${tile('Decisions', String(r.decisions.total), `${r.decisions.deny} denied · ${r.decisions.review} to review`, 'decisions')}
  ${tile('Pending now', String(r.approvals.pending.count), `oldest waiting ${duration(r.approvals.pending.oldest_ms)}`, 'pending', r.approvals.pending.count > 0 ? 'fair' : '')}
</dl>`;
}

function scoreCard(r: ComplianceReport): Html {
  const rows = r.score.terms.map(
    (t) =>
      html`<tr data-term="${t.key}"><th scope="row">${t.label}</th><td>${t.input}</td><td class="rule">${t.rule} (at most ${t.cap})</td><td class="num">${t.penalty === 0 ? '0' : `−${t.penalty}`}</td></tr>`,
  );
  return html`<section class="card c-card score-card" id="score" aria-labelledby="score-h">
  <h2 id="score-h">How the score is computed</h2>
  <p class="formula"><code>${r.score.formula}</code></p>
  <div class="table-scroll"><table class="data score-terms">
    <thead><tr><th scope="col">Term</th><th scope="col">In this window</th><th scope="col" class="rule">Penalty rule</th><th scope="col" class="num">Points</th></tr></thead>
    <tbody>${rows}<tr class="total"><th scope="row">Score</th><td>100 minus the points, rounded</td><td class="rule"></td><td class="num">${r.compliance_score}</td></tr></tbody>
  </table></div>
  <p class="chart-note">Audit chain: ${r.audit.integrity.state}${r.audit.integrity.checked_at ? ` at ${r.audit.integrity.checked_at.replace('T', ' ').slice(0, 19)} UTC` : ''}${r.audit.integrity.detail ? ` (${r.audit.integrity.detail})` : ''}.</p>
</section>`;
}

function windowPicker(current: WindowName): Html {
  const links = (Object.keys(WINDOWS) as WindowName[]).map((w) =>
    w === current
      ? html`<a href="/compliance?window=${w}" aria-current="true" class="on">${w}</a>`
      : html`<a href="/compliance?window=${w}">${w}</a>`,
  );
  return html`<nav class="window-picker" aria-label="Time window">${links}</nav>`;
}

function charts(r: ComplianceReport): string {
  const bucketMs = r.decisions.bucket_ms;
  const figures: string[] = [];
  figures.push(
    columnsFigure(
      {
        id: 'decisions',
        title: 'Decisions over time',
        desc: `Tool, resource and prompt decisions per ${duration(bucketMs)} in the ${WINDOWS[r.window].label}: ${r.decisions.allow} allowed, ${r.decisions.deny} denied, ${r.decisions.review} sent to review.`,
        xLabel: `Time (UTC), per ${duration(bucketMs)}`,
        yLabel: 'Decisions',
        series: DECISIONS,
        categories: r.decisions.buckets.map((b) => bucketLabel(b.start, bucketMs)),
        values: r.decisions.buckets.map((b) => [b.allow, b.deny, b.review]),
      },
      {
        full: true,
        empty: 'No decisions in this window.',
        note: 'Each column stacks allowed, denied and reviewed calls.',
      },
    ),
  );
  figures.push(
    barsFigure(
      {
        id: 'denied-tools',
        title: 'Top denied tools',
        desc: `The ${r.top_denied_tools.length} most denied tools in the window.`,
        xLabel: 'Denials',
        yLabel: 'Server / tool',
        series: DENIED,
        rows: r.top_denied_tools.map((t) => ({
          label: t.server ? `${t.server}/${t.name}` : t.name,
          values: [t.count],
        })),
      },
      { empty: 'No denials in this window.' },
    ),
  );
  figures.push(
    barsFigure(
      {
        id: 'denying-rules',
        title: 'Top denying rules',
        desc: `The ${r.top_denying_rules.length} rules that denied most calls; (default) is the policy's default decision.`,
        xLabel: 'Denials',
        yLabel: 'Rule id',
        series: DENIED,
        rows: r.top_denying_rules.map((t) => ({ label: t.rule, values: [t.count] })),
      },
      { empty: 'No denials in this window.' },
    ),
  );
  const wait = r.approvals.wait;
  figures.push(
    columnsFigure(
      {
        id: 'wait',
        title: 'Approval wait times',
        desc: `${wait.count} approvals decided by a person in the window; median ${duration(wait.median_ms)}, 90th percentile ${duration(wait.p90_ms)}.`,
        xLabel: 'Time from request to decision',
        yLabel: 'Approvals',
        series: WAITS,
        categories: AGE_BINS.map((b) => b.label),
        values: wait.histogram.bins.map((b) => [b.count]),
      },
      {
        empty: 'No approvals were decided in this window.',
        note: `Median ${duration(wait.median_ms)} · 90th percentile ${duration(wait.p90_ms)} · longest ${duration(wait.max_ms)} (${wait.count} decided).`,
      },
    ),
  );
  const pending = r.approvals.pending;
  figures.push(
    columnsFigure(
      {
        id: 'pending',
        title: 'Pending approvals by age',
        desc: `${pending.count} approvals waiting now; the oldest for ${duration(pending.oldest_ms)}.`,
        xLabel: 'Waiting for',
        yLabel: 'Approvals',
        series: PENDING,
        categories: AGE_BINS.map((b) => b.label),
        values: pending.histogram.bins.map((b) => [b.count]),
      },
      {
        empty: 'Nothing is waiting for a decision.',
        note: `${pending.count} waiting now; oldest ${duration(pending.oldest_ms)}.`,
      },
    ),
  );
  figures.push(
    r.incidents === null
      ? `<figure class="chart-card" id="incidents"><figcaption><h2>Incidents by severity</h2></figcaption><p class="no-data">The incident log is not connected.</p></figure>`
      : barsFigure(
          {
            id: 'incidents',
            title: 'Incidents by severity',
            desc: 'Incidents opened in the window by severity, stacked by their status now.',
            xLabel: 'Incidents',
            yLabel: 'Severity',
            series: STATUSES,
            rows: (['critical', 'high', 'medium', 'low'] as const).map((s) => {
              const c = (r.incidents as NonNullable<ComplianceReport['incidents']>).by_severity[s];
              return { label: s, values: [c.open, c.acknowledged, c.resolved] };
            }),
          },
          {
            empty: 'No incidents were opened in this window.',
            note: 'Opened in the window, stacked by status now.',
          },
        ),
  );
  return figures.join('');
}

function agentsTable(r: ComplianceReport): Html {
  if (r.agents.length === 0) {
    return html`<section class="card c-card" id="agents"><h2>Activity per agent</h2><p class="no-data">No agent made a call in this window.</p></section>`;
  }
  const max = Math.max(...r.agents.map((a) => a.total));
  const rows = r.agents.map((a) => {
    // A small stacked bar per row: the share of each decision, the numbers beside it.
    let x = 0;
    const parts = (['allow', 'deny', 'review'] as const).map((k) => {
      const w = (a[k] / max) * 100;
      const rect =
        w > 0
          ? `<rect x="${x}" width="${Math.round(w * 100) / 100}" height="10" fill="url(#${fillId('agents', k)})"/>`
          : '';
      x += w;
      return rect;
    });
    const bar = `<svg class="mini" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">${parts.join('')}</svg>`;
    const href = `/audit?agent=${encodeURIComponent(a.agent)}`;
    return html`<tr data-agent="${a.agent}">
  <th scope="row"><a href="${href}" title="Audit trail of ${a.agent}">${a.agent}</a>${a.suspended ? html` <span class="status denied">suspended</span>` : ''}</th>
  <td class="num">${a.total}</td><td class="num">${a.allow}</td><td class="num">${a.deny}</td><td class="num">${a.review}</td>
  <td class="bar-cell">${raw(bar)}</td>
</tr>`;
  });
  const defs = `<svg width="0" height="0" class="defs" aria-hidden="true">${fillDefs('agents', DECISIONS)}</svg>`;
  return html`<section class="card c-card" id="agents" aria-labelledby="agents-h">
  <h2 id="agents-h">Activity per agent</h2>
  <p class="chart-note">Decisions in the window; each agent links to its audit trail.${r.agents_more > 0 ? ` ${r.agents_more} more agents not shown.` : ''}</p>
  ${raw(defs)}
  <div class="table-scroll"><table class="data agent-activity">
    <thead><tr><th scope="col">Agent</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Allowed</th><th scope="col" class="num">Denied</th><th scope="col" class="num">Review</th><th scope="col" class="bar-cell">Share <span class="sr-only">(allowed, denied, review)</span></th></tr></thead>
    <tbody>${rows}</tbody>
  </table></div>
</section>`;
}

function recentIncidents(r: ComplianceReport): Html {
  if (!r.incidents || r.incidents.recent.length === 0) return html``;
  return html`<section class="card c-card" id="recent-incidents"><h2>Recent violations</h2><ul class="incident-list">${r.incidents.recent.map(
    (i) =>
      html`<li><span class="sev sev-${i.severity}">${i.severity}</span> <strong>${i.type}</strong>${i.agent ? html` · <a href="/audit?agent=${encodeURIComponent(i.agent)}">${i.agent}</a>` : ''} · ${i.status} · <time datetime="${i.opened_at}">${i.opened_at.replace('T', ' ').slice(0, 16)} UTC</time><br><span class="muted">${i.description}</span></li>`,
  )}</ul></section>`;
}

export function compliancePage(r: ComplianceReport): Html {
  const capped = r.audit.capped
    ? html`<p class="flash info" id="capped">The audit log has more records in this window than one page view reads (${r.audit.cap}): the counts cover the newest records, back to ${r.audit.oldest_counted ?? 'the start'}.</p>`
    : '';
  const noAudit = r.audit.available
    ? ''
    : html`<p class="flash error">No audit log is available: the decision counts are empty.</p>`;
  return html`<div class="page-head compliance-head">
  <div><h1>Compliance</h1>
  <p class="sub">Governance of the ${WINDOWS[r.window].label}, from the audit log, the approval queue, the agents and the incidents. <a href="/api/compliance?window=${r.window}">As JSON</a>.</p></div>
  ${windowPicker(r.window)}
</div>
${capped}${noAudit}
${tiles(r)}
<div class="chart-grid">${raw(charts(r))}${recentIncidents(r)}</div>
${agentsTable(r)}
${scoreCard(r)}
<p class="muted generated">From ${r.from.replace('T', ' ').slice(0, 16)} to ${r.to.replace('T', ' ').slice(0, 16)} UTC · ${r.audit.records_read} audit records read.</p>`;
}
