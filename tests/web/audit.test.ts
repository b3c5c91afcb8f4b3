// The audit page and GET /api/audit through app.request(), over a real hash-chained log in a temp dir.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditEvent, AuditLog, type AuditRecord, REDACTED_PREFIX } from '../../src/audit/index.js';
import { tempDir } from '../helpers/temp.js';
import { bearer, type Harness, harness, park, signIn, TOKEN } from './helpers.js';

const SECRET = 'sk_live_PLAINSECRET_4242';
const START = Date.UTC(2025, 0, 31, 9, 0, 0);
/** The call whose decision, approval and execution records share one correlation id. */
const REVIEWED = 'corr-reviewed-0001';

let data: ReturnType<typeof tempDir>;
let auditDir: string;
/** Every record written, oldest first, exactly as the log returned them. */
let written: AuditRecord[];

beforeAll(async () => {
  data = tempDir('portcullis-audit-web-');
  auditDir = join(data.dir, 'audit');
  let clock = START;
  // One minute between records, so time ranges have clean edges.
  const log = await AuditLog.open({ dataDir: data.dir, now: () => new Date(clock) });
  written = [];
  const add = async (event: AuditEvent) => {
    written.push(await log.append(event));
    clock += 60_000;
  };
  try {
    const decision = (e: Partial<AuditEvent>): AuditEvent => ({
      event: 'decision',
      rule: null,
      reason: 'test',
      policy_sha256: 'a'.repeat(64),
      ...e,
    });
    await add(
      decision({
        correlation_id: 'corr-allowed-0001',
        agent: 'support-bot',
        server: 'payments',
        tool: 'refunds.refund',
        decision: 'allow',
        rule: 'small-refunds',
        reason: 'Auto-approved refunds under $150',
        args: { amount_cents: 5000, api_key: SECRET },
      }),
    );
    await add({
      event: 'execution',
      correlation_id: 'corr-allowed-0001',
      agent: 'support-bot',
      server: 'payments',
      tool: 'refunds.refund',
      outcome: 'ok',
      latency_ms: 12.5,
    });
    await add(
      decision({
        correlation_id: REVIEWED,
        agent: 'ops-bot',
        server: 'payments',
        tool: 'payouts.send',
        decision: 'review',
        rule: 'payouts',
        reason: 'Payouts need a person',
        args: { amount_cents: 90000 },
      }),
    );
    // One in the shape types.ts describes (action, by), one as the approval queue writes it (status, decided_by).
    for (const fields of [{ action: 'created' }, { status: 'approved', decided_by: 'alice (browser)' }]) {
      await add({
        event: 'approval',
        correlation_id: REVIEWED,
        agent: 'ops-bot',
        server: 'payments',
        tool: 'payouts.send',
        decision: 'review',
        rule: 'payouts',
        reason: 'Payouts need a person',
        approval_id: 'ap_00000000000000aa',
        ...fields,
      });
    }
    await add({
      event: 'execution',
      correlation_id: REVIEWED,
      agent: 'ops-bot',
      server: 'payments',
      tool: 'payouts.send',
      outcome: 'ok',
      latency_ms: 40,
      approval_id: 'ap_00000000000000aa',
    });
    await add(
      decision({
        correlation_id: 'corr-denied-0001',
        agent: 'support-bot',
        server: 'files',
        tool: 'write_file',
        decision: 'deny',
        rule: 'no-writes',
        reason: 'Writes are not allowed',
        args: { path: '/tmp/x.html', content: '<script>alert("pwned")</script>' },
      }),
    );
    await add({
      event: 'policy_reload',
      outcome: 'accepted',
      old_sha256: 'a'.repeat(64),
      new_sha256: 'b'.repeat(64),
    });
    // Enough plain records that paging has several pages.
    for (let i = 0; i < 24; i++) {
      await add(
        decision({
          correlation_id: `corr-bulk-${i}`,
          agent: 'bulk-bot',
          server: 'everything',
          tool: 'echo',
          decision: i % 3 === 0 ? 'deny' : 'allow',
          args: { message: `hello ${i}`, session_token: `tok-${i}-${SECRET}` },
        }),
      );
    }
  } finally {
    await log.close();
  }
});
afterAll(() => data.cleanup());

let h: Harness;
beforeEach(() => {
  h = harness({ auditDir });
});
afterEach(() => h.close());

/** Newest first, as the API answers. */
const newest = (keep: (r: AuditRecord) => boolean = () => true) =>
  written
    .filter(keep)
    .reverse()
    .map((r) => r.seq);

async function api(query: string, init: RequestInit = {}) {
  const res = await h.request(`/api/audit${query}`, bearer(init));
  return {
    res,
    body: (await res.json()) as {
      records: Array<AuditRecord & { chain: number }>;
      next_cursor: string | null;
      error?: string;
    },
  };
}

function storedLines(): string[] {
  const files = readdirSync(auditDir)
    .filter((f) => /^audit-\d+\.jsonl$/.test(f))
    .sort();
  return files.flatMap((f) => readFileSync(join(auditDir, f), 'utf8').split('\n').filter(Boolean));
}

describe('GET /api/audit', () => {
  it('returns the newest records first with a cursor, in the documented shape', async () => {
    const { res, body } = await api('?limit=5');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.records.map((r) => r.seq)).toEqual(newest().slice(0, 5));
    // One writer (chain 1): the cursor says "chain 1, below this seq".
    expect(body.next_cursor).toBe(`1.${body.records.at(-1)?.seq}`);
    // Each record as stored, plus the chain (writer slot) it came from.
    expect(body.records[0]).toEqual({ ...written.at(-1), chain: 1 });
  });

  it.each([
    ['agent=ops-bot', (r: AuditRecord) => r.agent === 'ops-bot'],
    ['server=files', (r: AuditRecord) => r.server === 'files'],
    ['tool=refunds.refund', (r: AuditRecord) => r.tool === 'refunds.refund'],
    ['decision=deny', (r: AuditRecord) => r.decision === 'deny'],
    ['decision=review', (r: AuditRecord) => r.decision === 'review'],
    ['event=execution', (r: AuditRecord) => r.event === 'execution'],
    ['event=policy_reload', (r: AuditRecord) => r.event === 'policy_reload'],
    [`correlation_id=${REVIEWED}`, (r: AuditRecord) => r.correlation_id === REVIEWED],
    ['q=HELLO%201', (r: AuditRecord) => JSON.stringify(r.args ?? '').includes('hello 1')],
    [
      'agent=support-bot&decision=deny',
      (r: AuditRecord) => r.agent === 'support-bot' && r.decision === 'deny',
    ],
    // The 3rd to 5th records: from is inclusive, to exclusive; no zone means UTC.
    ['from=2025-01-31T09:02:00Z&to=2025-01-31 09:05', (r: AuditRecord) => r.seq >= 3 && r.seq <= 5],
    ['from=2025-01-31T10:02:00%2B01:00&to=2025-01-31T09:03Z', (r: AuditRecord) => r.seq === 3],
  ])('narrows by %s', async (query, keep) => {
    const expected = newest(keep);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(written.length);
    const { res, body } = await api(`?${query}&limit=1000`);
    expect(res.status).toBe(200);
    expect(body.records.map((r) => r.seq)).toEqual(expected);
    expect(body.next_cursor).toBeNull();
  });

  it('pages with before: each page is the next older one, no record twice, none missed', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { body } = await api(`?decision=allow&limit=4${cursor === null ? '' : `&before=${cursor}`}`);
      if (cursor !== null)
        expect(Math.max(...body.records.map((r) => r.seq))).toBeLessThan(seen.at(-1) as number);
      seen.push(...body.records.map((r) => r.seq));
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(seen).toEqual(newest((r) => r.decision === 'allow'));
    expect(pages).toBeGreaterThan(3);
  });

  it('exports JSONL: exactly the stored lines, newest first, with the next cursor in headers', async () => {
    const lines = storedLines();
    expect(lines).toHaveLength(written.length);
    const res = await h.request('/api/audit?format=jsonl&limit=7', bearer());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const text = await res.text();
    expect(text).toBe(`${lines.slice(-7).reverse().join('\n')}\n`);
    const next = res.headers.get('x-next-cursor');
    expect(next).toBe(`1.${written.at(-7)?.seq}`);
    expect(res.headers.get('link')).toBe(`</api/audit?limit=7&before=${next}&format=jsonl>; rel="next"`);

    // Accept: application/x-ndjson does the same; the whole log fits one page of the maximum size.
    const all = await h.request(
      '/api/audit?limit=1000',
      bearer({ headers: { accept: 'application/x-ndjson' } }),
    );
    expect(all.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(await all.text()).toBe(`${[...lines].reverse().join('\n')}\n`);
    expect(all.headers.get('x-next-cursor')).toBeNull();

    // Filters apply to the export too.
    const denied = await (
      await h.request('/api/audit?format=jsonl&decision=deny&limit=1000', bearer())
    ).text();
    const expected = lines.filter((l) => (JSON.parse(l) as AuditRecord).decision === 'deny').reverse();
    expect(denied).toBe(`${expected.join('\n')}\n`);
  });

  it.each([
    ['decision=maybe', /decision must be one of allow, deny, review/],
    ['event=login', /event must be one of/],
    ['from=yesterday', /"from" must be a time/],
    ['to=1', /"to" must be a time/],
    ['from=2025-02-30', /"from" must be a time/],
    ['from=2025-01-31T10:00Z&to=2025-01-31T09:00Z', /"from" must be earlier than "to"/],
    ['limit=0', /limit must be a whole number from 1 to 1000/],
    ['limit=1001', /limit must be a whole number from 1 to 1000/],
    ['limit=ten', /limit must be a whole number/],
    ['before=-3', /before must be a cursor/],
    // A bare seq was the cursor before there were several chains: refused, not misread.
    ['before=48', /before must be a cursor/],
    ['decison=deny', /unknown filter "decison"/],
    ['agent=a&agent=b', /"agent" is given more than once/],
    ['format=xml', /format must be json or jsonl/],
  ])('answers 400 with a JSON error for %s', async (query, message) => {
    const { res, body } = await api(`?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.error).toMatch(message);
  });

  it('needs the token or a session, like every /api route', async () => {
    const none = await h.request('/api/audit');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await h.request('/api/audit', bearer({}, `${TOKEN}x`))).status).toBe(401);
    expect((await h.request('/api/audit?format=jsonl')).status).toBe(401);
    const { cookie } = await signIn(h);
    const res = await h.request('/api/audit?limit=1', { headers: { cookie } });
    expect(res.status).toBe(200);
  });

  it('never shows a redacted secret in plain, nor the admin token', async () => {
    const json = await (await h.request('/api/audit?limit=1000', bearer())).text();
    const jsonl = await (await h.request('/api/audit?limit=1000&format=jsonl', bearer())).text();
    for (const text of [json, jsonl]) {
      expect(text).toContain(REDACTED_PREFIX);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
    }
    // Searching for the secret finds nothing: q matches the redacted record, not the value.
    expect((await api(`?q=${SECRET}`)).body.records).toEqual([]);
  });

  it('answers 503 when this process has no audit log to read', async () => {
    h.close();
    h = harness();
    const res = await h.request('/api/audit', bearer());
    expect(res.status).toBe(503);
  });
});

describe('the audit page', () => {
  let cookie: string;
  beforeEach(async () => {
    ({ cookie } = await signIn(h));
  });
  const page = async (query = '') => {
    const res = await h.request(`/audit${query}`, { headers: { cookie } });
    return { res, text: await res.text() };
  };
  const seqsOn = (text: string) => [...text.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]));

  it('is in the navigation and lists records newest first, each with its full JSON', async () => {
    const home = await (await h.request('/', { headers: { cookie } })).text();
    expect(home).toContain('href="/audit"');
    const { res, text } = await page();
    expect(res.status).toBe(200);
    expect(text).toContain('aria-current="page" class="active">Audit</a>');
    expect(seqsOn(text)).toEqual(newest().slice(0, 50));
    const reviewed = written.find((r) => r.event === 'execution' && r.correlation_id === REVIEWED);
    const row = text.slice(text.indexOf(`id="seq-${reviewed?.seq}"`));
    expect(row).toContain('<span class="event kind-execution">execution</span>');
    expect(row).toContain('ok, 40 ms');
    expect(row).toContain('<details class="json"><summary>Full record</summary><pre>');
    // The pretty-printed JSON, HTML-escaped (quotes become &quot;).
    expect(row).toContain('&quot;latency_ms&quot;: 40');
    expect(row).toContain(`&quot;hash&quot;: &quot;${reviewed?.hash}&quot;`);
  });

  it('links a correlation id to that call, showing its decision, approval and execution together', async () => {
    const all = await page('?limit=1000');
    const href = `/audit?correlation_id=${REVIEWED}`;
    expect(all.text).toContain(`<a class="corr" href="${href}"`);
    const { text } = await page(`?correlation_id=${REVIEWED}`);
    expect(seqsOn(text)).toEqual(newest((r) => r.correlation_id === REVIEWED));
    for (const kind of ['decision', 'approval', 'execution']) {
      expect(text).toContain(`<span class="event kind-${kind}">${kind}</span>`);
    }
    expect(text).toContain('approved by alice (browser)');
    expect(text).toContain('Showing every record of one call');
  });

  it('filters from the form fields and keeps them on the Older link', async () => {
    const { text } = await page('?agent=bulk-bot&decision=allow&from=2025-01-31&limit=5&tool=');
    const expected = newest((r) => r.agent === 'bulk-bot' && r.decision === 'allow');
    expect(seqsOn(text)).toEqual(expected.slice(0, 5));
    expect(text).toContain('<option value="allow" selected>allow</option>');
    expect(text).toContain('id="f-agent" name="agent" value="bulk-bot"');
    const older = /<a href="([^"]+)" rel="next"/.exec(text)?.[1]?.replaceAll('&amp;', '&') as string;
    expect(older).toBe(
      `/audit?agent=bulk-bot&decision=allow&from=2025-01-31T00%3A00%3A00.000Z&limit=5&before=1.${expected[4]}`,
    );
    const next = await page(older.slice('/audit'.length));
    expect(seqsOn(next.text)).toEqual(expected.slice(5, 10));
    expect(next.text).toContain('rel="first"');
  });

  it('shows a clear message for a bad filter, with status 400, not an error page', async () => {
    for (const [query, message] of [
      ['?decision=maybe', 'decision must be one of allow, deny, review, not &quot;maybe&quot;'],
      ['?from=last%20tuesday', '&quot;from&quot; must be a time like 2025-01-31'],
      ['?limit=5000', 'limit must be a whole number from 1 to 1000'],
    ] as const) {
      const { res, text } = await page(query);
      expect(res.status).toBe(400);
      expect(text).toContain('These filters cannot be used');
      expect(text).toContain(message);
      expect(text).toContain('<form class="filters card"');
      expect(seqsOn(text)).toEqual([]);
    }
    // The bad value stays in its field to be corrected.
    expect((await page('?from=last%20tuesday')).text).toContain('value="last tuesday"');
  });

  it('escapes HTML in arguments, and shows secrets only redacted, never the token', async () => {
    const { text } = await page('?limit=1000');
    expect(text).not.toContain('<script>alert');
    // In the pretty-printed JSON: the JSON string's \" escapes, then HTML escaping on top.
    expect(text).toContain('&lt;script&gt;alert(\\&quot;pwned\\&quot;)&lt;/script&gt;');
    expect(text).toContain(REDACTED_PREFIX);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN);
    // Even when asked for in the free-text filter, the value comes back escaped.
    const search = await page('?q=%3Cscript%3E');
    expect(search.text).toContain('value="&lt;script&gt;"');
    expect(search.text).not.toContain('<script>alert');
  });

  it('needs a signed-in session', async () => {
    const res = await h.request('/audit');
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('Sign in');
    expect((await h.request('/audit', bearer())).status).toBe(401);
  });

  it('links each decided approval to its audit trail', async () => {
    const id = await park(h, { correlationId: REVIEWED });
    h.queue.decide(id, { decision: 'approve', by: 'alice (browser)' });
    const text = await (await h.request('/decided', { headers: { cookie } })).text();
    expect(text).toContain(`<a class="trail" href="/audit?correlation_id=${REVIEWED}"`);
  });

  it('is absent when this process has no audit log', async () => {
    h.close();
    h = harness();
    ({ cookie } = await signIn(h));
    expect((await h.request('/audit', { headers: { cookie } })).status).toBe(404);
    const id = await park(h, { correlationId: REVIEWED });
    h.queue.decide(id, { decision: 'deny', by: 'alice (browser)' });
    const decided = await (await h.request('/decided', { headers: { cookie } })).text();
    expect(decided).not.toContain('href="/audit');
  });
});

describe('several writers (one chain per proxy process)', () => {
  let multi: ReturnType<typeof tempDir>;
  let root: string;
  /** Newest first, as the merge must give them: `<chain>:<seq>`. */
  let order: string[];
  let h2: Harness;

  beforeAll(async () => {
    multi = tempDir('portcullis-audit-web-multi-');
    root = join(multi.dir, 'audit');
    let clock = START;
    const now = () => new Date(clock);
    const logs = [
      await AuditLog.open({ dataDir: multi.dir, now }),
      await AuditLog.open({ dataDir: multi.dir, now }),
    ];
    const all: Array<{ key: string; ts: string }> = [];
    try {
      for (let i = 0; i < 13; i++) {
        const log = logs[i % 3 === 0 ? 1 : 0] as AuditLog;
        const record = await log.append({
          event: 'decision',
          correlation_id: `corr-multi-${i}`,
          agent: 'multi-bot',
          server: 'everything',
          tool: 'echo',
          decision: 'allow',
          rule: null,
          reason: 'test',
          policy_sha256: 'a'.repeat(64),
        });
        all.push({ key: `${log.slot}:${record.seq}`, ts: record.ts });
        clock += 60_000;
      }
    } finally {
      for (const log of logs) await log.close();
    }
    order = all.reverse().map(({ key }) => key);
  });
  afterAll(() => multi.cleanup());
  beforeEach(() => {
    h2 = harness({ auditDir: root });
  });
  afterEach(() => h2.close());

  const keys = (records: Array<AuditRecord & { chain: number }>) => records.map((r) => `${r.chain}:${r.seq}`);

  it('merges every chain newest first; each JSON record names its chain, and paging sees each once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h2.request(
        `/api/audit?limit=4${cursor === null ? '' : `&before=${cursor}`}`,
        bearer(),
      );
      const body = (await res.json()) as {
        records: Array<AuditRecord & { chain: number }>;
        next_cursor: string | null;
      };
      seen.push(...keys(body.records));
      cursor = body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(order);
    expect(new Set(seen.map((key) => key.split(':')[0]))).toEqual(new Set(['1', '2']));
  });

  it('exports the stored lines of every chain unchanged (no chain field), following X-Next-Cursor', async () => {
    const stored = [root, join(root, 'writer-2')].flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => /^audit-\d+\.jsonl$/.test(f))
        .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean)),
    );
    const exported: string[] = [];
    let next: string | null = null;
    do {
      const res = await h2.request(
        `/api/audit?format=jsonl&limit=5${next === null ? '' : `&before=${next}`}`,
        bearer(),
      );
      exported.push(...(await res.text()).split('\n').filter(Boolean));
      next = res.headers.get('x-next-cursor');
    } while (next !== null);
    expect(exported).toHaveLength(13);
    expect([...exported].sort()).toEqual([...stored].sort());
    for (const line of exported) expect(line).not.toContain('"chain"');
  });

  it('labels the other writer’s records on the page and pages them with the Older link', async () => {
    const { cookie } = await signIn(h2);
    const text = await (await h2.request('/audit?limit=6', { headers: { cookie } })).text();
    const rows = [...text.matchAll(/data-seq="(\d+)" data-chain="(\d+)"/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(rows).toEqual(order.slice(0, 6));
    expect(text).toMatch(/>w2#\d+<\/span>/);
    expect(text).toContain('6 records from 2 writers, newest first');
    const ids = [...text.matchAll(/<tbody class="record[^"]*" id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(6);
    const older = /<a href="([^"]+)" rel="next"/.exec(text)?.[1]?.replaceAll('&amp;', '&') as string;
    const next = await (await h2.request(older, { headers: { cookie } })).text();
    const more = [...next.matchAll(/data-seq="(\d+)" data-chain="(\d+)"/g)].map((m) => `${m[2]}:${m[1]}`);
    expect(more).toEqual(order.slice(6, 12));
  });
});
