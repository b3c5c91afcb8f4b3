// Turns a validated version 2 document into a CompiledPolicy: rules indexed by the literal prefix of their tool glob.
import { LRUCache } from 'lru-cache';
import { type AccessDefaults, accessDecisions, asResourceRule, ruleKind } from './access.js';
import { containmentProblem, filesystemDirectories, normalRoot, rootProblem } from './containment.js';
import { durationMs } from './duration.js';
import { asList, literalPrefix } from './glob.js';
import { compileLimits } from './limits.js';
import {
  type CompiledRule,
  compileRule,
  identityMismatch,
  judgeArguments,
  type RuleVerdict,
  type Subject,
} from './rules.js';
import type { PolicyV2Doc, RuleDoc } from './schema.js';
import type {
  AgentConfig,
  ApprovalSettings,
  Call,
  CompiledPolicy,
  Decision,
  DecisionKind,
  FlowSettings,
  IncidentSettings,
  InputSchemaSettings,
  NotificationSettings,
  PinSettings,
  PolicyPin,
  PolicyTestCase,
  ResultSettings,
  ReviewSettings,
  SessionSettings,
  SuspendSetting,
  TraceStep,
} from './types.js';

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const CACHE_LIMIT = 4096;

export const DEFAULT_APPROVAL = {
  timeoutMs: 300_000,
  maxHoldMs: 50_000,
  retryWindowMs: 600_000,
  // A reviewer can read about this many of one agent's calls; beyond it a flood would bury the others.
  maxPendingPerAgent: 20,
  approveIn: 'ui',
  grantMaxMs: 24 * 3_600_000,
} as const;
/**
 * Each HTTP session starts its own stdio upstream children (~65 MB each for a Node server): these
 * bounds keep a 2-core, 24 GB machine alive under a session flood while serving dozens of agents.
 */
export const DEFAULT_SESSIONS = { max: 64, maxPerAgent: 16, idleTimeoutMs: 30 * 60_000 } as const;
/** How long a dropped HTTP stream can be resumed: a few of the client's reconnection attempts. */
export const DEFAULT_RESUME_WINDOW_MS = 30_000;

/**
 * Credentials in results are masked by default: the client (often a model that repeats what it reads
 * into chats, files and other tools) never sees them, and the result still arrives; blocking by
 * default would break every tool that reads a config file or a log. `block` and `allow` are chosen.
 */
export const DEFAULT_RESULTS: ResultSettings = { secrets: 'redact' };

/** Settings from a `results:` block, each key falling back to `fallback`'s. */
/** A cap's breach marks the decision, so the proxy can tell the cap's review from the rule's own. */
function capped(verdict: RuleVerdict): { capped?: true } {
  return verdict.matched && verdict.capped === true ? { capped: true } : {};
}

function resultSettings(doc: PolicyV2Doc['results'], fallback: ResultSettings): ResultSettings {
  return { secrets: doc?.secrets ?? fallback.secrets };
}

/**
 * Half an hour covers an agent's task that reads a secret and then uses it; a review (not a deny) by
 * default because carrying a credential to the tool that needs it is often the point, and a person
 * can tell. Eight characters, as for the secret scanner: shorter strings are words, not secrets.
 */
export const DEFAULT_FLOW: FlowSettings = { windowMs: 30 * 60_000, action: 'review', minLength: 8 };

/**
 * A breach is an agent pressing on a limit (noticed, not alarming alone); an audit-integrity failure
 * means calls go unrecorded or the trail was damaged, which a security lead looks at now.
 */
export const DEFAULT_INCIDENTS: IncidentSettings = { breaches: 'medium', audit: 'high' };

function suspendSettings(doc: PolicyV2Doc['suspend']): SuspendSetting[] {
  if (doc === undefined) return [];
  return (Array.isArray(doc) ? doc : [doc]).map((s) => ({
    after: s.after,
    severity: s.severity ?? 'high',
    withinMs: durationMs(s.within),
  }));
}

function flowSettings(doc: PolicyV2Doc['flow'] = {}): FlowSettings {
  return {
    windowMs: doc.window === undefined ? DEFAULT_FLOW.windowMs : durationMs(doc.window),
    action: doc.action ?? DEFAULT_FLOW.action,
    minLength: doc.min_length ?? DEFAULT_FLOW.minLength,
  };
}

/** Five seconds: a receiver that takes longer is treated as down, and the delivery is retried. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5_000;

function notificationSettings(doc: PolicyV2Doc['notifications'] = {}): NotificationSettings {
  return {
    webhooks: (doc.webhooks ?? []).map((w) => ({
      id: w.id,
      url: w.url,
      events: [...w.events],
      secret: w.secret,
      format: w.format ?? 'slack',
      timeoutMs: w.timeout === undefined ? DEFAULT_WEBHOOK_TIMEOUT_MS : durationMs(w.timeout),
    })),
    uiUrl: doc.ui_url,
  };
}

/**
 * Closed by default: a model is shown the schema, so a well-behaved agent's calls match it, and a
 * refused call is a tool error the agent can correct. Only an uncompilable schema (the server's
 * fault) is skipped, so that an exotic schema does not make its tool unusable.
 */
export const DEFAULT_INPUT_SCHEMA: InputSchemaSettings = {
  check: true,
  onMismatch: 'deny',
  extraProperties: 'deny',
  onInvalidSchema: 'skip',
};

/** The id a rule without one gets: its 1-based position. */
export function generatedRuleId(index: number): string {
  return `rule-${index + 1}`;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  rules: number[];
}

/**
 * Candidate rules for a tool name: every rule whose glob's literal prefix is a prefix of the name.
 * Hand-written: a 30-line trie over literal prefixes, which no glob library offers.
 */
class RuleIndex {
  private readonly root: TrieNode = { next: new Map(), rules: [] };

  constructor(rules: readonly CompiledRule[]) {
    for (const rule of rules) {
      for (const glob of rule.globs) this.insert(literalPrefix(glob).toLowerCase(), rule.index);
    }
  }

  private insert(prefix: string, index: number): void {
    let node = this.root;
    for (const ch of prefix) {
      let child = node.next.get(ch);
      if (!child) {
        child = { next: new Map(), rules: [] };
        node.next.set(ch, child);
      }
      node = child;
    }
    if (node.rules.at(-1) !== index) node.rules.push(index);
  }

  candidates(tool: string): number[] {
    const found: number[] = [...this.root.rules];
    let node: TrieNode | undefined = this.root;
    for (const ch of tool.toLowerCase()) {
      node = node.next.get(ch);
      if (!node) break;
      found.push(...node.rules);
    }
    return [...new Set(found)].sort((a, b) => a - b);
  }
}

/** Turns a validated version 2 document into the policy the proxy evaluates calls against. */
export function compilePolicy(doc: PolicyV2Doc, sha256: string): CompiledPolicy {
  const compiled = doc.rules.map((r, i) => compileRule(r, i, r.id ?? generatedRuleId(i)));
  // Rule ids and positions count every rule; each kind is decided by its own rules only.
  const ofKind = (kind: string) => compiled.filter((_, i) => ruleKind(doc.rules[i] as RuleDoc) === kind);
  const rules = ofKind('tool');
  const accessDefaults: AccessDefaults = {
    resource: doc.default_resources ?? 'allow',
    prompt: doc.default_prompts ?? 'allow',
  };
  const agents = agentConfigs(doc.agents);
  const agentsByKey = new Map(agents.filter((a) => a.key_sha256).map((a) => [a.key_sha256 as string, a]));
  const defaultDecision = doc.default ?? 'deny';
  const results = resultSettings(doc.results, DEFAULT_RESULTS);
  // By the id of every rule (of any kind): `rules` holds the tool rules only, so its positions differ.
  const resultsByRule = new Map(
    doc.rules.flatMap((r, i) =>
      r.results === undefined
        ? []
        : [[compiled[i]?.id as string, resultSettings(r.results, results)] as const],
    ),
  );
  // Only tool rules: resource and prompt results are not tracked (load.ts refuses the key there).
  const sensitiveRules = new Set(
    compiled
      .filter((_rule, i) => doc.rules[i]?.sensitive === true && ruleKind(doc.rules[i] as RuleDoc) === 'tool')
      .map((r) => r.id),
  );
  // Only tool rules: resource and prompt denials open no incident (load.ts refuses the key there).
  const severities = new Map(
    compiled.flatMap((r, i) => {
      const severity = doc.rules[i]?.severity;
      return severity === undefined || ruleKind(doc.rules[i] as RuleDoc) !== 'tool'
        ? []
        : [[r.id, severity] as const];
    }),
  );
  const approval = approvalSettings(doc.approval);
  const reviews = reviewSettings(doc, compiled, approval);
  const roots = rootsByServer(doc);
  return {
    sha256,
    defaultDecision,
    servers: doc.servers ?? {},
    agents,
    defaultTrust: doc.default_trust ?? 'low',
    approval,
    naming: { separator: doc.naming?.separator ?? '__', prefix: doc.naming?.prefix ?? 'auto' },
    sessions: sessionSettings(doc.sessions),
    pins: pinSettings(doc, compiled),
    audit: { redact: [...(doc.audit?.redact ?? [])] },
    results,
    resultsFor: (rule) => (rule === null ? undefined : resultsByRule.get(rule)) ?? results,
    reviewFor: (rule) => (rule === null ? undefined : reviews.byRule.get(rule)) ?? reviews.fallback,
    flow: flowSettings(doc.flow),
    notifications: notificationSettings(doc.notifications),
    sensitive: (rule) => rule !== null && sensitiveRules.has(rule),
    severityOf: (rule) => (rule === null ? undefined : severities.get(rule)),
    suspend: suspendSettings(doc.suspend),
    incidents: {
      breaches: doc.incidents?.breaches ?? DEFAULT_INCIDENTS.breaches,
      audit: doc.incidents?.audit ?? DEFAULT_INCIDENTS.audit,
    },
    inputSchema: inputSchemaSettings(doc.input_schema),
    tests: testCases(doc.tests),
    ruleIds: compiled.map((r) => r.id),
    accessDefaults,
    ...decisions({ rules, agents, defaultDecision, sha256 }),
    ...accessDecisions({
      rules: { resource: ofKind('resource').map(asResourceRule), prompt: ofKind('prompt') },
      defaults: accessDefaults,
      trustOf: (agent) => agents.find((a) => a.id === agent)?.trust,
      sha256,
    }),
    agentByKeySha256: (hex) => agentsByKey.get(hex.toLowerCase()),
    roots,
    limits: compileLimits(doc.limits, doc.budgets),
    containment(call, fallback) {
      const granted = (call.server === undefined ? undefined : roots[call.server]) ?? fallback;
      return granted === undefined ? null : containmentProblem(call.args, granted);
    },
  };
}

/** `pins:` with the definition hashes the policy pins itself (`pin:` on rules and servers). */
function pinSettings(doc: PolicyV2Doc, compiled: readonly CompiledRule[]): PinSettings {
  const byServer = new Map<string, Map<string, PolicyPin[]>>();
  const fromRules: { rule: CompiledRule; tool: string; pin: PolicyPin }[] = [];
  doc.rules.forEach((r, i) => {
    const rule = compiled[i];
    // load.ts refuses a pin on a rule that is not one exact tool name.
    if (r.pin === undefined || rule === undefined || ruleKind(r) !== 'tool') return;
    fromRules.push({
      rule,
      tool: (asList(r.match)[0] as string).toLowerCase(),
      pin: { sha256: r.pin, source: `rule ${rule.id}` },
    });
  });
  const add = (map: Map<string, PolicyPin[]>, tool: string, pin: PolicyPin): void => {
    map.set(tool, [...(map.get(tool) ?? []), pin]);
  };
  const policyPins = (server: string): ReadonlyMap<string, readonly PolicyPin[]> => {
    let pins = byServer.get(server);
    if (pins) return pins;
    pins = new Map();
    for (const [tool, sha256] of Object.entries(doc.servers?.[server]?.pin ?? {}))
      add(pins, tool.toLowerCase(), { sha256, source: `servers.${server}.pin` });
    for (const { rule, tool, pin } of fromRules)
      if (!rule.server || rule.server(server)) add(pins, tool, pin);
    // A handful of upstream names at most; each is computed once per policy.
    byServer.set(server, pins);
    return pins;
  };
  return {
    enabled: doc.pins?.enabled ?? true,
    newTools: doc.pins?.new_tools ?? 'allow',
    hiddenContent: doc.pins?.hidden_content ?? 'warn',
    policyPins,
  };
}

/** Each upstream's roots, normalised; load.ts refuses a server given roots in both places. */
function rootsByServer(doc: PolicyV2Doc): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = Object.create(null);
  const add = (name: string, list: readonly string[] | undefined): void => {
    if (list !== undefined) out[name] = list.map(normalRoot);
  };
  for (const [name, server] of Object.entries(doc.servers ?? {})) {
    // server-filesystem's own directories are its roots unless the policy names them. Only literal
    // absolute directories are known here; one with a `${VAR}`, `~` or a relative path is known only
    // once started, so then the proxy derives all of them from the started spec (proxy/command-roots.ts).
    const dirs =
      server.roots === undefined && 'command' in server
        ? filesystemDirectories(server.command, server.args)
        : null;
    const derived = dirs?.every((d) => rootProblem(d) === null) ? dirs : undefined;
    add(name, server.roots ?? (derived && derived.length > 0 ? derived : undefined));
  }
  for (const [name, list] of Object.entries(doc.roots ?? {})) add(name, list);
  return out;
}

function inputSchemaSettings(doc: PolicyV2Doc['input_schema'] = {}): InputSchemaSettings {
  return {
    check: doc.check ?? DEFAULT_INPUT_SCHEMA.check,
    onMismatch: doc.on_mismatch ?? DEFAULT_INPUT_SCHEMA.onMismatch,
    extraProperties: doc.extra_properties ?? DEFAULT_INPUT_SCHEMA.extraProperties,
    onInvalidSchema: doc.on_invalid_schema ?? DEFAULT_INPUT_SCHEMA.onInvalidSchema,
  };
}

function agentConfigs(docs: PolicyV2Doc['agents']): AgentConfig[] {
  return (docs ?? []).map((a) => ({
    id: a.id,
    trust: a.trust,
    ...(a.key_sha256 === undefined ? {} : { key_sha256: a.key_sha256.toLowerCase() }),
  }));
}

function approvalSettings(approval: PolicyV2Doc['approval'] = {}): ApprovalSettings {
  const ms = (value: string | number | undefined, fallback: number): number =>
    value === undefined ? fallback : durationMs(value);
  return {
    timeoutMs: ms(approval.timeout, DEFAULT_APPROVAL.timeoutMs),
    maxHoldMs: ms(approval.max_hold, DEFAULT_APPROVAL.maxHoldMs),
    retryWindowMs: ms(approval.retry_window, DEFAULT_APPROVAL.retryWindowMs),
    maxPendingPerAgent: approval.max_pending_per_agent ?? DEFAULT_APPROVAL.maxPendingPerAgent,
    approveIn: approval.approve_in ?? DEFAULT_APPROVAL.approveIn,
    grantMaxMs: ms(approval.grant_max, DEFAULT_APPROVAL.grantMaxMs),
  };
}

/**
 * Each rule's review settings by id. Only a rule that says `decision: review` takes grants: when an
 * allow rule's call is reviewed, a cap sent it there, and a grant must never widen past a cap.
 */
function reviewSettings(
  doc: PolicyV2Doc,
  compiled: readonly { id: string }[],
  approval: ApprovalSettings,
): { byRule: Map<string, ReviewSettings>; fallback: ReviewSettings } {
  const byRule = new Map<string, ReviewSettings>();
  doc.rules.forEach((rule, i) => {
    const id = compiled[i]?.id;
    if (id === undefined) return;
    const approvers = rule.approvers === 2 ? 2 : 1;
    byRule.set(id, {
      approvers,
      approveIn: approvers === 2 ? 'ui' : (rule.approve_in ?? approval.approveIn),
      grants: rule.decision === 'review' && approvers === 1 && rule.grants !== false,
    });
  });
  return { byRule, fallback: { approvers: 1, approveIn: approval.approveIn, grants: true } };
}

function sessionSettings(sessions: PolicyV2Doc['sessions'] = {}): SessionSettings {
  return {
    max: sessions.max ?? DEFAULT_SESSIONS.max,
    maxPerAgent: sessions.max_per_agent ?? DEFAULT_SESSIONS.maxPerAgent,
    idleTimeoutMs:
      sessions.idle_timeout === undefined
        ? DEFAULT_SESSIONS.idleTimeoutMs
        : durationMs(sessions.idle_timeout),
    resumeWindowMs:
      sessions.resume_window === undefined ? DEFAULT_RESUME_WINDOW_MS : durationMs(sessions.resume_window),
  };
}

function testCases(docs: PolicyV2Doc['tests']): PolicyTestCase[] {
  return (docs ?? []).map((t) => ({
    name: t.name,
    call: {
      // Validation gave a test exactly one of tool, resource and prompt.
      tool: t.call.tool ?? '',
      server: t.call.server,
      agent: t.call.agent,
      trust: t.call.trust,
      args: t.call.args,
    },
    expect: t.expect,
    ...(t.rule === undefined ? {} : { rule: t.rule }),
    ...testAccess(t.call),
  }));
}

function testAccess(call: NonNullable<PolicyV2Doc['tests']>[number]['call']): Partial<PolicyTestCase> {
  const who = { server: call.server, agent: call.agent, trust: call.trust };
  if (call.resource !== undefined) return { access: { kind: 'resource', name: call.resource, ...who } };
  if (call.prompt !== undefined) return { access: { kind: 'prompt', name: call.prompt, ...who } };
  return {};
}

interface DecisionInputs {
  rules: readonly CompiledRule[];
  agents: readonly AgentConfig[];
  defaultDecision: DecisionKind;
  sha256: string;
}

/** `evaluate` and `alwaysDenies` over the compiled rules, in file order; the first rule that matches decides. */
function decisions(inputs: DecisionInputs): Pick<CompiledPolicy, 'evaluate' | 'alwaysDenies'> {
  const { rules, defaultDecision, sha256 } = inputs;
  const applicable = applicableRules(rules);
  const trustById = new Map(inputs.agents.map((a) => [a.id, a.trust]));

  const subjectOf = (call: Omit<Call, 'args'>): Subject => ({
    tool: call.tool,
    server: call.server,
    agent: call.agent,
    trust: call.trust ?? (call.agent === undefined ? undefined : trustById.get(call.agent)),
  });
  const decide = (partial: Omit<Decision, 'policySha256'>): Decision => ({
    ...partial,
    policySha256: sha256,
  });
  const fallback = (trace?: TraceStep[]): Decision =>
    decide({
      decision: defaultDecision,
      rule: null,
      reason: `no rule matched; the policy default is ${defaultDecision}`,
      ...(trace ? { trace } : {}),
    });

  const firstMatch = (subject: Subject, args: unknown): Decision => {
    for (const rule of applicable(subject)) {
      const verdict = judgeArguments(rule, args);
      if (verdict.matched)
        return decide({
          decision: verdict.decision,
          rule: rule.id,
          reason: verdict.reason,
          ...capped(verdict),
        });
    }
    return fallback();
  };

  // Explaining walks every rule so the trace shows why each earlier rule did not decide.
  const explained = (subject: Subject, args: unknown): Decision => {
    const trace: TraceStep[] = [];
    for (const rule of rules) {
      const mismatch = identityMismatch(rule, subject);
      if (mismatch !== null) {
        trace.push({ rule: rule.id, matched: false, detail: mismatch });
        continue;
      }
      const verdict = judgeArguments(rule, args);
      trace.push({ rule: rule.id, matched: verdict.matched, detail: verdict.detail });
      if (verdict.matched)
        return decide({
          decision: verdict.decision,
          rule: rule.id,
          reason: verdict.reason,
          trace,
          ...capped(verdict),
        });
    }
    return fallback(trace);
  };

  return {
    evaluate(call, options) {
      const explain = options?.explain === true;
      if (typeof call.tool !== 'string' || !TOOL_NAME.test(call.tool)) {
        return decide({
          decision: 'deny',
          rule: null,
          reason: 'tool name is not 1-128 characters of A-Z a-z 0-9 _ . -',
          ...(explain ? { trace: [] } : {}),
        });
      }
      const subject = subjectOf(call);
      return explain ? explained(subject, call.args) : firstMatch(subject, call.args);
    },
    alwaysDenies(call) {
      if (!TOOL_NAME.test(call.tool)) return true;
      for (const rule of applicable(subjectOf(call))) {
        if (rule.decision !== 'deny') return false;
        // A deny rule that depends on the arguments lets other arguments reach later rules.
        if (!rule.argDependent) return true;
      }
      return defaultDecision === 'deny';
    },
  };
}

/**
 * Which rules hold for a caller depends only on tool, server, agent and trust, and an agent uses few
 * tools: a bounded cache of that list lets a decision check only the arguments.
 */
function applicableRules(rules: readonly CompiledRule[]): (subject: Subject) => readonly CompiledRule[] {
  const index = new RuleIndex(rules);
  const cache = new LRUCache<string, readonly CompiledRule[]>({ max: CACHE_LIMIT });
  // The index holds file positions; tool rules are a subset of the file's rules.
  const byIndex = new Map(rules.map((rule) => [rule.index, rule]));
  return (subject) => {
    const key = JSON.stringify([subject.tool.toLowerCase(), subject.server, subject.agent, subject.trust]);
    let found = cache.get(key);
    if (!found) {
      found = index
        .candidates(subject.tool)
        .map((i) => byIndex.get(i) as CompiledRule)
        .filter((rule) => identityMismatch(rule, subject) === null);
      cache.set(key, found);
    }
    return found;
  };
}
