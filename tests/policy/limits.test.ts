// The pure limit and budget judgements, and the load errors of limits: and budgets:.
import { describe, expect, it } from 'vitest';
import { type Decision, judgeLimits, type LimitState, parseRate } from '../../src/policy/index.js';
import { errorsOf, policyFrom } from './helpers.js';

const POLICY = policyFrom(`version: 2
limits:
  - { id: fast, agent: "*", tool: "*", rate: 2/second }
  - { id: slow-pay, agent: "bot-*", tool: "pay*", server: payments, rate: 10/5m, over: review }
  - { id: one-at-once, agent: bot-1, concurrent: 1 }
budgets:
  - { id: daily, agent: "bot-*", tool: pay, arg: amount_cents, max: 1000, window: 24h, unit: cents, over: deny }
  - { id: soft, agent: "*", tool: "pay*", arg: "lines[*].n", max: 10, window: 1h }
rules:
  - { match: "*", decision: allow }
`);

const allow: Decision = { decision: 'allow', rule: 'r', reason: 'ok', policySha256: 'x' };
const review: Decision = { ...allow, decision: 'review', reason: 'a person looks' };
const empty: LimitState = { rates: new Map(), inFlight: new Map(), budgets: new Map() };
const state = (
  s: Partial<{
    [K in keyof LimitState]: Record<string, LimitState[K] extends ReadonlyMap<string, infer V> ? V : never>;
  }>,
): LimitState => ({
  rates: new Map(Object.entries(s.rates ?? {})),
  inFlight: new Map(Object.entries(s.inFlight ?? {})),
  budgets: new Map(Object.entries(s.budgets ?? {})),
});
const payCall = { agent: 'bot-1', server: 'payments', tool: 'pay' };
const applied = (c = payCall) => POLICY.limits.applicable(c);

describe('rates as the policy writes them', () => {
  it('reads named windows and durations, and refuses nonsense', () => {
    expect(parseRate('1000/minute')).toEqual({ max: 1000, windowMs: 60_000, per: 'minute' });
    expect(parseRate(' 5 / hour ')).toEqual({ max: 5, windowMs: 3_600_000, per: 'hour' });
    expect(parseRate('10/5m')).toEqual({ max: 10, windowMs: 300_000, per: '5m' });
    expect(parseRate('0/minute')).toContain('at least 1');
    expect(parseRate('3/0s')).toContain('longer than 0');
    expect(parseRate('3/fortnight')).toContain('"fortnight" is not');
  });
});

describe('which limits apply', () => {
  it('by agent, tool and server globs', () => {
    const ids = (c: typeof payCall) => {
      const a = applied(c);
      return [...a.rates, ...a.concurrency, ...a.budgets].map((l) => l.id);
    };
    expect(ids(payCall)).toEqual(['fast', 'slow-pay', 'one-at-once', 'daily', 'soft']);
    expect(ids({ ...payCall, server: 'other' })).toEqual(['fast', 'one-at-once', 'daily', 'soft']);
    expect(ids({ agent: 'human', server: 'payments', tool: 'PAYOUT' })).toEqual(['fast', 'soft']);
  });
});

describe('judging a call', () => {
  const args = { amount_cents: 100, lines: [{ n: 1 }] };

  it('passes an allowed call within every limit and books it, recording the numbers used', () => {
    const j = judgeLimits(
      applied(),
      { agent: 'bot-1', args },
      state({ budgets: { daily: 900 } }),
      allow,
      'admit',
    );
    expect(j.decision).toBe(allow);
    expect(j.breach).toBeUndefined();
    expect(j.book).toBe(true);
    expect(j.amounts).toEqual([
      { budget: 'daily', amount: 100 },
      { budget: 'soft', amount: 1 },
    ]);
    expect(j.record).toEqual({
      budgets: [
        { id: 'daily', used: 900, amount: 100, max: 1000, window_s: 86_400 },
        { id: 'soft', used: 0, amount: 1, max: 10, window_s: 3600 },
      ],
      limits: [
        { id: 'fast', kind: 'rate', used: 0, max: 2, window_s: 1 },
        { id: 'slow-pay', kind: 'rate', used: 0, max: 10, window_s: 300 },
        { id: 'one-at-once', kind: 'concurrency', used: 0, max: 1 },
      ],
    });
  });

  it('denies at the count (not one later), with when to retry, and books nothing', () => {
    const at = (used: number) =>
      judgeLimits(
        applied(),
        { agent: 'bot-1', args },
        state({ rates: { fast: { used, oldestExpiresInMs: 401 } } }),
        allow,
        'admit',
      );
    expect(at(1).decision.decision).toBe('allow');
    const over = at(2);
    expect(over.decision).toMatchObject({ decision: 'deny', rule: 'r' });
    expect(over.decision.reason).toBe('rate limit fast: 2 calls per second for agent bot-1; retry in 1 s');
    expect(over.breach).toEqual({ kind: 'rate', id: 'fast', reason: over.decision.reason });
    expect(over.book).toBe(false);
  });

  it('rounds the retry up to whole seconds, never 0', () => {
    const j = (ms: number) =>
      judgeLimits(
        applied(),
        { agent: 'bot-1', args },
        state({ rates: { 'slow-pay': { used: 10, oldestExpiresInMs: ms } } }),
        allow,
        'admit',
      );
    expect(j(12_001).decision.reason).toContain('retry in 13 s');
    expect(j(0).decision.reason).toContain('retry in 1 s');
  });

  it('over a review limit an allowed call goes to a person; a deny limit wins over a review one', () => {
    const rates = { 'slow-pay': { used: 10, oldestExpiresInMs: 60_000 } };
    const j = judgeLimits(applied(), { agent: 'bot-1', args }, state({ rates }), allow, 'admit');
    expect(j.decision.decision).toBe('review');
    expect(j.breach?.id).toBe('slow-pay');
    expect(j.book).toBe(false);
    const both = judgeLimits(
      applied(),
      { agent: 'bot-1', args },
      state({ rates, inFlight: { 'one-at-once': 1 } }),
      allow,
      'admit',
    );
    expect(both.decision.decision).toBe('deny');
    expect(both.breach?.kind).toBe('concurrency');
    expect(both.decision.reason).toBe(
      'concurrency limit one-at-once: agent bot-1 already has 1 of 1 calls in flight; retry when one ends',
    );
  });

  it('a budget: exactly the max is within it, one more is over (deny or review by the budget)', () => {
    const j = (daily: number, soft = 0) =>
      judgeLimits(applied(), { agent: 'bot-1', args }, state({ budgets: { daily, soft } }), allow, 'admit');
    expect(j(900).decision.decision).toBe('allow');
    const over = j(901);
    expect(over.decision.decision).toBe('deny');
    expect(over.decision.reason).toContain(
      "budget daily: agent bot-1 has used 901 cents of 1000 cents in the last 24h; this call's 100 cents would make 1001 cents",
    );
    const soft = j(0, 9.5);
    expect(soft.decision.decision).toBe('review');
    expect(soft.breach).toMatchObject({ kind: 'budget', id: 'soft' });
  });

  it('an unreadable amount denies, naming the argument, whatever the other state', () => {
    for (const [bad, problem] of [
      [{ lines: [{ n: 1 }] }, 'amount_cents is missing'],
      [{ amount_cents: 1e300, lines: [{ n: 1 }] }, 'amount_cents is beyond 2^53'],
      [{ amount_cents: 10.5, lines: [{ n: 1 }] }, 'amount_cents is not a whole number'],
      [{ amount_cents: Number.NaN, lines: [{ n: 1 }] }, 'amount_cents is NaN'],
      [{ amount_cents: 1, lines: [{ n: '1' }] }, 'lines[*].n element 0 is a string, not a JSON number'],
    ] as const) {
      const j = judgeLimits(applied(), { agent: 'bot-1', args: bad }, empty, review, 'admit');
      expect(j.decision.decision).toBe('deny');
      expect(j.decision.reason).toContain(`the amount cannot be read (${problem})`);
      expect(j.book).toBe(false);
    }
  });

  it('a denied call is not looked at', () => {
    const deny: Decision = { ...allow, decision: 'deny' };
    const j = judgeLimits(
      applied(),
      { agent: 'bot-1', args: {} },
      state({ inFlight: { 'one-at-once': 9 } }),
      deny,
      'admit',
    );
    expect(j.decision).toBe(deny);
    expect(j.book).toBe(false);
    expect(j.record).toEqual({});
  });

  it('a reviewed call is only looked at on admission: budgets (told to the person), not rates or slots', () => {
    const busy = state({
      rates: { fast: { used: 2, oldestExpiresInMs: 1 } },
      inFlight: { 'one-at-once': 1 },
      budgets: { soft: 9.5 },
    });
    const j = judgeLimits(applied(), { agent: 'bot-1', args }, busy, review, 'admit');
    expect(j.decision.decision).toBe('review');
    expect(j.decision.reason).toMatch(/^a person looks; budget soft: agent bot-1 has used 9.5 of 10/);
    expect(j.breach).toBeUndefined();
    expect(j.book).toBe(false);
    const denied = judgeLimits(
      applied(),
      { agent: 'bot-1', args },
      state({ budgets: { daily: 950 } }),
      review,
      'admit',
    );
    expect(denied.decision.decision).toBe('deny');
  });

  it('on release the person’s review stands for review limits; deny limits and slots still refuse', () => {
    const reviewOnly = state({
      rates: { 'slow-pay': { used: 10, oldestExpiresInMs: 5 } },
      budgets: { soft: 10 },
    });
    const j = judgeLimits(applied(), { agent: 'bot-1', args }, reviewOnly, review, 'release');
    expect(j.decision.decision).toBe('review');
    expect(j.book).toBe(true);
    for (const s of [
      state({ rates: { fast: { used: 2, oldestExpiresInMs: 5 } } }),
      state({ inFlight: { 'one-at-once': 1 } }),
      state({ budgets: { daily: 901 } }),
    ]) {
      const refused = judgeLimits(applied(), { agent: 'bot-1', args }, s, review, 'release');
      expect(refused.decision.decision).toBe('deny');
      expect(refused.book).toBe(false);
    }
  });
});

describe('load errors', () => {
  const base = (extra: string) => `version: 2\n${extra}\nrules:\n  - { match: "*", decision: allow }\n`;

  it('refuses bad rates, both or neither of rate and concurrent, and over on a concurrency limit', () => {
    expect(errorsOf(base('limits:\n  - { agent: "*", rate: 0/minute }'))).toEqual([
      'test.yml:3:25: limits[0].rate: rate "0/minute": the number of calls must be at least 1',
    ]);
    expect(errorsOf(base('limits:\n  - { agent: "*", rate: 10/fortnight }'))[0]).toContain(
      'limits[0].rate: must be calls per sliding window: N/second',
    );
    expect(errorsOf(base('limits:\n  - { agent: "*", rate: 1/0m }'))[0]).toContain(
      'the window must be longer than 0',
    );
    expect(errorsOf(base('limits:\n  - { agent: "*", rate: 1/second, concurrent: 2 }'))[0]).toContain(
      'limits[0]: give exactly one of rate (calls per window) or concurrent (calls at once)',
    );
    expect(errorsOf(base('limits:\n  - { agent: "*" }'))[0]).toContain('give exactly one of rate');
    expect(errorsOf(base('limits:\n  - { agent: "*", concurrent: 2, over: review }'))[0]).toContain(
      'limits[0].over: a concurrency limit always denies',
    );
    expect(errorsOf(base('limits:\n  - { agent: "*", concurrent: 0 }'))[0]).toContain('limits[0].concurrent');
    expect(errorsOf(base('limits:\n  - { agent: "!x", concurrent: 1 }'))[0]).toContain(
      'limits[0].agent: glob "!x" uses negation',
    );
  });

  it('refuses duplicate ids across limits and budgets, bad windows, paths and cents', () => {
    const budget = (fields: string) => `  - { id: b, agent: "*", arg: amount, max: 10, window: 1h${fields} }`;
    expect(
      errorsOf(
        base(
          `limits:\n  - { id: b, agent: "*", concurrent: 1 }\n  - { agent: "*", concurrent: 1 }\nbudgets:\n${budget('')}\n  - { id: limit-2, agent: "*", arg: a, max: 1, window: 1h }`,
        ),
      ),
    ).toEqual([
      'test.yml:6:11: budgets[0]: duplicate id "b" (also limits[0])',
      'test.yml:7:11: budgets[1]: duplicate id "limit-2" (also limits[1])',
    ]);
    expect(errorsOf(base(`budgets:\n${budget('').replace('1h', '0s')}`))[0]).toContain(
      'budgets[0].window: must be longer than 0',
    );
    expect(errorsOf(base(`budgets:\n${budget('').replace('1h', '1 day')}`))[0]).toContain(
      'budgets[0].window',
    );
    expect(errorsOf(base(`budgets:\n${budget('').replace('amount,', '"a..b",')}`))[0]).toContain(
      'budgets[0].arg: argument path "a..b" is malformed',
    );
    expect(
      errorsOf(base(`budgets:\n${budget(', unit: cents').replace('max: 10', 'max: 10.5')}`))[0],
    ).toContain('budgets[0].max: an amount in cents is a whole number');
    expect(errorsOf(base('budgets:\n  - { agent: "*", arg: a, max: 1, window: 1h }'))[0]).toContain(
      'budgets[0]: missing required key "id"',
    );
    expect(errorsOf(base(`budgets:\n${budget(', over: maybe')}`))[0]).toContain('budgets[0].over');
  });

  it('compiles a policy without limits to none', () => {
    const p = policyFrom(base(''));
    expect(p.limits.applicable({ agent: 'a', server: 's', tool: 't' })).toEqual({
      rates: [],
      concurrency: [],
      budgets: [],
    });
  });
});
