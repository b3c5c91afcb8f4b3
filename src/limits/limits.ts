// The LimitsPart the Governance composes: asks the pure judgement of src/policy/limits.ts with the
// state kept here (rate windows and calls in flight in memory, budgets in the ledger), and books.

import type {
  Admission,
  AppliedLimits,
  BudgetUsage,
  CompiledPolicy,
  Decision,
  GovernedCall,
  LimitState,
  LimitsPart,
} from './deps.js';
import { judgeLimits } from './deps.js';
import { BudgetLedger } from './ledger.js';
import { InFlight, RateWindows } from './windows.js';

export interface LimitsOptions {
  /** The policy in force: a reload applies to the next call (and to a held call's release). */
  policy: () => CompiledPolicy;
  ledger: BudgetLedger;
  now?: (() => number) | undefined;
  log?: ((line: string) => void) | undefined;
}

/** What one admission booked, to give back when its call never ran. */
interface Booked {
  rates: { key: string; at: number }[];
  slots: string[];
  ledger: number[];
}

const NOTHING: Booked = { rates: [], slots: [], ledger: [] };

export class Limits implements LimitsPart {
  private readonly options: LimitsOptions;
  private readonly now: () => number;
  private readonly rates = new RateWindows();
  private readonly inFlight = new InFlight();

  constructor(options: LimitsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Opens the ledger of `dataDir` (governance.db) and the limits over it. */
  static open(options: Omit<LimitsOptions, 'ledger'> & { dataDir: string }): Limits {
    return new Limits({ ...options, ledger: BudgetLedger.open(options.dataDir) });
  }

  get ledger(): BudgetLedger {
    return this.options.ledger;
  }

  admit(call: GovernedCall, decision: Decision): Admission {
    const first = this.judge(call, decision, 'admit');
    let booked: Booked | undefined = first.booked;
    let ended = false;
    const judgement = first.judgement;
    return {
      decision: judgement.decision,
      ...(judgement.breach !== undefined && { breach: judgement.breach }),
      ...(Object.keys(judgement.record).length > 0 && { record: judgement.record }),
      release: () => {
        if (ended) return 'the call is over';
        if (booked !== undefined) return undefined;
        const second = this.judge(call, judgement.decision, 'release');
        if (second.judgement.decision.decision === 'deny') return second.judgement.decision.reason;
        booked = second.booked ?? NOTHING;
        return undefined;
      },
      end: (ran) => {
        if (ended) return;
        ended = true;
        if (booked !== undefined) this.giveBack(booked, ran);
      },
    };
  }

  /** Every budget's use per agent now, for the metrics and the compliance page. */
  usage(): BudgetUsage[] {
    const now = this.now();
    return this.options.policy().limits.budgets.flatMap((budget) =>
      this.ledger.usage(budget.id, budget.windowMs, now).map((row) => ({
        budget: budget.id,
        agent: row.agent,
        tool: budget.tools,
        used: row.used,
        max: budget.max,
        window_ms: budget.windowMs,
      })),
    );
  }

  close(): void {
    this.ledger.close();
  }

  /** The judgement with the state now; books what it says to (budgets in the same transaction as their reads). */
  private judge(call: GovernedCall, decision: Decision, phase: 'admit' | 'release') {
    const applied = this.options.policy().limits.applicable(call);
    const now = this.now();
    const key = (id: string) => JSON.stringify([id, call.agent]);
    const memory = (): Omit<LimitState, 'budgets'> => ({
      rates: new Map(applied.rates.map((l) => [l.id, this.rates.state(key(l.id), l.windowMs, now)])),
      inFlight: new Map(applied.concurrency.map((l) => [l.id, this.inFlight.count(key(l.id))])),
    });
    const subject = { agent: call.agent, args: call.args };
    if (applied.budgets.length === 0) {
      const judgement = judgeLimits(applied, subject, { ...memory(), budgets: new Map() }, decision, phase);
      return { judgement, booked: judgement.book ? this.bookMemory(applied, key, now) : undefined };
    }
    const longest = Math.max(...applied.budgets.map((b) => b.windowMs));
    const { result: judgement, ids } = this.ledger.checkAndBook(
      () => {
        const budgets = new Map(
          applied.budgets.map((b) => [b.id, this.ledger.used(b.id, call.agent, b.windowMs, now)]),
        );
        const judgement = judgeLimits(applied, subject, { ...memory(), budgets }, decision, phase);
        const book = judgement.book
          ? judgement.amounts.map((a) => ({
              budget: a.budget,
              agent: call.agent,
              server: call.server,
              tool: call.tool,
              amount: a.amount,
              correlationId: call.correlationId,
            }))
          : [];
        return { result: judgement, book };
      },
      now,
      longest,
    );
    if (!judgement.book) return { judgement, booked: undefined };
    return { judgement, booked: { ...this.bookMemory(applied, key, now), ledger: ids } };
  }

  private bookMemory(applied: AppliedLimits, key: (id: string) => string, now: number): Booked {
    for (const l of applied.rates) this.rates.book(key(l.id), l.max, now);
    for (const l of applied.concurrency) this.inFlight.take(key(l.id));
    return {
      rates: applied.rates.map((l) => ({ key: key(l.id), at: now })),
      slots: applied.concurrency.map((l) => key(l.id)),
      ledger: [],
    };
  }

  /** The call is over: its slots free; when it never ran, its counts and amounts are given back. */
  private giveBack(booked: Booked, ran: boolean): void {
    for (const slot of booked.slots) this.inFlight.free(slot);
    if (ran) return;
    for (const r of booked.rates) this.rates.unbook(r.key, r.at);
    try {
      this.ledger.unbook(booked.ledger);
    } catch (error) {
      // Kept booked: the budget counts a call that did not run, which errs on the closed side.
      this.options.log?.(`budget ledger: giving back a booking failed: ${String(error)}`);
    }
  }
}
