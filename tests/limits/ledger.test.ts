// The limits at the edge without the proxy: the ledger shared by processes on one data dir, booking
// and giving back, what a release refuses, and a ledger that fails.
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetLedger, LedgerError, Limits } from '../../src/limits/index.js';
import type { Decision } from '../../src/policy/index.js';
import { builtFile } from '../helpers/built.js';
import { testClock } from '../helpers/clock.js';
import { tempDir } from '../helpers/temp.js';
import { policyFrom } from '../policy/helpers.js';

const POLICY = `version: 2
limits:
  - { id: pay-rate, agent: "*", tool: pay, rate: 2/minute }
  - { id: one-pay, agent: "*", tool: pay, concurrent: 1 }
budgets:
  - { id: pay-budget, agent: "*", tool: pay, arg: amount, max: 100, window: 1h, over: deny }
rules:
  - { match: "*", decision: allow }
`;
const BUDGET_ONLY = `version: 2
budgets:
  - { id: pay-budget, agent: "*", tool: pay, arg: amount, max: 100, window: 1h, over: deny }
rules:
  - { match: "*", decision: allow }
`;

const allow: Decision = { decision: 'allow', rule: 'r', reason: 'ok', policySha256: 'x' };
const review: Decision = { ...allow, decision: 'review', reason: 'a person looks' };
const pay = (amount: unknown, n = 0) => ({
  agent: 'bot',
  server: 's',
  tool: 'pay',
  args: { amount },
  correlationId: `c${n}`,
});

const children: ChildProcess[] = [];
const opened: { close(): void }[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
  for (const o of opened.splice(0)) o.close();
});

function limitsOn(dataDir: string, yaml = POLICY, now = testClock().now): Limits {
  const policy = policyFrom(yaml);
  const limits = Limits.open({ dataDir, policy: () => policy, now });
  opened.push(limits);
  return limits;
}

describe('booking and giving back', () => {
  it('books an allowed call at admission; end(false) gives back its count, slot and amount', () => {
    const dir = tempDir().dir;
    const limits = limitsOn(dir);
    const first = limits.admit(pay(60), allow);
    expect(first.decision.decision).toBe('allow');
    expect(first.record).toMatchObject({ budgets: [{ id: 'pay-budget', used: 0, amount: 60, max: 100 }] });
    // In flight: the slot is taken.
    expect(limits.admit(pay(1, 1), allow).decision.reason).toContain('concurrency limit one-pay');
    first.end(false);
    first.end(true); // idempotent: the first end counts
    expect(limits.usage()).toEqual([]);
    const again = limits.admit(pay(60, 2), allow);
    expect(again.decision.decision).toBe('allow');
    again.end(true);
    expect(limits.usage()).toEqual([
      { budget: 'pay-budget', agent: 'bot', tool: 'pay', used: 60, max: 100, window_ms: 3_600_000 },
    ]);
    // The rate counted only the call that ran: one more fits, then the third is refused.
    const second = limits.admit(pay(10, 3), allow);
    second.end(true);
    expect(limits.admit(pay(10, 4), allow).decision.reason).toContain(
      'rate limit pay-rate: 2 calls per minute',
    );
  });

  it('books a reviewed call only at release, and refuses it there when a deny budget is spent meanwhile', () => {
    const clock = testClock();
    const limits = limitsOn(tempDir().dir, POLICY, clock.now);
    const held = limits.admit(pay(70), review);
    expect(held.decision.decision).toBe('review');
    expect(limits.usage()).toEqual([]);
    const other = limits.admit(pay(40, 1), allow);
    other.end(true);
    expect(held.release()).toContain('budget pay-budget: agent bot has used 40 of 100 in the last 1h');
    held.end(false);
    expect(limits.usage().map((u) => u.used)).toEqual([40]);

    // The rate window moves on (the budget's does not): only the slot can refuse the next one.
    clock.advance(60_000);
    const fits = limits.admit(pay(60, 2), review);
    expect(fits.release()).toBeUndefined();
    expect(limits.usage().map((u) => u.used)).toEqual([100]);
    // While it runs, its concurrency slot is taken.
    expect(limits.admit(pay(0, 3), allow).decision.reason).toContain('concurrency limit one-pay');
    fits.end(true);
    expect(limits.usage().map((u) => u.used)).toEqual([100]);
  });

  it('a refused release books nothing; an approved call that never ran gives back', () => {
    const limits = limitsOn(tempDir().dir);
    const a = limits.admit(pay(50), review);
    expect(a.release()).toBeUndefined();
    a.end(false);
    expect(limits.usage()).toEqual([]);
  });
});

describe('a ledger that fails', () => {
  it('throws a LedgerError (the gate denies), and an unbudgeted call still passes', () => {
    const limits = limitsOn(tempDir().dir);
    limits.ledger.close();
    let thrown: unknown;
    try {
      limits.admit(pay(1), allow);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(LedgerError);
    expect((thrown as LedgerError).code).toBe('BUDGET_LEDGER_FAILED');
    expect(limits.admit({ ...pay(1), tool: 'other' }, allow).decision.decision).toBe('allow');
  });

  it('refuses a ledger written by a newer Portcullis', () => {
    const dir = tempDir().dir;
    const ledger = BudgetLedger.open(dir);
    ledger.close();
    const db = new Database(path.join(dir, 'governance.db'));
    db.prepare("UPDATE schema_versions SET version = 99 WHERE module = 'budgets'").run();
    db.close();
    expect(() => BudgetLedger.open(dir)).toThrow(LedgerError);
  });
});

describe('two processes on one data dir', () => {
  it('cannot overspend: four processes racing for a budget of 100 book exactly 100', async () => {
    const dir = tempDir().dir;
    const limits = limitsOn(dir, BUDGET_ONLY, Date.now);
    const workers = Array.from({ length: 4 }, () => {
      const child = fork(builtFile('tests/limits/fixtures/spend-worker.ts'), [dir, BUDGET_ONLY], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      return child;
    });
    const next = (child: ChildProcess, type: string) =>
      new Promise<Record<string, number>>((resolve) => {
        const on = (m: { type: string } & Record<string, number>) => {
          if (m.type !== type) return;
          child.off('message', on);
          resolve(m);
        };
        child.on('message', on);
      });
    await Promise.all(workers.map((w) => next(w, 'ready')));
    const results = workers.map((w) => next(w, 'spent'));
    const startAt = Date.now() + 300;
    for (const w of workers) w.send({ type: 'spend', calls: 40, startAt });
    const spent = await Promise.all(results);
    expect(spent.reduce((sum, s) => sum + (s.spent ?? 0), 0)).toBe(100);
    expect(spent.reduce((sum, s) => sum + (s.refused ?? 0), 0)).toBe(60);
    // More than one process won some: they really raced.
    expect(spent.filter((s) => (s.spent ?? 0) > 0).length).toBeGreaterThan(1);
    expect(limits.usage().map((u) => u.used)).toEqual([100]);
    for (const w of workers) w.send({ type: 'exit' });
  });
});
