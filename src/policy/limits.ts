// Rate limits, concurrency limits and spend budgets as pure decisions: which apply to a call, and
// whether it is over them, given the counts and sums the caller (src/limits) passes in.
import { readAmount } from './amount.js';
import { durationMs } from './duration.js';
import { asList, compileGlobs, type Matcher } from './glob.js';
import { type ArgPath, parsePath } from './paths.js';
import type { BudgetDoc, LimitDoc } from './schema.js';

/** The part of a decision limits read and change (types.ts imports this file, so not its Decision). */
interface DecisionLike {
  decision: 'allow' | 'deny' | 'review';
  reason: string;
}

export type OverAction = 'deny' | 'review';

interface Scope {
  id: string;
  agent: Matcher;
  tool: Matcher;
  server: Matcher;
}

export interface RateLimit extends Scope {
  kind: 'rate';
  /** Most calls counted in one window. */
  max: number;
  windowMs: number;
  /** The window as the policy says it (minute, 5m), for reasons. */
  per: string;
  over: OverAction;
}

export interface ConcurrencyLimit extends Scope {
  kind: 'concurrency';
  max: number;
}

export interface Budget extends Scope {
  kind: 'budget';
  path: ArgPath;
  max: number;
  windowMs: number;
  /** The window as the policy says it (24h), for reasons. */
  window: string;
  over: OverAction;
  unit: string | null;
  /** The budget's tool globs as written, or null when it names none (every tool). */
  tools: string | null;
}

/** The limits and budgets of one policy. */
export interface CompiledLimits {
  readonly rates: readonly RateLimit[];
  readonly concurrency: readonly ConcurrencyLimit[];
  readonly budgets: readonly Budget[];
  /** Those that apply to a call of `tool` on `server` by `agent`. */
  applicable(call: LimitSubject): AppliedLimits;
}

export interface LimitSubject {
  agent: string;
  server: string;
  tool: string;
}

export interface AppliedLimits {
  rates: RateLimit[];
  concurrency: ConcurrencyLimit[];
  budgets: Budget[];
}

/** A rate as the policy writes it ("1000/minute", "100/5m") in calls and milliseconds, or why not. */
export function parseRate(text: string): { max: number; windowMs: number; per: string } | string {
  const m = /^\s*(\d+)\s*\/\s*(.+?)\s*$/.exec(text);
  if (!m) return `rate "${text}" is not N/second, N/minute, N/hour, N/day or N/DURATION`;
  const max = Number(m[1]);
  const per = m[2] as string;
  const named: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
  let windowMs = named[per];
  if (windowMs === undefined) {
    try {
      windowMs = durationMs(per);
    } catch {
      return `rate "${text}": "${per}" is not second, minute, hour, day or a duration such as 5m`;
    }
  }
  if (!Number.isSafeInteger(max) || max < 1) return `rate "${text}": the number of calls must be at least 1`;
  if (windowMs < 1) return `rate "${text}": the window must be longer than 0`;
  return { max, windowMs, per };
}

/** The id a limit without one gets: its 1-based position. */
export function generatedLimitId(index: number): string {
  return `limit-${index + 1}`;
}

function scope(doc: { agent: string | string[]; tool?: string | string[]; server?: string | string[] }) {
  const every: Matcher = () => true;
  return {
    agent: compileGlobs(asList(doc.agent), false),
    tool: doc.tool === undefined ? every : compileGlobs(asList(doc.tool), true),
    server: doc.server === undefined ? every : compileGlobs(asList(doc.server), false),
  };
}

/** Compiles validated `limits:` and `budgets:` (load.ts has refused bad rates, paths and windows). */
export function compileLimits(
  limits: readonly LimitDoc[] = [],
  budgets: readonly BudgetDoc[] = [],
): CompiledLimits {
  const rates: RateLimit[] = [];
  const concurrency: ConcurrencyLimit[] = [];
  limits.forEach((doc, i) => {
    const id = doc.id ?? generatedLimitId(i);
    if (doc.rate !== undefined) {
      const rate = parseRate(doc.rate);
      if (typeof rate === 'string') throw new RangeError(rate);
      rates.push({ kind: 'rate', id, ...scope(doc), ...rate, over: doc.over ?? 'deny' });
    } else if (doc.concurrent !== undefined) {
      concurrency.push({ kind: 'concurrency', id, ...scope(doc), max: doc.concurrent });
    }
  });
  const compiledBudgets = budgets.map((doc): Budget => {
    const path = parsePath(doc.arg);
    if (typeof path === 'string') throw new RangeError(path);
    return {
      kind: 'budget',
      id: doc.id,
      ...scope(doc),
      path,
      max: doc.max,
      windowMs: durationMs(doc.window),
      window: typeof doc.window === 'number' ? `${doc.window}s` : doc.window.trim(),
      over: doc.over ?? 'review',
      unit: doc.unit ?? null,
      tools: doc.tool === undefined ? null : asList(doc.tool).join(', '),
    };
  });
  const applies = (call: LimitSubject) => (limit: Scope) =>
    limit.agent(call.agent) && limit.tool(call.tool) && limit.server(call.server);
  return {
    rates,
    concurrency,
    budgets: compiledBudgets,
    applicable(call) {
      const ok = applies(call);
      return {
        rates: rates.filter(ok),
        concurrency: concurrency.filter(ok),
        budgets: compiledBudgets.filter(ok),
      };
    },
  };
}

/** What the edge knows right now, by limit or budget id, for one agent. */
export interface LimitState {
  /** Calls counted in each rate window, and in how many ms the oldest of them stops counting. */
  rates: ReadonlyMap<string, { used: number; oldestExpiresInMs: number }>;
  /** The agent's calls in flight under each concurrency limit. */
  inFlight: ReadonlyMap<string, number>;
  /** The sum booked against each budget in its window. */
  budgets: ReadonlyMap<string, number>;
}

/**
 * When the judgement is made: `admit` right after the policy (an allowed call is booked now; a
 * reviewed one is only looked at), `release` when an approved call is about to run (a limit or
 * budget with `over: review` was the review the person did; only those with `over: deny` and the
 * concurrency limits can refuse it now).
 */
export type LimitPhase = 'admit' | 'release';

export interface LimitBreach {
  kind: 'rate' | 'concurrency' | 'budget';
  id: string;
  reason: string;
}

export interface LimitJudgement<D extends DecisionLike = DecisionLike> {
  /** The decision after limits (never wider than the one passed in). */
  decision: D;
  /** Set when a limit or budget changed the decision's kind (at release: refused the call). */
  breach?: LimitBreach | undefined;
  /** True when the call is to be booked now (rates counted, a slot taken, amounts booked). */
  book: boolean;
  /** Each applicable budget's amount for this call (when readable). */
  amounts: { budget: string; amount: number }[];
  /** The numbers used, for the decision record (no arguments beyond the amounts). */
  record: Record<string, unknown>;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

function rateReason(limit: RateLimit, agent: string, retryInMs: number): string {
  return `rate limit ${limit.id}: ${limit.max} calls per ${limit.per} for agent ${agent}; retry in ${seconds(retryInMs)} s`;
}

function amountText(value: number, unit: string | null): string {
  return unit === null ? String(value) : `${value} ${unit}`;
}

function budgetReason(budget: Budget, agent: string, used: number, amount: number): string {
  return `budget ${budget.id}: agent ${agent} has used ${amountText(used, budget.unit)} of ${amountText(budget.max, budget.unit)} in the last ${budget.window}; this call's ${amountText(amount, budget.unit)} would make ${amountText(used + amount, budget.unit)} (amounts stop counting ${budget.window} after their call ran)`;
}

/** An over, kept until the judgement is made: deny wins over review, the first of each kind names it. */
interface Over {
  breach: LimitBreach;
  action: OverAction;
}

/**
 * Whether a call is within its limits and budgets, given their state now. Pure: the caller reads
 * the counts and sums, and books when `book` says so. An amount that cannot be read on a budgeted
 * call denies (as caps do), naming the argument.
 */
export function judgeLimits<D extends DecisionLike>(
  applied: AppliedLimits,
  call: { agent: string; args: unknown },
  state: LimitState,
  decision: D,
  phase: LimitPhase,
): LimitJudgement<D> {
  const amounts: { budget: string; amount: number }[] = [];
  const overs: Over[] = [];
  const budgetRecords: Record<string, unknown>[] = [];
  const limitRecords: Record<string, unknown>[] = [];
  // The same arrays, filled below: the record says what was used whether or not the call is over.
  const record: Record<string, unknown> = {};
  const note = (key: 'budgets' | 'limits', entry: Record<string, unknown>): void => {
    const list = key === 'budgets' ? budgetRecords : limitRecords;
    list.push(entry);
    record[key] = list;
  };
  const unchanged = (book: boolean): LimitJudgement<D> => ({ decision, book, amounts, record });
  if (decision.decision === 'deny') return unchanged(false);
  // At admission a reviewed call is only looked at: what is in flight and the rate are read at release.
  const live = phase === 'release' || decision.decision === 'allow';

  for (const budget of applied.budgets) {
    const read = readAmount(call.args, budget.path, budget.unit === 'cents');
    if (!read.ok) {
      const reason = `budget ${budget.id}: the amount cannot be read (${read.problem}), so the call is denied`;
      const breach: LimitBreach = { kind: 'budget', id: budget.id, reason };
      return { decision: { ...decision, decision: 'deny', reason }, breach, book: false, amounts, record };
    }
    amounts.push({ budget: budget.id, amount: read.amount });
    const used = state.budgets.get(budget.id) ?? 0;
    const entry = {
      id: budget.id,
      used,
      amount: read.amount,
      max: budget.max,
      window_s: budget.windowMs / 1000,
    };
    note('budgets', entry);
    if (used + read.amount > budget.max) {
      const reason = budgetReason(budget, call.agent, used, read.amount);
      overs.push({ breach: { kind: 'budget', id: budget.id, reason }, action: budget.over });
    }
  }
  if (live) {
    for (const limit of applied.rates) {
      const { used, oldestExpiresInMs } = state.rates.get(limit.id) ?? { used: 0, oldestExpiresInMs: 0 };
      const entry = { id: limit.id, kind: 'rate', used, max: limit.max, window_s: limit.windowMs / 1000 };
      note('limits', entry);
      if (used >= limit.max) {
        const reason = rateReason(limit, call.agent, oldestExpiresInMs);
        overs.push({ breach: { kind: 'rate', id: limit.id, reason }, action: limit.over });
      }
    }
    for (const limit of applied.concurrency) {
      const used = state.inFlight.get(limit.id) ?? 0;
      const entry = { id: limit.id, kind: 'concurrency', used, max: limit.max };
      note('limits', entry);
      if (used >= limit.max) {
        const reason = `concurrency limit ${limit.id}: agent ${call.agent} already has ${used} of ${limit.max} calls in flight; retry when one ends`;
        overs.push({ breach: { kind: 'concurrency', id: limit.id, reason }, action: 'deny' });
      }
    }
  }
  const denial = overs.find((o) => o.action === 'deny');
  if (denial) {
    const { reason } = denial.breach;
    return {
      decision: { ...decision, decision: 'deny', reason },
      breach: denial.breach,
      book: false,
      amounts,
      record,
    };
  }
  if (phase === 'release') return unchanged(true);
  const review = overs.find((o) => o.action === 'review');
  if (review === undefined) return unchanged(decision.decision === 'allow');
  const reason = review.breach.reason;
  // Already held for a person: the reviewer is told of the limit too; the kind does not change.
  if (decision.decision === 'review')
    return { ...unchanged(false), decision: { ...decision, reason: `${decision.reason}; ${reason}` } };
  return {
    decision: { ...decision, decision: 'review', reason },
    breach: review.breach,
    book: false,
    amounts,
    record,
  };
}
