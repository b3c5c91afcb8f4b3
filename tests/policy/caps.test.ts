// An attacker wants a $20,000 refund through a $150 cap: every trick must end in deny or review, never allow.
import { describe, expect, it } from 'vitest';
import { parseJsonStrict } from '../../src/policy/index.js';
import { policyFrom } from './helpers.js';

const policy = policyFrom(`
version: 2
rules:
  - id: small-refunds
    match: "refunds.*"
    ops: [refund]
    cap_cents: 15000
    decision: allow
  - id: basket
    match: "orders.create"
    cap: { arg: "items[*].price_cents", max: 15000, over: deny }
    decision: allow
  - id: generic-cap
    match: "transfers.send"
    cap: { arg: payment.amount, max: 150 }
    decision: allow
  - id: fallback
    match: "*"
    decision: review
`);

const refund = (amount: unknown) =>
  policy.evaluate({ tool: 'refunds.refund', args: { op: 'refund', amount_cents: amount } });
/** Arguments as they arrive on the wire: raw JSON text parsed the way the SDK parses it. */
const refundJson = (json: string) => policy.evaluate({ tool: 'refunds.refund', args: JSON.parse(json) });

describe('amount caps fail closed', () => {
  it('allows an amount within the cap and reviews one above it', () => {
    expect(refund(12000)).toMatchObject({ decision: 'allow', rule: 'small-refunds' });
    expect(refund(15000)).toMatchObject({ decision: 'allow', rule: 'small-refunds' });
    expect(refund(15001)).toMatchObject({ decision: 'review', rule: 'small-refunds' });
    expect(refund(2_000_000).reason).toContain('over the cap of 15000');
  });

  const unreadable: [string, unknown][] = [
    ['a numeric string', '2000000'],
    ['a small numeric string', '100'],
    ['exponent notation in a string', '2e6'],
    ['hex in a string', '0x1E8480'],
    ['a string with white space', ' 100 '],
    ['an empty string', ''],
    ['a negative number', -2_000_000],
    ['negative one', -1],
    ['negative zero', -0],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['2^53', 2 ** 53],
    ['past 2^53', 2 ** 53 + 2],
    ['1e21', 1e21],
    ['a fraction of a cent', 100.5],
    ['an array', [100]],
    ['an array of the real amount', [2_000_000]],
    ['a nested object', { value: 100 }],
    ['an object with valueOf', { valueOf: 100 }],
    ['null', null],
    ['true', true],
    ['false', false],
    ['a bigint', 100n],
    ['undefined', undefined],
  ];
  for (const [name, value] of unreadable) {
    it(`denies ${name}`, () => {
      const d = refund(value);
      expect(d.decision).toBe('deny');
      expect(d.rule).toBe('small-refunds');
      expect(d.reason).toContain('amount_cents');
    });
  }

  it('denies a missing amount, naming the argument', () => {
    const d = policy.evaluate({ tool: 'refunds.refund', args: { op: 'refund' } });
    expect(d).toMatchObject({ decision: 'deny', rule: 'small-refunds' });
    expect(d.reason).toContain('amount_cents is missing');
  });

  it('treats wire JSON the same: exponent, overflow, precision loss', () => {
    expect(refundJson('{"op":"refund","amount_cents":2e6}').decision).toBe('review');
    expect(refundJson('{"op":"refund","amount_cents":1.5e4}').decision).toBe('allow');
    expect(refundJson('{"op":"refund","amount_cents":1e400}').decision).toBe('deny');
    expect(refundJson('{"op":"refund","amount_cents":-1e400}').decision).toBe('deny');
    expect(refundJson('{"op":"refund","amount_cents":9007199254740993}').decision).toBe('deny');
    expect(refundJson('{"op":"refund","amount_cents":-0}').decision).toBe('deny');
    expect(refundJson('{"op":"refund","amount_cents":-0.0}').decision).toBe('deny');
    expect(refundJson('{"op":"refund","amount_cents":15000.000000001}').decision).toBe('deny');
  });

  it('duplicate keys: the strict parser refuses them, and JSON.parse keeps the value the upstream will see', () => {
    const text = '{"op":"refund","amount_cents":100,"amount_cents":2000000}';
    expect(() => parseJsonStrict(text)).toThrow(/duplicate key "amount_cents"/);
    expect(() => parseJsonStrict('{"a":{"b":1,"b":2}}')).toThrow(/duplicate key "b"/);
    expect(() => parseJsonStrict('{"a":"{\\"b\\":1,\\"b\\":2}"}')).not.toThrow();
    // The proxy forwards the object it evaluated, so the last-wins value is both judged and sent.
    expect(refundJson(text).decision).toBe('review');
    expect(refundJson('{"op":"refund","amount_cents":2000000,"amount_cents":"x"}').decision).toBe('deny');
  });

  it('does not read amounts through the prototype', () => {
    const viaProto = JSON.parse('{"op":"refund","__proto__":{"amount_cents":100}}');
    expect(policy.evaluate({ tool: 'refunds.refund', args: viaProto }).decision).toBe('deny');
    const inherited = Object.create({ amount_cents: 100 });
    inherited.op = 'refund';
    expect(policy.evaluate({ tool: 'refunds.refund', args: inherited }).decision).toBe('deny');
  });

  it('never allows when the op filter is dodged: the call falls to review', () => {
    expect(policy.evaluate({ tool: 'refunds.refund', args: { amount_cents: 2_000_000 } }).decision).toBe(
      'review',
    );
    expect(
      policy.evaluate({ tool: 'refunds.refund', args: { op: ['refund'], amount_cents: 1 } }).decision,
    ).toBe('review');
    expect(
      policy.evaluate({ tool: 'refunds.refund', args: { op: 'REFUND', amount_cents: 1 } }).decision,
    ).toBe('review');
  });

  it('arguments that are not an object are unreadable', () => {
    for (const args of [null, [], 'amount_cents=100', 100, undefined]) {
      expect(policy.evaluate({ tool: 'transfers.send', args }).decision).toBe('deny');
    }
  });

  it('sums [*] paths and fails closed on any bad element', () => {
    const order = (items: unknown) => policy.evaluate({ tool: 'orders.create', args: { items } }).decision;
    expect(order([{ price_cents: 5000 }, { price_cents: 10000 }])).toBe('allow');
    expect(order([{ price_cents: 5000 }, { price_cents: 10001 }])).toBe('deny');
    expect(order([{ price_cents: 5000 }, { price_cents: '10001' }])).toBe('deny');
    expect(order([{ price_cents: 5000 }, {}])).toBe('deny');
    expect(order([{ price_cents: 5000 }, { price_cents: -5000 }, { price_cents: 14000 }])).toBe('deny');
    expect(order([{ price_cents: 2 ** 52 }, { price_cents: 2 ** 52 }])).toBe('deny');
    expect(order([])).toBe('deny');
    expect(order({ price_cents: 1 })).toBe('deny');
    expect(order('[{"price_cents":1}]')).toBe('deny');
    expect(order([[{ price_cents: 1 }]])).toBe('deny');
  });

  it('a generic cap accepts fractions but not tricks', () => {
    const send = (amount: unknown) =>
      policy.evaluate({ tool: 'transfers.send', args: { payment: { amount } } }).decision;
    expect(send(149.99)).toBe('allow');
    expect(send(150.01)).toBe('review');
    expect(send('149')).toBe('deny');
    expect(send(-1)).toBe('deny');
    expect(policy.evaluate({ tool: 'transfers.send', args: { payment: 150 } }).decision).toBe('deny');
  });

  it('a cap never widens a rule', () => {
    const strict = policyFrom(`
version: 2
rules:
  - { id: r, match: "refunds.*", cap_cents: 100, decision: review }
  - { id: d, match: "payouts.*", cap_cents: 100, decision: deny }
`);
    expect(strict.evaluate({ tool: 'refunds.x', args: { amount_cents: 1 } }).decision).toBe('review');
    expect(strict.evaluate({ tool: 'refunds.x', args: { amount_cents: 1000 } }).decision).toBe('review');
    expect(strict.evaluate({ tool: 'payouts.x', args: { amount_cents: 1 } }).decision).toBe('deny');
    expect(strict.evaluate({ tool: 'payouts.x', args: { amount_cents: 'x' } }).decision).toBe('deny');
  });
});

describe('tool names an attacker might try', () => {
  const names = policyFrom(`
version: 2
rules:
  - { id: no-export, match: "users.export", decision: deny }
  - { id: reads, match: "users.*", decision: allow }
`);
  it('matches tool names ignoring ASCII case', () => {
    for (const tool of ['users.export', 'Users.Export', 'USERS.EXPORT', 'uSeRs.ExPoRt']) {
      expect(names.evaluate({ tool }).rule).toBe('no-export');
    }
  });
  it('denies names outside the MCP character set instead of matching them', () => {
    for (const tool of [
      'users.export ',
      ' users.export',
      'users.export\u0000',
      'users.\u0435xport',
      'users/export',
      '',
      'a'.repeat(129),
    ]) {
      expect(names.evaluate({ tool })).toMatchObject({ decision: 'deny', rule: null });
    }
  });
  it('does not let a non-string name through', () => {
    expect(names.evaluate({ tool: 42 as unknown as string }).decision).toBe('deny');
  });
});
