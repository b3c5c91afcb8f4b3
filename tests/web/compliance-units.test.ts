// The compliance score on known inputs, the charts' geometry, and the numbers from in-memory agents and incidents.
import { describe, expect, it } from 'vitest';
import type { AgentDirectory, AgentRecord, Incident, IncidentLog } from '../../src/governance/index.js';
import {
  barScale,
  barsFigure,
  barsSvg,
  columnScale,
  columnsFigure,
  columnsSvg,
  type Series,
} from '../../src/web/charts/index.js';
import { complianceReport, complianceScore } from '../../src/web/compliance/index.js';

describe('the compliance score', () => {
  const clean = {
    unresolved: { critical: 0, high: 0, medium: 0, low: 0 },
    suspended: 0,
    decisions: 0,
    denials: 0,
    expired: 0,
    integrity: 'verified' as const,
  };

  it('is 100 with nothing wrong, and each term costs what the formula says', () => {
    expect(complianceScore(clean).score).toBe(100);
    const s = complianceScore({
      unresolved: { critical: 1, high: 2, medium: 1, low: 3 },
      suspended: 1,
      decisions: 200,
      denials: 20,
      expired: 2,
      integrity: 'verified',
    });
    const points = Object.fromEntries(s.terms.map((t) => [t.key, t.penalty]));
    // 25 + 2·10 + 4 + 3 = 52 → capped at 50; 5; 0.5 · 10 = 5; 2 · 2 = 4; 0.
    expect(points).toEqual({ incidents: 50, suspended: 5, denials: 5, expired: 4, audit: 0 });
    expect(s.score).toBe(36);
  });

  it('caps each term, charges an unverified and a failed chain, and never goes below 0', () => {
    expect(complianceScore({ ...clean, integrity: 'unknown' }).score).toBe(90);
    expect(complianceScore({ ...clean, integrity: 'failed' }).score).toBe(70);
    expect(complianceScore({ ...clean, suspended: 10 }).score).toBe(80);
    expect(complianceScore({ ...clean, decisions: 10, denials: 10 }).score).toBe(80);
    expect(complianceScore({ ...clean, expired: 100 }).score).toBe(90);
    expect(
      complianceScore({
        unresolved: { critical: 9, high: 0, medium: 0, low: 0 },
        suspended: 9,
        decisions: 1,
        denials: 1,
        expired: 9,
        integrity: 'failed',
      }).score,
    ).toBe(0);
  });

  it('charges nothing for sources that are not connected, and says so', () => {
    const s = complianceScore({ ...clean, unresolved: null, suspended: null });
    expect(s.score).toBe(100);
    expect(s.terms.find((t) => t.key === 'incidents')?.input).toBe('incident log not connected');
  });
});

const SERIES: Series[] = [
  { key: 'allow', label: 'Allowed', colour: '#2f7d57', pattern: 'solid' },
  { key: 'deny', label: 'Denied', colour: '#b3261e', pattern: 'hatch' },
];

function rects(svg: string) {
  return [
    ...svg.matchAll(
      /<rect class="bar" data-series="([^"]+)" data-value="([^"]+)" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)"/g,
    ),
  ].map((m) => ({
    series: m[1],
    value: Number(m[2]),
    x: Number(m[3]),
    y: Number(m[4]),
    width: Number(m[5]),
    height: Number(m[6]),
  }));
}

describe('stacked columns', () => {
  const data = {
    id: 't',
    title: 'Decisions <over> time',
    desc: 'test',
    xLabel: 'Hour',
    yLabel: 'Decisions',
    series: SERIES,
    categories: ['00:00', '01:00', '02:00'],
    values: [
      [4, 6],
      [2, 0],
      [0, 5],
    ],
  };
  const size = { width: 600, height: 260, font: 13 };

  it('draws each stack with heights proportional to its numbers, stacked on each other', () => {
    const svg = columnsSvg(data, size);
    const bars = rects(svg);
    expect(bars.map((b) => [b.series, b.value])).toEqual([
      ['allow', 4],
      ['allow', 2],
      ['deny', 6],
      ['deny', 5],
    ]);
    const y = columnScale(data, size);
    // The tallest stack (10) reaches the top of the scale's domain (10, already round).
    expect(y.domain()).toEqual([0, 10]);
    const plot = y(0) - y(10);
    const [a0, a1, d0, d2] = bars as [
      ReturnType<typeof rects>[0],
      ReturnType<typeof rects>[0],
      ReturnType<typeof rects>[0],
      ReturnType<typeof rects>[0],
    ];
    expect(a0.height).toBeCloseTo(plot * 0.4, 1);
    expect(a1.height).toBeCloseTo(plot * 0.2, 1);
    expect(d0.height).toBeCloseTo(plot * 0.6, 1);
    expect(d2.height).toBeCloseTo(plot * 0.5, 1);
    // Deny sits on top of allow in the first column.
    expect(d0.y + d0.height).toBeCloseTo(a0.y, 1);
    expect(a0.y + a0.height).toBeCloseTo(y(0), 1);
    // Escaped, titled, described.
    expect(svg).toContain('<title id="t-600-t">Decisions &lt;over&gt; time</title>');
    expect(svg).toContain('role="img"');
  });

  it('labels only as many columns as fit, so labels never overlap', () => {
    const many = {
      ...data,
      categories: Array.from({ length: 30 }, (_, i) => `lbl-${i}`),
      values: Array.from({ length: 30 }, () => [1, 1]),
    };
    const labels = (svg: string) =>
      [...svg.matchAll(/<text class="tick" x="([^"]+)" y="[^"]+" text-anchor="middle"><tspan[^>]*>lbl/g)].map(
        (m) => Number(m[1]),
      );
    for (const width of [960, 360]) {
      const xs = labels(columnsSvg(many, { width, height: 240, font: 13 }));
      expect(xs.length).toBeGreaterThan(2);
      const gap = Math.min(...xs.slice(1).map((x, i) => x - (xs[i] as number)));
      expect(gap).toBeGreaterThan('lbl-29'.length * 13 * 0.6);
    }
  });

  it('keeps every wait-time bin labelled at phone width, on two lines', () => {
    const bins = {
      ...data,
      categories: ['< 1 min', '1–5 min', '5–15 min', '15–60 min', '1–4 h', '> 4 h'],
      values: Array.from({ length: 6 }, () => [1, 0]),
    };
    const svg = columnsSvg(bins, { width: 360, height: 240, font: 13 });
    expect([...svg.matchAll(/<tspan[^>]*>([^<]+)<\/tspan>/g)].map((m) => m[1])).toEqual([
      '&lt; 1',
      'min',
      '1–5',
      'min',
      '5–15',
      'min',
      '15–60',
      'min',
      '1–4',
      'h',
      '&gt; 4',
      'h',
    ]);
    expect((svg.match(/<text class="tick" x="[^"]+" y="[^"]+" text-anchor="middle">/g) ?? []).length).toBe(6);
  });

  it('says "no data" for an empty window instead of drawing an empty box, with a legend and a table otherwise', () => {
    const none = columnsFigure(
      {
        ...data,
        values: [
          [0, 0],
          [0, 0],
          [0, 0],
        ],
      },
      { empty: 'No decisions in this window.' },
    );
    expect(none).toContain('<p class="no-data">No decisions in this window.</p>');
    expect(none).not.toContain('<svg class="chart"');
    const some = columnsFigure(data, { empty: 'none' });
    expect(some).toContain('class="chart-legend"');
    expect(some).toContain('<th scope="row">01:00</th><td>2</td><td>0</td><td>2</td>');
  });
});

describe('horizontal bars', () => {
  const data = {
    id: 'b',
    title: 'Top denied tools',
    desc: 'test',
    xLabel: 'Denials',
    yLabel: 'Tool',
    series: [SERIES[1] as Series],
    rows: [
      { label: 'payments/refund_with_a_really_long_tool_name_that_goes_on_and_on', values: [8] },
      { label: 'env', values: [2] },
    ],
  };

  it('draws bar widths proportional to the counts and clips long names (the full name in a title)', () => {
    const size = { width: 360, font: 13 };
    const svg = barsSvg(data, size);
    const [first, second] = rects(svg) as [ReturnType<typeof rects>[0], ReturnType<typeof rects>[0]];
    const x = barScale(data, size);
    expect(first.width).toBeCloseTo(x(8) - x(0), 1);
    expect(second.width).toBeCloseTo(x(2) - x(0), 1);
    expect(first.width / second.width).toBeCloseTo(4, 1);
    expect(svg).toContain('…<title>payments/refund_with_a_really_long_tool_name_that_goes_on_and_on</title>');
  });

  it('says "no data" without rows', () => {
    expect(barsFigure({ ...data, rows: [] }, { empty: 'No denials in this window.' })).toContain(
      'No denials in this window.',
    );
  });
});

describe('compliance numbers from the agent directory and the incident log', () => {
  const NOW = Date.parse('2026-03-01T12:00:00Z');
  const agent = (id: string, lastSeen: string | null, suspended = false): AgentRecord => ({
    id,
    source: 'registry',
    trust: 'low',
    owner: null,
    env: null,
    created_at: '2026-01-01T00:00:00Z',
    last_seen: lastSeen,
    keys: [],
    suspension: suspended
      ? { incident: 'inc_1', reason: 'three high', at: '2026-03-01T11:00:00Z', by: 'portcullis' }
      : null,
  });
  const agents = [
    agent('a', '2026-03-01T11:59:00Z'),
    agent('b', '2026-02-20T00:00:00Z'),
    agent('c', '2026-03-01T10:00:00Z', true),
  ];
  const directory: AgentDirectory = { list: () => agents, get: (id) => agents.find((a) => a.id === id) };
  const incident = (
    id: string,
    severity: Incident['severity'],
    status: Incident['status'],
    opened: string,
  ): Incident => ({
    id,
    agent: 'c',
    type: 'rule_denial',
    severity,
    description: `incident ${id}`,
    status,
    source: 'rule',
    rule: 'no-env',
    correlation_id: null,
    count: 1,
    opened_at: opened,
    opened_by: 'portcullis',
    acknowledged_at: null,
    acknowledged_by: null,
    resolved_at: null,
    resolved_by: null,
    suspended: false,
  });
  const all = [
    incident('inc_1', 'high', 'open', '2026-03-01T11:00:00Z'),
    incident('inc_2', 'high', 'resolved', '2026-03-01T09:00:00Z'),
    incident('inc_3', 'low', 'acknowledged', '2026-03-01T08:00:00Z'),
    incident('inc_4', 'critical', 'open', '2026-02-01T08:00:00Z'),
  ];
  const incidents: IncidentLog = {
    list: (f = {}) =>
      all.filter(
        (i) =>
          (f.status === undefined || i.status === f.status) &&
          (f.severity === undefined || i.severity === f.severity) &&
          (f.since === undefined || i.opened_at >= f.since),
      ),
    get: (id) => all.find((i) => i.id === id),
  };

  it('counts agents, suspensions, violations in the window and unresolved incidents for the score', async () => {
    const r = await complianceReport(
      {
        directory: () => directory,
        incidents: () => incidents,
        now: () => NOW,
        integrity: async () => ({ state: 'verified', checked_at: null, detail: null }),
      },
      '24h',
    );
    expect([r.total_agents, r.active_agents, r.suspended_agents]).toEqual([3, 2, 1]);
    expect(r.recent_violations).toBe(3);
    expect(r.incidents?.by_severity.high).toEqual({ open: 1, acknowledged: 0, resolved: 1 });
    // The month-old critical is still open: the score counts it, the window's chart does not.
    expect(r.incidents?.unresolved).toEqual({ critical: 1, high: 1, medium: 0, low: 1 });
    expect(r.incidents?.by_severity.critical).toEqual({ open: 0, acknowledged: 0, resolved: 0 });
    // 25 + 10 + 1 = 36, one suspended agent 5 → 59.
    expect(r.compliance_score).toBe(59);
    const r30 = await complianceReport(
      { directory: () => directory, incidents: () => incidents, now: () => NOW },
      '30d',
    );
    expect(r30.active_agents).toBe(3);
    expect(r30.recent_violations).toBe(4);
  });
});

describe('compliance numbers over a real audit log with a moved clock', () => {
  it('counts only the window (the hour-aligned buckets), ignores future-dated records, and stops at the window’s start', async () => {
    const { AuditLog } = await import('../../src/audit/index.js');
    const { tempDir } = await import('../helpers/temp.js');
    const { dir } = tempDir();
    let clock = Date.parse('2026-03-01T00:00:00Z');
    const log = await AuditLog.open({ dataDir: dir, now: () => new Date(clock), maxFileBytes: 4_000 });
    const decide = (decision: 'allow' | 'deny' | 'review', agent: string) =>
      log.append({ event: 'decision', decision, agent, tool: 'echo', server: 's', rule: null, reason: 'r' });
    // Two days before the window: many records, spread over several files (each must not be read).
    for (let i = 0; i < 60; i++) await decide('deny', 'old');
    clock = Date.parse('2026-03-02T13:30:00Z');
    await decide('allow', 'a');
    await decide('deny', 'a');
    clock = Date.parse('2026-03-03T11:59:00Z');
    await decide('review', 'b');
    // A record dated after "now" (a writer whose clock runs ahead) is not this window's.
    clock = Date.parse('2026-03-03T18:00:00Z');
    await decide('allow', 'future');
    await log.close();
    const r = await complianceReport(
      { auditDir: log.root, now: () => Date.parse('2026-03-03T12:10:00Z') },
      '24h',
    );
    expect(r.from).toBe('2026-03-02T13:00:00.000Z');
    expect([r.decisions.allow, r.decisions.deny, r.decisions.review]).toEqual([1, 1, 1]);
    expect(r.decisions.buckets[0]).toMatchObject({ start: '2026-03-02T13:00:00.000Z', allow: 1, deny: 1 });
    expect(r.decisions.buckets.at(-1)).toMatchObject({ start: '2026-03-03T12:00:00.000Z', review: 0 });
    expect(r.decisions.buckets.at(-2)).toMatchObject({ start: '2026-03-03T11:00:00.000Z', review: 1 });
    expect(r.agents.map((a) => a.agent)).toEqual(['a', 'b']);
    // Read: the four newest, then the first old one stopped it (a page of up to 1000 may hold more).
    expect(r.audit.capped).toBe(false);
    expect(r.audit.oldest_counted).toBe('2026-03-02T13:30:00.000Z');
    const wide = await complianceReport(
      { auditDir: log.root, now: () => Date.parse('2026-03-03T12:10:00Z') },
      '7d',
    );
    expect(wide.decisions.deny).toBe(61);
  });
});

describe('the Compliance page with hostile names in the audit log', () => {
  it('escapes tool, resource, rule and agent names everywhere they appear (charts, tables, links)', async () => {
    const { compliancePage } = await import('../../src/web/views/compliance.js');
    const r = await complianceReport({ now: () => Date.parse('2026-03-01T12:00:00Z') }, '24h');
    const evil = '<img src=x onerror=alert(1)>"\'&';
    r.decisions.buckets[3] = { ...(r.decisions.buckets[3] as (typeof r.decisions.buckets)[0]), deny: 2 };
    r.decisions.deny = 2;
    r.decisions.total = 2;
    r.top_denied_tools = [{ name: evil, server: `srv${evil}`, count: 2 }];
    r.top_denying_rules = [{ rule: evil, count: 2 }];
    r.agents = [
      { agent: evil, allow: 0, deny: 2, review: 0, total: 2, trust: null, suspended: null, last_seen: null },
    ];
    const page = String(await compliancePage(r));
    expect(page).not.toContain('<img');
    expect(page).not.toMatch(/onerror=alert\(1\)>"'/);
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain(`href="/audit?agent=${encodeURIComponent(evil).replace(/'/g, '&#39;')}"`);
  });
});
