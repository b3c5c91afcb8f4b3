// The incidents part against a real governance.db and a real audit log: breaches, the suspend window, recurrence records, data_version caching, and the policy keys.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, queryAudit } from '../../src/audit/index.js';
import { Incidents, SqliteIncidentStore } from '../../src/incidents/index.js';
import { loadPolicy } from '../../src/policy/index.js';
import type { DecidedCall } from '../../src/proxy/index.js';
import { tempDir } from '../helpers/temp.js';
import { errorsOf, policyFrom } from '../policy/helpers.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function part(yaml: string, clock = { now: Date.parse('2026-01-01T00:00:00Z') }) {
  const { dir } = tempDir();
  const file = path.join(dir, 'governance.db');
  const store = new SqliteIncidentStore(file);
  const audit = await AuditLog.open({ dataDir: dir });
  const changed: string[] = [];
  const withdrawn: string[] = [];
  const incidents = new Incidents({
    store,
    policy: () => policyFrom(yaml),
    audit,
    changed: (agent) => changed.push(agent),
    withdraw: (agent, reason) => withdrawn.push(`${agent}: ${reason}`),
    now: () => clock.now,
    pollIntervalMs: 0,
  });
  closers.push(
    () => store.close(),
    () => audit.close(),
    () => incidents.close(),
  );
  return { incidents, store, audit, file, changed, withdrawn, clock };
}

const breach = (kind: 'rate' | 'concurrency' | 'budget', agent = 'bot'): DecidedCall => ({
  agent,
  server: 'pay',
  tool: 'refund',
  args: {},
  correlationId: `c-${Math.random()}`,
  decision: { decision: 'deny', rule: null, reason: 'over', policySha256: 'x' },
  breach: { kind, id: `${kind}-1`, reason: `${kind} limit reached: retry in 30 s` },
});

const BREACHES = `version: 2
suspend: [{ after: 3, severity: medium, within: 1m }]
incidents: { breaches: medium }
rules: [{ match: "*", decision: allow }]
`;

describe('incidents from breaches', () => {
  it('opens one incident per breach, counts repeats, and suspends on the threshold within the window only', async () => {
    const { incidents, changed, withdrawn, clock } = await part(BREACHES);
    incidents.decided(breach('rate'));
    clock.now += 40_000;
    incidents.decided(breach('rate'));
    // The first occurrence has left the 1-minute window: two in it, not three.
    clock.now += 40_000;
    incidents.decided(breach('rate'));
    expect(incidents.standing('bot')).toEqual({});
    incidents.decided(breach('budget'));
    expect(incidents.standing('bot').suspended).toMatch(
      /^agent suspended: inc_[0-9a-f]+: pay\/refund: budget limit/,
    );
    expect(changed).toEqual(['bot']);
    expect(withdrawn).toHaveLength(1);
    const list = incidents.list();
    expect(list.map((i) => [i.type, i.source, i.rule, i.count, i.severity])).toEqual(
      expect.arrayContaining([
        ['rate_limit', 'rate', 'rate-1', 3, 'medium'],
        ['budget_exceeded', 'budget', 'budget-1', 1, 'medium'],
      ]),
    );
    // Other agents are untouched.
    expect(incidents.standing('other')).toEqual({});
  });

  it('records a recurrence at most once a minute, and a resolved incident is not bumped but replaced', async () => {
    const { incidents, audit, clock } = await part(BREACHES.replace(/^suspend:.*\n/m, ''));
    for (let i = 0; i < 5; i++) incidents.decided(breach('concurrency'));
    clock.now += 61_000;
    incidents.decided(breach('concurrency'));
    const [first] = incidents.list();
    expect(first?.count).toBe(6);
    await incidents.resolve(first?.id as string, 'alice');
    incidents.decided(breach('concurrency'));
    expect(incidents.list().map((i) => [i.status, i.count])).toEqual(
      expect.arrayContaining([
        ['resolved', 6],
        ['open', 1],
      ]),
    );
    await audit.close();
    const { records } = await queryAudit(audit.root, { event: 'incident' });
    expect(records.reverse().map((r) => r.action)).toEqual([
      'opened',
      'recurred',
      'recurred',
      'resolved',
      'opened',
    ]);
  });

  it('forgets occurrences once they are older than every window and a day', async () => {
    const { incidents, store, clock } = await part(BREACHES.replace(/^suspend:.*\n/m, ''));
    const rows = () =>
      (store.db.prepare('SELECT count(*) AS n FROM incident_occurrences').get() as { n: number }).n;
    for (let i = 0; i < 4; i++) incidents.decided(breach('rate'));
    expect(rows()).toBe(4);
    clock.now += 25 * 3_600_000;
    incidents.decided(breach('rate'));
    expect(rows()).toBe(1);
    expect(incidents.list()[0]?.count).toBe(5);
  });

  it('a suspension written by another connection (another process) is seen on the next turn and told', async () => {
    const { incidents, file, changed } = await part(BREACHES);
    expect(incidents.standing('bot')).toEqual({});
    const other = new SqliteIncidentStore(file);
    closers.push(() => other.close());
    other.suspend('bot', {
      incident: null,
      reason: 'from the shell',
      at: new Date().toISOString(),
      by: 'ops',
    });
    // data_version is read once per turn of the event loop (src/util/sqlite.ts).
    await nextTurn();
    expect(incidents.standing('bot')).toEqual({ suspended: 'agent suspended: by ops: from the shell' });
    expect(changed).toEqual(['bot']);
    other.reinstate('bot', 'ops', new Date().toISOString());
    await nextTurn();
    expect(incidents.standing('bot')).toEqual({});
    expect(changed).toEqual(['bot', 'bot']);
  });

  it('reads no table while nothing changed (the cache is keyed by data_version)', async () => {
    const { incidents, store } = await part(BREACHES);
    let reads = 0;
    const original = store.suspensions.bind(store);
    store.suspensions = () => {
      reads += 1;
      return original();
    };
    for (let i = 0; i < 100; i++) incidents.standing(`agent-${i % 3}`);
    expect(reads).toBe(0);
  });
});

describe('policy keys', () => {
  it('compiles severity:, suspend: (one or a list) and incidents:', () => {
    const policy = policyFrom(`version: 2
suspend: { after: 3, within: 10m }
rules:
  - { id: a, match: x, decision: deny, severity: critical }
  - { id: b, match: y, decision: deny }
`);
    expect(policy.severityOf('a')).toBe('critical');
    expect(policy.severityOf('b')).toBeUndefined();
    expect(policy.severityOf(null)).toBeUndefined();
    expect(policy.suspend).toEqual([{ after: 3, severity: 'high', withinMs: 600_000 }]);
    expect(policy.incidents).toEqual({ breaches: 'medium', audit: 'high' });
    expect(policyFrom('version: 2\nrules: []\n').suspend).toEqual([]);
  });

  it('refuses what cannot work, and warns of a severity that never fires', () => {
    expect(
      errorsOf(
        'version: 2\nrules:\n  - { kind: resource, match: "file:///*", decision: deny, severity: high }\n',
      ),
    ).toEqual([expect.stringContaining('only tool rules open incidents')]);
    expect(errorsOf('version: 2\nsuspend: { after: 0, within: 1m }\nrules: []\n')).not.toEqual([]);
    expect(errorsOf('version: 2\nsuspend: { after: 2, within: 0 }\nrules: []\n')).toEqual([
      expect.stringContaining('suspend.within: must be longer than 0'),
    ]);
    expect(
      errorsOf('version: 2\nsuspend: { after: 2, within: 1m, severity: urgent }\nrules: []\n'),
    ).not.toEqual([]);
    expect(errorsOf('version: 2\nrules:\n  - { match: x, decision: deny, severity: severe }\n')).not.toEqual(
      [],
    );
    const allow = loadPolicy(
      'version: 2\nrules:\n  - { match: x, decision: allow, severity: high }\n',
      't.yml',
    );
    expect(allow.ok && allow.warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('never denies a call'),
    ]);
  });
});

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
