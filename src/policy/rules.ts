// A rule compiled once from its YAML form, and how one rule judges one call.

import picomatch from 'picomatch';
import { readAmount } from './amount.js';
import { normalizeFilePath } from './file-paths.js';
import { asList, compileGlobs, type Matcher } from './glob.js';
import { jsonEqual } from './json.js';
import { compilePathGlobs, looksLikePathGlob, type PathMatcher, type PathMode } from './path-globs.js';
import { ABSENT, type ArgPath, parsePath, readEach, readOne } from './paths.js';
import type { ArgConditionDoc, RuleDoc } from './schema.js';
import { shellHazardIn } from './shell.js';
import { type DecisionKind, TRUST_LEVELS, type Trust } from './types.js';

interface CompiledArgCondition {
  path: ArgPath;
  doc: ArgConditionDoc;
  glob?: (value: string) => boolean;
  /** path_glob, and a plain glob written like a path: each must match the normalised path. */
  paths?: { all: PathMatcher[]; mode: PathMode };
  numeric: boolean;
}

interface CompiledCap {
  path: ArgPath;
  max: number;
  over: 'review' | 'deny';
  integer: boolean;
}

export interface CompiledRule {
  id: string;
  index: number;
  decision: DecisionKind;
  reason: string;
  globs: string[];
  tool: Matcher;
  server?: Matcher;
  agent?: Matcher;
  trustAtLeast?: number;
  trustBelow?: number;
  ops?: ReadonlySet<string>;
  conditions: CompiledArgCondition[];
  cap?: CompiledCap;
  /** True when the arguments can change whether the rule matches (ops, args). */
  argDependent: boolean;
}

/** The identity side of a call, normalised once per evaluation. */
export interface Subject {
  tool: string;
  server: string | undefined;
  agent: string | undefined;
  trust: Trust | undefined;
}

export type RuleVerdict =
  | { matched: false; detail: string }
  | { matched: true; decision: DecisionKind; reason: string; detail: string; capped?: true };

const STRICTNESS: Record<DecisionKind, number> = { allow: 0, review: 1, deny: 2 };
const NUMERIC = ['lt', 'lte', 'gt', 'gte'] as const;

export function stricter(a: DecisionKind, b: DecisionKind): DecisionKind {
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

export function trustRank(trust: Trust): number {
  return TRUST_LEVELS.indexOf(trust);
}

/** Compiles a validated rule. Paths were checked by validation; a bad one here is a programming error. */
export function compileRule(doc: RuleDoc, index: number, id: string): CompiledRule {
  const mustPath = (text: string): ArgPath => {
    const path = parsePath(text);
    if (typeof path === 'string') throw new Error(path);
    return path;
  };
  // Deny and review rules must catch every spelling that may name a path; allow rules only sure ones.
  const mode: PathMode = doc.decision === 'allow' ? 'sure' : 'may';
  const conditions = Object.entries(doc.args ?? {}).map(([text, cond]): CompiledArgCondition => {
    const rawGlob = cond.glob !== undefined && !looksLikePathGlob(cond.glob) ? cond.glob : undefined;
    // Like every operator in one condition, glob and path_glob must both hold.
    const pathGlobs = [
      ...(cond.path_glob === undefined ? [] : [asList(cond.path_glob)]),
      ...(cond.glob !== undefined && rawGlob === undefined ? [[cond.glob]] : []),
    ];
    return {
      path: mustPath(text),
      doc: cond,
      numeric: NUMERIC.some((op) => cond[op] !== undefined),
      ...(rawGlob === undefined
        ? {}
        : { glob: picomatch(rawGlob, { dot: true, nonegate: true, noextglob: true }) }),
      ...(pathGlobs.length === 0
        ? {}
        : { paths: { all: pathGlobs.map((globs) => compilePathGlobs(globs, mode)), mode } }),
    };
  });
  const rule: CompiledRule = {
    id,
    index,
    decision: doc.decision,
    reason: doc.reason ?? `${doc.decision} by rule ${id}`,
    globs: asList(doc.match),
    tool: compileGlobs(asList(doc.match), true),
    conditions,
    argDependent: doc.ops !== undefined || conditions.length > 0,
  };
  if (doc.server !== undefined) rule.server = compileGlobs(asList(doc.server), false);
  if (doc.agent !== undefined) rule.agent = compileGlobs(asList(doc.agent), false);
  if (doc.trust_at_least !== undefined) rule.trustAtLeast = trustRank(doc.trust_at_least);
  if (doc.trust_below !== undefined) rule.trustBelow = trustRank(doc.trust_below);
  if (doc.ops !== undefined) rule.ops = new Set(doc.ops);
  if (doc.cap !== undefined) {
    rule.cap = {
      path: mustPath(doc.cap.arg),
      max: doc.cap.max,
      over: doc.cap.over ?? 'review',
      integer: false,
    };
  } else if (doc.cap_cents !== undefined) {
    rule.cap = { path: mustPath('amount_cents'), max: doc.cap_cents, over: 'review', integer: true };
  }
  return rule;
}

/** Whether the identity conditions hold (everything but the arguments); a string says why not. */
export function identityMismatch(rule: CompiledRule, s: Subject): string | null {
  if (!rule.tool(s.tool)) return `tool ${s.tool} does not match ${rule.globs.join(', ')}`;
  if (rule.server && (s.server === undefined || !rule.server(s.server)))
    return `server ${s.server ?? '(none)'} does not match`;
  if (rule.agent && (s.agent === undefined || !rule.agent(s.agent)))
    return `agent ${s.agent ?? '(none)'} does not match`;
  // An agent of unknown trust is treated as less trusted than every level.
  const rank = s.trust === undefined ? -1 : trustRank(s.trust);
  if (rule.trustAtLeast !== undefined && rank < rule.trustAtLeast) {
    return `trust ${s.trust ?? 'unknown'} is below ${TRUST_LEVELS[rule.trustAtLeast]}`;
  }
  if (rule.trustBelow !== undefined && rank >= rule.trustBelow) {
    return `trust ${s.trust ?? 'unknown'} is not below ${TRUST_LEVELS[rule.trustBelow]}`;
  }
  return null;
}

type CondResult = true | false | { unreadable: string };

function numberReadable(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER;
}

/** `..` segments let a path escape a glob such as /srv/data/** while still matching it. */
function hasDotDotSegment(value: string): boolean {
  return value.split(/[\\/]/).includes('..') || value.includes('\0');
}

/** One path value against a path condition; `name` labels it in the reason. */
function checkPathValue(c: CompiledArgCondition, value: unknown, name: string): CondResult {
  const read = normalizeFilePath(value);
  if (!read.ok) return { unreadable: `${name} ${read.problem}` };
  return (c.paths as { all: PathMatcher[] }).all.every((match) => match(read));
}

/**
 * A path condition on a list (`paths[*]`): in a deny or review rule it holds when ANY element matches,
 * in an allow rule when EVERY element matches and there is at least one. An element that is not a
 * path makes the condition unreadable unless the answer is already known without it.
 */
function checkPathList(c: CompiledArgCondition, args: unknown): CondResult {
  const read = readEach(args, c.path);
  if (read === ABSENT) return false;
  if ('broken' in read) return { unreadable: read.broken };
  const mode = c.paths?.mode;
  let unreadable: CondResult | null = null;
  for (const [i, value] of read.values.entries()) {
    const result = checkPathValue(c, value, `${c.path.text} element ${i}`);
    if (result === true && mode === 'may') return true;
    if (result === false && mode === 'sure') return false;
    if (result !== true && result !== false) unreadable ??= result;
  }
  if (unreadable) return unreadable;
  return mode === 'sure' && read.values.length > 0;
}

function checkCondition(c: CompiledArgCondition, args: unknown): CondResult {
  if (c.path.many) return checkPathList(c, args);
  const value = readOne(args, c.path);
  const { doc } = c;
  if (value === ABSENT) return doc.present === false && Object.keys(doc).length === 1;
  if (doc.present === false) return false;
  if (doc.eq !== undefined && !jsonEqual(value, doc.eq)) return false;
  if (doc.ne !== undefined && jsonEqual(value, doc.ne)) return false;
  if (doc.in !== undefined && !doc.in.some((v) => jsonEqual(value, v))) return false;
  if (doc.not_in?.some((v) => jsonEqual(value, v))) return false;
  if (c.glob) {
    if (typeof value !== 'string') return false;
    if (hasDotDotSegment(value)) return { unreadable: `${c.path.text} contains a ".." segment` };
    if (!c.glob(value)) return false;
  }
  if (c.paths) {
    const result = checkPathValue(c, value, c.path.text);
    if (result !== true) return result;
  }
  if (doc.shell !== undefined) {
    const found = shellHazardIn(value, c.path.text);
    if (found !== null && 'tooDeep' in found) return { unreadable: found.tooDeep };
    if ((found !== null) !== (doc.shell === 'unsafe')) return false;
  }
  if (c.numeric) {
    if (!numberReadable(value)) return { unreadable: `${c.path.text} is not a finite JSON number` };
    if (doc.lt !== undefined && !(value < doc.lt)) return false;
    if (doc.lte !== undefined && !(value <= doc.lte)) return false;
    if (doc.gt !== undefined && !(value > doc.gt)) return false;
    if (doc.gte !== undefined && !(value >= doc.gte)) return false;
  }
  return true;
}

/** Judges the argument side of a rule whose identity conditions hold. */
export function judgeArguments(rule: CompiledRule, args: unknown): RuleVerdict {
  if (rule.ops) {
    const op = readOne(args, { text: 'op', segments: [{ key: 'op' }], many: false });
    if (typeof op !== 'string' || !rule.ops.has(op)) {
      return {
        matched: false,
        detail: `op ${op === ABSENT ? '(none)' : JSON.stringify(op)} is not one of ${[...rule.ops].join(', ')}`,
      };
    }
  }
  let unreadable: string | null = null;
  for (const c of rule.conditions) {
    const result = checkCondition(c, args);
    if (result === false)
      return { matched: false, detail: `argument ${c.path.text} does not satisfy its condition` };
    if (result !== true) unreadable ??= result.unreadable;
  }
  // Fail closed: an argument the rule cannot read denies the call rather than skipping the rule.
  if (unreadable !== null) {
    return {
      matched: true,
      decision: 'deny',
      reason: `unreadable argument: ${unreadable}`,
      detail: unreadable,
    };
  }
  if (!rule.cap)
    return { matched: true, decision: rule.decision, reason: rule.reason, detail: 'all conditions hold' };
  if (rule.decision === 'deny')
    return { matched: true, decision: 'deny', reason: rule.reason, detail: 'deny rule' };
  const cap = rule.cap;
  const read = readAmount(args, cap.path, cap.integer);
  if (!read.ok) {
    return {
      matched: true,
      decision: 'deny',
      reason: `unreadable amount: ${read.problem}`,
      detail: read.problem,
    };
  }
  if (read.amount <= cap.max) {
    return {
      matched: true,
      decision: rule.decision,
      reason: rule.reason,
      detail: `${cap.path.text} ${read.amount} <= cap ${cap.max}`,
    };
  }
  const over = `${cap.path.text} ${read.amount} is over the cap of ${cap.max}`;
  return {
    matched: true,
    decision: stricter(rule.decision, cap.over),
    reason: `${over} (${rule.reason})`,
    detail: over,
    capped: true,
  };
}
