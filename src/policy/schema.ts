// The policy file's JSON Schema, written once: ajv validates with it, TypeScript derives the types from it.
import { type Static, type TSchema, Type } from '@sinclair/typebox';

/** The trust levels an agent may have, lowest first. */
export const TRUST_LEVELS = ['low', 'medium', 'high', 'admin'] as const;
/** How bad an incident is, least first (governance's Severity is the same list). */
export const INCIDENT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
/** Where a person decides a reviewed call: the UI, the client (MCP elicitation), or whichever answers first. */
export const APPROVE_IN = ['ui', 'client', 'both'] as const;

const ApproveIn = Type.Union(
  APPROVE_IN.map((s) => Type.Literal(s)),
  {
    description:
      'where a person decides: ui (the approvals UI; the default), client (asked in the MCP client through elicitation when it declared the capability, else the UI), or both (the first answer wins)',
  },
);

const strict = { additionalProperties: false } as const;

const Glob = Type.String({
  minLength: 1,
  description: 'a glob (picomatch); negation and extglobs are refused',
});
const Globs = Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
  description: 'a glob or a non-empty list of globs',
});
const TrustLevel = Type.Union(
  TRUST_LEVELS.map((t) => Type.Literal(t)),
  { description: `one of ${TRUST_LEVELS.join(', ')}` },
);
const DecisionKind = Type.Union([Type.Literal('allow'), Type.Literal('deny'), Type.Literal('review')], {
  description: 'allow, deny or review',
});
const Duration = Type.Union(
  [Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$' }), Type.Number({ minimum: 0 })],
  {
    description: 'a duration such as 30s, 5m, 1h (a bare number is seconds)',
  },
);
const StringMap = Type.Record(Type.String(), Type.String());
const Roots = Type.Array(Type.String({ minLength: 1 }), {
  minItems: 1,
  description:
    'absolute directories the server may touch: every path-like argument of its calls must normalise to inside one, or the call is denied before any rule',
});

const DEFINITION_HASH = '^sha256:[0-9a-f]{64}$';
const DefinitionHash = Type.String({
  pattern: DEFINITION_HASH,
  description:
    'a tool definition hash as `portcullis pins list --full` prints it: sha256: and 64 lowercase hex digits',
});

/** Definitions pinned in the policy itself, reviewed in code review: they override trust on first use. */
const ServerPins = Type.Record(Type.String({ minLength: 1 }), DefinitionHash, {
  description:
    "tool name -> the only definition hash this server's tool may have; any other definition is held (not run, hidden) until the policy changes",
});

const ShareMode = Type.Union(
  [Type.Literal('per_agent'), Type.Literal('per_session'), Type.Literal('shared')],
  {
    description:
      'who shares one connection (one child process for stdio): per_agent (the default for stdio: the sessions of one agent), per_session (each session its own; the default for url:), shared (every agent: their state mixes on the server)',
  },
);
const IdleStop = Type.Union(Duration.anyOf, {
  description:
    'how long a shared connection with no session left keeps running before it is stopped (restarted on demand); default 2m, 0 stops at once',
});

const CommandServer = Type.Object(
  {
    command: Type.String({ minLength: 1, description: 'stdio upstream: the program to run' }),
    args: Type.Optional(Type.Array(Type.String(), { description: 'stdio upstream: its arguments' })),
    env: Type.Optional(StringMap),
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    roots: Type.Optional(Roots),
    pin: Type.Optional(ServerPins),
    share: Type.Optional(ShareMode),
    idle_stop: Type.Optional(IdleStop),
  },
  { ...strict, description: 'a stdio upstream: a program the proxy starts' },
);

const UrlServer = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'Streamable HTTP upstream: its /mcp URL' }),
    headers: Type.Optional(StringMap),
    insecure: Type.Optional(
      Type.Boolean({
        description:
          'allow plain http:// to a host other than this machine (refused otherwise); certificate checks are not affected',
      }),
    ),
    ca_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'https:// upstream: a PEM file of certificate authorities trusted besides the system ones (relative to the policy file)',
      }),
    ),
    roots: Type.Optional(Roots),
    pin: Type.Optional(ServerPins),
    share: Type.Optional(ShareMode),
    idle_stop: Type.Optional(IdleStop),
  },
  { ...strict, description: 'a Streamable HTTP upstream' },
);

/** load.ts turns a mismatch of this union into one message naming the upstream's real mistake. */
export const ServerSchema = Type.Union([CommandServer, UrlServer], {
  description: 'an upstream: either command (stdio) or url (Streamable HTTP)',
});

const Agent = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    key_sha256: Type.Optional(
      Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'hex SHA-256 of the agent bearer key' }),
    ),
    trust: TrustLevel,
  },
  strict,
);

const Approval = Type.Object(
  {
    timeout: Type.Optional(Duration),
    max_hold: Type.Optional(Duration),
    retry_window: Type.Optional(Duration),
    max_pending_per_agent: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description:
          'most approvals one agent may have pending at once; a new review call over it is denied (default 20)',
      }),
    ),
    approve_in: Type.Optional(ApproveIn),
    grant_max: Type.Optional(Duration),
  },
  strict,
);

const Naming = Type.Object(
  {
    separator: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,8}$' })),
    prefix: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')])),
  },
  strict,
);

const Sessions = Type.Object(
  {
    max: Type.Optional(
      Type.Integer({ minimum: 1, description: 'most HTTP sessions open at once, all agents together' }),
    ),
    max_per_agent: Type.Optional(
      Type.Integer({ minimum: 1, description: 'most HTTP sessions one agent may have open at once' }),
    ),
    idle_timeout: Type.Optional(Duration),
    /** How long a dropped response stream can be resumed with Last-Event-ID; 0 turns resumability off. */
    resume_window: Type.Optional(Duration),
  },
  { ...strict, description: 'bounds on downstream HTTP sessions (each starts its own stdio upstreams)' },
);

const Audit = Type.Object(
  {
    redact: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'extra argument key patterns (case-insensitive regular expressions) to redact',
      }),
    ),
  },
  strict,
);

/** What the proxy does with credentials found in a tool's result. */
export const RESULT_SECRET_ACTIONS = ['redact', 'block', 'allow'] as const;
const Results = Type.Object(
  {
    secrets: Type.Optional(
      Type.Union(
        RESULT_SECRET_ACTIONS.map((a) => Type.Literal(a)),
        {
          description:
            'credentials found in a tool result: redact (masked before the client sees them; the default), block (a tool error naming the detectors) or allow (passed on, only audited)',
        },
      ),
    ),
  },
  { ...strict, description: 'what is done with tool results before the client sees them' },
);

const Pins = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description:
          "pin each upstream tool's definition on first use and hold a changed one until a person accepts it (default true)",
      }),
    ),
    new_tools: Type.Optional(
      Type.Union([Type.Literal('allow'), Type.Literal('quarantine')], {
        description:
          'a tool that appears after its server was first pinned: allow (pinned as it comes; the default) or quarantine (held like a changed one)',
      }),
    ),
    hidden_content: Type.Optional(
      Type.Union([Type.Literal('warn'), Type.Literal('quarantine')], {
        description:
          'a tool definition with hidden content (invisible or bidi characters, tag characters, comments, base64 blobs, instructions aimed at the model): warn (audited and shown on the Policy page; the default) or quarantine (also held until a person accepts it)',
      }),
    ),
  },
  { ...strict, description: 'tool-definition pinning (trust on first use)' },
);

const InputSchema = Type.Object(
  {
    check: Type.Optional(
      Type.Boolean({
        description:
          "check tools/call arguments against the tool's own inputSchema before the rules (default true)",
      }),
    ),
    on_mismatch: Type.Optional(
      Type.Union([Type.Literal('deny'), Type.Literal('review')], {
        description:
          'arguments the schema refuses (wrong type, missing required property): deny (default) or review',
      }),
    ),
    extra_properties: Type.Optional(
      Type.Union([Type.Literal('deny'), Type.Literal('review'), Type.Literal('allow')], {
        description:
          'a property the schema does not declare, where it declares properties and does not say additionalProperties: deny (default), review or allow',
      }),
    ),
    on_invalid_schema: Type.Optional(
      Type.Union([Type.Literal('skip'), Type.Literal('deny')], {
        description:
          'a tool whose inputSchema cannot be compiled: skip the check with a warning (default) or deny its calls',
      }),
    ),
  },
  { ...strict, description: "checking tools/call arguments against the tool's inputSchema" },
);

const JsonValue = Type.Unknown();
const ArgCondition = Type.Object(
  {
    eq: Type.Optional(JsonValue),
    ne: Type.Optional(JsonValue),
    in: Type.Optional(Type.Array(JsonValue)),
    not_in: Type.Optional(Type.Array(JsonValue)),
    lt: Type.Optional(Type.Number()),
    lte: Type.Optional(Type.Number()),
    gt: Type.Optional(Type.Number()),
    gte: Type.Optional(Type.Number()),
    glob: Type.Optional(Type.String({ minLength: 1 })),
    path_glob: Type.Optional(
      Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
        description:
          'glob(s) on the normalised absolute file path; a value that is not a safe path denies the call',
      }),
    ),
    present: Type.Optional(Type.Boolean()),
    shell: Type.Optional(
      Type.Union([Type.Literal('unsafe'), Type.Literal('safe')], {
        description:
          'unsafe: holds when a string in the value has a shell metacharacter (; & | ` $ > < ( ) quotes, backslash, newline, control or look-alike characters); safe: when none has',
      }),
    ),
  },
  { ...strict, minProperties: 1 },
);

const Cap = Type.Object(
  {
    arg: Type.String({
      minLength: 1,
      description: 'dotted argument path; [*] sums the elements of an array',
    }),
    max: Type.Number({ minimum: 0 }),
    over: Type.Optional(Type.Union([Type.Literal('review'), Type.Literal('deny')])),
  },
  strict,
);

const RuleKind = Type.Union([Type.Literal('tool'), Type.Literal('resource'), Type.Literal('prompt')], {
  description:
    'what the rule governs: tool (tools/call, the default), resource (resources/read and subscribe; match is a URI glob) or prompt (prompts/get; match is a prompt name glob)',
});
const AccessDefault = (description: string) =>
  Type.Union([Type.Literal('allow'), Type.Literal('deny')], { description });

const Rule = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$' })),
    match: Globs,
    kind: Type.Optional(RuleKind),
    server: Type.Optional(Globs),
    agent: Type.Optional(Globs),
    trust_at_least: Type.Optional(TrustLevel),
    trust_below: Type.Optional(TrustLevel),
    ops: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    args: Type.Optional(Type.Record(Type.String({ minLength: 1 }), ArgCondition)),
    cap: Type.Optional(Cap),
    cap_cents: Type.Optional(Type.Integer({ minimum: 0 })),
    decision: DecisionKind,
    reason: Type.Optional(Type.String()),
    results: Type.Optional(Results),
    pin: Type.Optional(
      Type.String({
        pattern: DEFINITION_HASH,
        description:
          'kind: tool rules whose match is one exact tool name: the only definition hash that tool may have (on the servers the rule names); any other definition is held until the policy changes',
      }),
    ),
    sensitive: Type.Optional(
      Type.Boolean({
        description:
          "the results of calls this rule lets run (allowed or approved) are sensitive: the agent's later calls that carry a value from them to another tool or server are held (see flow:)",
      }),
    ),
    severity: Type.Optional(
      Type.Union(
        INCIDENT_SEVERITIES.map((s) => Type.Literal(s)),
        {
          description:
            'kind: tool rules: a call this rule denies opens an incident of this severity (low, medium, high, critical), which counts toward suspend:',
        },
      ),
    ),
    approvers: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 2,
        description:
          'review rules: how many different reviewer accounts must approve a call (2: the two-person rule; such calls are decided in the UI only, and take no standing grants)',
      }),
    ),
    approve_in: Type.Optional(ApproveIn),
    grants: Type.Optional(
      Type.Boolean({
        description:
          'review rules: whether a reviewer may answer with a standing grant (allow this tool for this agent, within argument constraints, for a while); default true, false with approvers: 2',
      }),
    ),
  },
  strict,
);

const Severity = Type.Union(
  INCIDENT_SEVERITIES.map((s) => Type.Literal(s)),
  { description: `one of ${INCIDENT_SEVERITIES.join(', ')}` },
);
const SuspendAfter = Type.Object(
  {
    after: Type.Integer({
      minimum: 1,
      description: 'this many incidents (and recurrences) of one agent within the window suspend it',
    }),
    severity: Type.Optional(
      Type.Union(
        INCIDENT_SEVERITIES.map((s) => Type.Literal(s)),
        { description: 'only incidents of this severity or above count (default high)' },
      ),
    ),
    within: Duration,
  },
  strict,
);
const Suspend = Type.Union([SuspendAfter, Type.Array(SuspendAfter, { minItems: 1 })], {
  description:
    'auto-suspension: an agent with `after` incidents of `severity` or above within `within` is suspended until a person reinstates it (a list: any one suspends)',
});
const Incidents = Type.Object(
  {
    breaches: Type.Optional(
      Type.Union(Severity.anyOf, {
        description: 'severity of the incidents rate, concurrency and budget breaches open (default medium)',
      }),
    ),
    audit: Type.Optional(
      Type.Union(Severity.anyOf, {
        description: 'severity of the incidents audit-integrity failures open (default high)',
      }),
    ),
  },
  { ...strict, description: 'what opens incidents automatically, and how severe they are' },
);

/** What a call that carries a value from a sensitive result gets. */
export const FLOW_ACTIONS = ['review', 'deny'] as const;
const Flow = Type.Object(
  {
    window: Type.Optional(Duration),
    action: Type.Optional(
      Type.Union(
        FLOW_ACTIONS.map((a) => Type.Literal(a)),
        {
          description:
            'a call that carries a value from a sensitive result to another tool or server: review (held for a person; the default) or deny',
        },
      ),
    ),
    min_length: Type.Optional(
      Type.Integer({
        minimum: 4,
        maximum: 1024,
        description:
          'values and tokens shorter than this (after case folding and removing whitespace) are not remembered (default 8)',
      }),
    ),
  },
  {
    ...strict,
    description:
      'sensitive data flow: how long values from sensitive results are remembered per agent (window, default 30m), and what a call carrying one gets',
  },
);

/** What a webhook can be told of (policy `notifications.webhooks[].events`). */
export const NOTIFICATION_EVENTS = ['approval_pending', 'incident_opened', 'agent_suspended'] as const;
const Webhook = Type.Object(
  {
    id: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
      description: 'names the webhook in status, metrics and logs (the URL never appears there)',
    }),
    url: Type.String({
      pattern: '^https?://',
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what the notifier expands
        'where the POST goes; https:// unless the host is this machine; ${VAR} is expanded from the environment (a Slack webhook URL is itself a secret)',
    }),
    events: Type.Array(Type.Union(NOTIFICATION_EVENTS.map((e) => Type.Literal(e))), {
      minItems: 1,
      uniqueItems: true,
      description: `which events it is sent: ${NOTIFICATION_EVENTS.join(', ')}`,
    }),
    secret: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is what the notifier expands
          'HMAC-SHA256 key for the X-Portcullis-Signature header, usually "${WEBHOOK_SECRET}"; a variable that is not set disables the webhook (never sent unsigned)',
      }),
    ),
    format: Type.Optional(
      Type.Union([Type.Literal('slack'), Type.Literal('json')], {
        description:
          'slack (the default): text and blocks a Slack incoming webhook shows, plus the fields under "portcullis"; json: only {"portcullis": ...}',
      }),
    ),
    timeout: Type.Optional(Duration),
  },
  { ...strict, description: 'one webhook: a URL told of some events' },
);
const Notifications = Type.Object(
  {
    webhooks: Type.Optional(Type.Array(Webhook)),
    ui_url: Type.Optional(
      Type.String({
        pattern: '^https?://',
        description:
          "the UI's address as the people notified reach it (behind a reverse proxy); default the address this process serves it at",
      }),
    ),
  },
  { ...strict, description: 'webhooks told of approvals waiting, incidents opened and agents suspended' },
);

/** What a call over a limit or budget gets. */
export const OVER_ACTIONS = ['deny', 'review'] as const;
const LIMIT_ID = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
const RATE = '^\\s*\\d+\\s*/\\s*(second|minute|hour|day|\\d+(\\.\\d+)?\\s*(ms|s|m|h|d))\\s*$';
const Limit = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        pattern: LIMIT_ID,
        description: 'names the limit in reasons, records and incidents (default limit-N, its position)',
      }),
    ),
    agent: Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
      description: 'the agents it applies to; each agent has its own count',
    }),
    tool: Type.Optional(
      Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
        description: 'the tools whose calls count (default every tool); they share one count per agent',
      }),
    ),
    server: Type.Optional(
      Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
        description: 'the upstreams whose calls count (default every upstream)',
      }),
    ),
    rate: Type.Optional(
      Type.String({
        pattern: RATE,
        description:
          'calls per sliding window: N/second, N/minute, N/hour, N/day or N/DURATION (100/5m); a call counts for one window from when it was let run',
      }),
    ),
    concurrent: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "most of the agent's matching calls running at once (in this process); one more is denied",
      }),
    ),
    over: Type.Optional(
      Type.Union(
        OVER_ACTIONS.map((a) => Type.Literal(a)),
        {
          description:
            'rate limits only: a call over the rate is denied with when to retry (deny, the default) or held for a person (review)',
        },
      ),
    ),
  },
  {
    ...strict,
    description:
      'a call rate (rate:) or a number of calls in flight (concurrent:) per agent, for the calls of the tools and servers named',
  },
);

const Budget = Type.Object(
  {
    id: Type.String({
      pattern: LIMIT_ID,
      description: 'names the budget in reasons, records and its ledger',
    }),
    agent: Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
      description: 'the agents it applies to; each agent has its own budget',
    }),
    tool: Type.Optional(
      Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
        description: 'the tools whose calls spend it (default every tool); they share one sum per agent',
      }),
    ),
    server: Type.Optional(
      Type.Union([Glob, Type.Array(Glob, { minItems: 1 })], {
        description: 'the upstreams whose calls spend it (default every upstream)',
      }),
    ),
    arg: Type.String({
      minLength: 1,
      description:
        'dotted argument path of the amount, read as caps read it ([*] sums an array); a call whose amount cannot be read is denied',
    }),
    max: Type.Number({
      minimum: 0,
      description: 'most the amounts of calls that ran may sum to in one window',
    }),
    window: Type.Union(Duration.anyOf, {
      description:
        'the rolling window, e.g. 24h: an amount counts for this long from when its call was let run',
    }),
    over: Type.Optional(
      Type.Union(
        OVER_ACTIONS.map((a) => Type.Literal(a)),
        {
          description:
            'a call that would take the sum over max: held for a person (review, the default) or denied (deny)',
        },
      ),
    ),
    unit: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z$€£%][A-Za-z0-9 $€£%_-]{0,31}$',
        description:
          'what the amount counts, for reasons and pages (cents: the amount must be a whole number)',
      }),
    ),
  },
  {
    ...strict,
    description:
      'a spend budget: the rolling sum of an amount argument per agent over a window, kept in governance.db',
  },
);

const TestCall = Type.Object(
  {
    tool: Type.Optional(Type.String({ minLength: 1 })),
    resource: Type.Optional(
      Type.String({ minLength: 1, description: 'instead of tool: a resources/read of this URI' }),
    ),
    prompt: Type.Optional(
      Type.String({ minLength: 1, description: 'instead of tool: a prompts/get of this prompt name' }),
    ),
    server: Type.Optional(Type.String()),
    agent: Type.Optional(Type.String()),
    trust: Type.Optional(TrustLevel),
    args: Type.Optional(JsonValue),
  },
  strict,
);

const PolicyTest = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    call: TestCall,
    expect: DecisionKind,
    rule: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  strict,
);

export const PolicyV2Schema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(2),
    default: Type.Optional(Type.Union([Type.Literal('deny'), Type.Literal('review')])),
    default_resources: Type.Optional(
      AccessDefault('resources no kind: resource rule matches: allow (the default) or deny'),
    ),
    default_prompts: Type.Optional(
      AccessDefault('prompts no kind: prompt rule matches: allow (the default) or deny'),
    ),
    servers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' }), ServerSchema, {
        additionalProperties: false,
      }),
    ),
    agents: Type.Optional(Type.Array(Agent)),
    default_trust: Type.Optional(
      Type.Union(
        TRUST_LEVELS.map((t) => Type.Literal(t)),
        {
          description:
            'the trust an agent first seen (not in agents:, not added to the registry) is registered with; default low',
        },
      ),
    ),
    approval: Type.Optional(Approval),
    naming: Type.Optional(Naming),
    sessions: Type.Optional(Sessions),
    pins: Type.Optional(Pins),
    audit: Type.Optional(Audit),
    results: Type.Optional(Results),
    input_schema: Type.Optional(InputSchema),
    flow: Type.Optional(Flow),
    notifications: Type.Optional(Notifications),
    rules: Type.Array(Rule),
    tests: Type.Optional(Type.Array(PolicyTest)),
    limits: Type.Optional(
      Type.Array(Limit, {
        description:
          'call rates and concurrent calls per agent; every limit that applies to a call must hold',
      }),
    ),
    budgets: Type.Optional(
      Type.Array(Budget, {
        description: 'spend budgets per agent; every budget that applies to a call must hold',
      }),
    ),
    roots: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' }), Roots, {
        additionalProperties: false,
        description:
          'roots by upstream name, for the -- COMMAND upstream (a servers: entry takes roots: itself)',
      }),
    ),
    suspend: Type.Optional(Suspend),
    incidents: Type.Optional(Incidents),
  },
  { ...strict, title: 'Portcullis policy, version 2' },
);

/** AegisMCP's version 1 policy: caps and allow/deny lists, converted to version 2 on load. */
export const PolicyV1Schema = Type.Object(
  {
    version: Type.Optional(Type.Literal(1)),
    max_refund_cents: Type.Optional(Type.Integer({ minimum: 0 })),
    max_payment_link_cents: Type.Optional(Type.Integer({ minimum: 0 })),
    allow_tools: Type.Optional(Type.Array(Glob)),
    deny_tools: Type.Optional(Type.Array(Glob)),
  },
  { ...strict, title: 'AegisMCP policy, version 1' },
);

export type PolicyV2Doc = Static<typeof PolicyV2Schema>;
export type PolicyV1Doc = Static<typeof PolicyV1Schema>;
export type RuleDoc = Static<typeof Rule>;
export type SuspendDoc = Static<typeof SuspendAfter>;
export type ArgConditionDoc = Static<typeof ArgCondition>;
export type ServerDoc = Static<typeof ServerSchema>;
export type WebhookDoc = Static<typeof Webhook>;
export type LimitDoc = Static<typeof Limit>;
export type BudgetDoc = Static<typeof Budget>;

/** The schema file shipped for editors: version 2 or version 1, by the `version` key. */
export function publishedSchema(): Record<string, unknown> {
  const plain = (s: TSchema): unknown => JSON.parse(JSON.stringify(s));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Portcullis policy',
    description: 'Version 2 is the current format; version 1 (AegisMCP) is read and migrated.',
    oneOf: [plain(PolicyV2Schema), plain(PolicyV1Schema)],
  };
}
