// The values the policy engine exchanges with the rest of Portcullis: a call in, a decision out.
import type { CompiledLimits } from './limits.js';
import {
  FLOW_ACTIONS,
  INCIDENT_SEVERITIES,
  NOTIFICATION_EVENTS,
  RESULT_SECRET_ACTIONS,
  type ServerDoc,
  TRUST_LEVELS,
} from './schema.js';

// Defined beside the schema that validates them (so the schema imports nothing from here).
export { FLOW_ACTIONS, INCIDENT_SEVERITIES, NOTIFICATION_EVENTS, RESULT_SECRET_ACTIONS, TRUST_LEVELS };
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];
export type FlowAction = (typeof FLOW_ACTIONS)[number];
export type ResultSecretAction = (typeof RESULT_SECRET_ACTIONS)[number];
export type Trust = (typeof TRUST_LEVELS)[number];

export type DecisionKind = 'allow' | 'deny' | 'review';

/** One tools/call as the gate sees it: the tool name as the upstream lists it, never prefixed. */
export interface Call {
  tool: string;
  /** The upstream's name (from `servers:` or `--name`). */
  server?: string | undefined;
  /** The calling agent's id, when known. */
  agent?: string | undefined;
  /** The agent's trust; when absent it is looked up in the policy's `agents:` by id. */
  trust?: Trust | undefined;
  /** The call's `arguments`, as parsed JSON (anything: the engine trusts nothing about it). */
  args?: unknown;
}

/** What resource and prompt rules govern: a resource by its URI, a prompt by its name. */
export type AccessKind = 'resource' | 'prompt';

/** One resources/read, resources/subscribe or prompts/get as the gate sees it (names never prefixed). */
export interface Access {
  kind: AccessKind;
  /** The resource URI as the client sent it (normalised by the engine), or the prompt name. */
  name: string;
  server?: string | undefined;
  agent?: string | undefined;
  trust?: Trust | undefined;
}

/** A resource template (resources/templates/list) for one server and agent. */
export interface TemplateAccess {
  template: string;
  server?: string | undefined;
  agent?: string | undefined;
  trust?: Trust | undefined;
}

/** One step of an explanation: a rule that was looked at and why it did or did not decide. */
export interface TraceStep {
  rule: string;
  matched: boolean;
  detail: string;
}

export interface Decision {
  decision: DecisionKind;
  /** The id of the rule that decided, or null when the policy's default applied. */
  rule: string | null;
  reason: string;
  policySha256: string;
  /** Filled only when evaluation was asked to explain itself. */
  trace?: TraceStep[];
  /** The rule's cap was breached: the decision is the cap's `over`, never the rule's own (so no standing grant settles it). */
  capped?: true | undefined;
}

/** An upstream as the policy file declares it; `${ENV}` is expanded by the proxy, not here. */
export type ServerConfig = ServerDoc;

export interface AgentConfig {
  id: string;
  /** Lower-case hex SHA-256 of the agent's bearer key (HTTP downstream). */
  key_sha256?: string | undefined;
  trust: Trust;
}

export interface ApprovalSettings {
  /** Unanswered review -> deny after this long. */
  timeoutMs: number;
  /** Longest a call is held open with progress before the client gets an approval id to retry with. */
  maxHoldMs: number;
  /** How long an approved call may be retried (and run once) after its approval. */
  retryWindowMs: number;
  /** Most approvals one agent may have pending at once; over it a new review call is denied, not queued. */
  maxPendingPerAgent: number;
  /** Where reviews are decided when a rule does not say (`approval.approve_in`, default ui). */
  approveIn: ApproveIn;
  /** The longest a standing grant may last (`approval.grant_max`, default 24h). */
  grantMaxMs: number;
}

/** Where a person decides a reviewed call: the UI, the client (MCP elicitation), or whichever answers first. */
export type ApproveIn = 'ui' | 'client' | 'both';

/** How the calls a review rule (or the default) sends to review are decided. */
export interface ReviewSettings {
  /** Different reviewer accounts that must approve: 1, or 2 (the two-person rule). */
  approvers: 1 | 2;
  approveIn: ApproveIn;
  /**
   * True when a standing grant may settle the review: the rule itself says review (a cap, a budget,
   * a schema or a data-flow review never takes a grant), it allows grants, and needs one approver.
   */
  grants: boolean;
}

export interface NamingSettings {
  /** Between server and tool name when several upstreams are prefixed. */
  separator: string;
  /** auto: prefix only when there are several upstreams. */
  prefix: 'auto' | 'always' | 'never';
}

export interface SessionSettings {
  /** Most HTTP sessions open at once, all agents together. */
  max: number;
  /** Most HTTP sessions one agent may have open at once. */
  maxPerAgent: number;
  /** A session with no request for this long is closed (with its upstreams). */
  idleTimeoutMs: number;
  /**
   * How long a dropped HTTP response stream can be resumed with Last-Event-ID: its events are kept
   * and its calls run on that long; 0: no event store, a dropped stream cancels its calls at once.
   */
  resumeWindowMs: number;
}

export interface AuditSettings {
  /** Extra key patterns (case-insensitive regular expressions) whose values are redacted. */
  redact: string[];
}

export interface ResultSettings {
  /** Credentials found in a tool result: masked, the result refused, or passed on (always audited). */
  secrets: ResultSecretAction;
}

/** Tool-definition pinning: on or off, and what a tool that appears later gets. */
export interface PinSettings {
  enabled: boolean;
  newTools: 'allow' | 'quarantine';
  /** A definition with hidden content: only warned about, or also held until a person accepts it. */
  hiddenContent: 'warn' | 'quarantine';
  /**
   * The definition hashes the policy itself pins for `server`'s tools, by lower-cased tool name (tool
   * names match rules case-insensitively, so a pin must too). Enforced even with `enabled: false`.
   */
  policyPins(server: string): ReadonlyMap<string, readonly PolicyPin[]>;
}

/** A definition hash written in the policy: `pin:` on a rule or a `servers:` entry. */
export interface PolicyPin {
  sha256: string;
  /** Where it is written, for reasons: `rule <id>` or `servers.<name>.pin`. */
  source: string;
}

/** What the gate does with arguments the tool's own inputSchema refuses (see policy `input_schema`). */
export interface InputSchemaSettings {
  /** False: arguments are not checked against the schema at all. */
  check: boolean;
  /** Wrong types, missing required properties, anything else the schema itself refuses. */
  onMismatch: 'deny' | 'review';
  /** Properties a schema that declares its properties does not name (and does not allow by additionalProperties). */
  extraProperties: 'deny' | 'review' | 'allow';
  /** A schema that cannot be compiled: skip the check (warned once per definition) or deny the tool's calls. */
  onInvalidSchema: 'skip' | 'deny';
}

/** Sensitive data flow (policy `flow:`): how long sensitive results are remembered, and what a call carrying one gets. */
export interface FlowSettings {
  /** A remembered value is forgotten this long after the result that held it. */
  windowMs: number;
  /** review: held for a person; deny: refused. Never widens a decision (a deny stays a deny). */
  action: FlowAction;
  /** Values and tokens shorter than this (case-folded, whitespace removed) are not remembered. */
  minLength: number;
}

/** One webhook as the policy declares it; `${VAR}` in url and secret is expanded by the notifier, not here. */
export interface WebhookConfig {
  id: string;
  url: string;
  events: readonly NotificationEvent[];
  /** The HMAC key as written (usually `${VAR}`); absent: requests are not signed. */
  secret?: string | undefined;
  format: 'slack' | 'json';
  /** How long one attempt may take before it counts as a network failure (and is retried). */
  timeoutMs: number;
}

/** Notifications (policy `notifications:`): webhooks, and the UI address their links use. */
export interface NotificationSettings {
  webhooks: readonly WebhookConfig[];
  /** Overrides the address links point at; undefined: the UI this process serves or knows. */
  uiUrl?: string | undefined;
}

export interface PolicyTestCase {
  name: string;
  call: Call;
  expect: DecisionKind;
  /** Optional: the rule id that must decide (null = the default). */
  rule?: string | null | undefined;
  /** Set for a test of a resource or a prompt (`call.tool` is then empty and unused). */
  access?: Access | undefined;
}

/** A loaded, validated and compiled policy. Immutable; a reload builds a new one. */
export interface CompiledPolicy {
  readonly sha256: string;
  readonly defaultDecision: 'deny' | 'review';
  readonly servers: Readonly<Record<string, ServerConfig>>;
  readonly agents: readonly AgentConfig[];
  /** The trust an agent first seen is auto-registered with (`default_trust`, default low). */
  readonly defaultTrust: Trust;
  readonly approval: ApprovalSettings;
  readonly naming: NamingSettings;
  readonly sessions: SessionSettings;
  readonly audit: AuditSettings;
  /** The policy-wide result settings (`results:`); a rule's own `results:` overrides them for its calls. */
  readonly results: ResultSettings;
  readonly inputSchema: InputSchemaSettings;
  /** Tool-definition pinning (`pins:`). */
  readonly pins: PinSettings;
  readonly tests: readonly PolicyTestCase[];
  /** The ids of the rules in file order. */
  readonly ruleIds: readonly string[];
  evaluate(call: Call, options?: { explain?: boolean }): Decision;
  /**
   * True when this tool (for this server and agent) is denied whatever its arguments are:
   * such tools are hidden from tools/list.
   */
  alwaysDenies(call: Omit<Call, 'args'>): boolean;
  /** The result settings for a call the rule `rule` decided (null: the default decided). */
  resultsFor(rule: string | null): ResultSettings;
  /** How a review by the rule `rule` (null: the default) is decided: approvers, where, and whether grants apply. */
  reviewFor(rule: string | null): ReviewSettings;
  /** Sensitive data flow settings (`flow:`). */
  readonly flow: FlowSettings;
  /** Webhooks told of approvals waiting, incidents opened and agents suspended (`notifications:`). */
  readonly notifications: NotificationSettings;
  /** True when the tool rule `rule` says `sensitive: true` (null: the default decided, never sensitive). */
  sensitive(rule: string | null): boolean;
  /** What resources and prompts no rule of their kind matches get. */
  readonly accessDefaults: Readonly<Record<AccessKind, 'allow' | 'deny'>>;
  /**
   * A resource or prompt decision: allow, deny or review (the gate queues a review for a person). A
   * denied one is hidden from its list, since no arguments can change the answer.
   */
  evaluateAccess(access: Access, options?: { explain?: boolean }): Decision;
  /** True when every URI the template can expand to is denied: it is hidden from resources/templates/list. */
  hidesTemplate(template: TemplateAccess): boolean;
  /** The agent whose key hashes to this hex digest, if any. */
  agentByKeySha256(hex: string): AgentConfig | undefined;
  /** Normalised roots by upstream name (from `servers.X.roots` and the top-level `roots:`). */
  readonly roots: Readonly<Record<string, readonly string[]>>;
  /**
   * Null when the call's server has no roots or every path-like argument is inside one; otherwise why
   * not, naming the argument. Checked before any rule: such a call is denied whatever the rules say.
   * `granted`: roots from outside the policy (the command line), used when it gives this server none.
   */
  containment(call: Pick<Call, 'server' | 'args'>, granted?: readonly string[]): string | null;
  /** Rate and concurrency limits and spend budgets (`limits:`, `budgets:`); their state lives at the edge (src/limits). */
  readonly limits: CompiledLimits;
  /** The severity of the incident a denial by tool rule `rule` opens (its `severity:`); undefined: none. */
  severityOf(rule: string | null): IncidentSeverity | undefined;
  /** Auto-suspension thresholds (`suspend:`); empty: only a person (or a critical manual incident) suspends. */
  readonly suspend: readonly SuspendSetting[];
  /** Severities of the incidents opened without a rule (`incidents:`). */
  readonly incidents: IncidentSettings;
}

export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];

/** `suspend:` as the proxy applies it: `after` incidents of `severity` or above of one agent within `withinMs`. */
export interface SuspendSetting {
  after: number;
  severity: IncidentSeverity;
  withinMs: number;
}

export interface IncidentSettings {
  /** Rate, concurrency and budget breaches. */
  breaches: IncidentSeverity;
  /** Audit-integrity failures (a failed append, a chain break). */
  audit: IncidentSeverity;
}
