// Composition root: builds every part (policy source, audit, approvals, web, upstreams, sessions, downstream) and wires them.

import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { AgentRegistry, SqliteAgentStore } from './agents/index.js';
import { ApprovalQueue, ApprovalStore, DEFAULT_APPROVAL_SETTINGS } from './approvals/index.js';
import { type AuditEvent, AuditLog } from './audit/index.js';
import { type BudgetUsage, Governance, type GovernanceParts } from './governance/index.js';
import { GrantStore, Grants } from './grants/index.js';
import { Incidents, SqliteIncidentStore } from './incidents/index.js';
import { Limits } from './limits/index.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics/index.js';
import { type DeliveryTimings, Notifier, registerWebhookMetrics } from './notify/index.js';
import { PinGuard, PinStore } from './pins/index.js';
import {
  Ambiguities,
  type CommandUpstream,
  Confusables,
  DownstreamSession,
  errorText,
  Gate,
  HttpEndpoint,
  isLoopback,
  isPrefixed,
  listen,
  PolicySource,
  PROXY_INFO,
  type RegistryKeys,
  RequestGuard,
  type RoutingTimings,
  resolveUpstreams,
  StartRefusedError,
  StdioDownstream,
  serversAndCommandWarning,
  specRoots,
  UpstreamHealth,
  UpstreamPool,
  type UpstreamSpec,
  type UpstreamTransportFactory,
  unprefixedServers,
} from './proxy/index.js';
import { Reviewers, SqliteReviewerStore } from './reviewers/index.js';
import { GOVERNANCE_DB, type Log, urlHost } from './util/index.js';
import {
  healthApp,
  instanceKey,
  loadOrCreateToken,
  type PolicyStatus,
  type ReadyReport,
  servesDataDir,
  serveWeb,
  type WebApp,
  type WebAppOptions,
  WebAuth,
  WebPortInUseError,
  type WebServer,
} from './web/index.js';

export interface AppOptions {
  policyFile: string;
  /** Serve Streamable HTTP on host:port; otherwise serve one client over `stdio`. */
  http?: { host: string; port: number } | undefined;
  stdio?: { stdin: Readable; stdout: Writable } | undefined;
  /** The approvals web UI's port (0 = a free one) or off. */
  ui: number | 'off';
  /** The address the UI binds; default 127.0.0.1 (`--ui-host`; 0.0.0.0 in the container image). */
  uiHost?: string | undefined;
  dataDir: string;
  /** stdio: the caller's agent id; HTTP: the agent of keyless clients when the policy has no keyed agents. */
  agent: string;
  /** Serve keyless clients on an address other hosts can reach (`--allow-anonymous`); refused otherwise. */
  allowAnonymous?: boolean | undefined;
  command?: CommandUpstream | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** How long calls wait for upstreams and re-listings; tests shorten them. */
  routing?: Partial<RoutingTimings> | undefined;
  /** How upstream transports are made; tests join in-process servers. The real ones by default. */
  upstreamTransport?: UpstreamTransportFactory | undefined;
  /** The clock of the sensitive data flow memory (how long ago a value was read); tests move it. */
  now?: (() => number) | undefined;
  /** How webhook deliveries back off, time out and give up; tests shorten them. */
  notifications?: Partial<DeliveryTimings> | undefined;
  /**
   * Print the one-time sign-in link (default true). `--log-format json` turns it off: log
   * collectors keep lines, and a link that signs in does not belong in them.
   */
  loginLink?: boolean | undefined;
  /** A line for the operator; lines about one call carry its correlation id in `fields`. */
  log: Log;
}

export interface App {
  policy: PolicySource;
  audit: AuditLog;
  approvals: Approvals;
  /** The webhooks: their status (last success and failure, queued, dropped). */
  notifier: Notifier;
  /** Incidents and suspensions (the Agents page asks it `suspension(agent)`). */
  incidents?: Incidents | undefined;
  /** The approvals UI this process serves; undefined when another process serves it or the UI is off. */
  web: WebServer | undefined;
  /** Rate and concurrency limits and the budgets' ledger (`usage()` for metrics and pages). */
  limits: Limits;
  /** The MCP endpoint URL in HTTP mode. */
  url: string | undefined;
  /** The address and port the HTTP endpoint's socket is bound to (`0.0.0.0:3000`). */
  bound: string | undefined;
  /** Resolves when the proxy stops by itself (stdio: the client went away). */
  done: Promise<void>;
  close(): Promise<void>;
}

/** A started part: whatever it is, it can be closed. */
interface Part {
  close(): unknown;
}

/** What has started so far, closed newest first: on a start that fails part-way, and at close. */
class Parts {
  private readonly started: Part[] = [];

  add<T extends Part>(part: T): T {
    this.started.push(part);
    return part;
  }

  /** Closes every part even when some fail; rethrows the first failure. */
  async close(): Promise<void> {
    let failed = false;
    let failure: unknown;
    for (const part of this.started.splice(0).reverse()) {
      try {
        await part.close();
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
    if (failed) throw failure;
  }
}

export async function startApp(options: AppOptions): Promise<App> {
  const { log } = options;
  const parts = new Parts();
  try {
    return await compose(options, parts);
  } catch (error) {
    await parts
      .close()
      .catch((cleanup: unknown) => log(`cleanup after a failed start: ${errorText(cleanup)}`));
    throw error;
  }
}

async function compose(options: AppOptions, parts: Parts): Promise<App> {
  const { log } = options;
  const env = options.env ?? process.env;
  // One registry for every metric of this process, served at /metrics by the UI or the MCP port.
  const registry = new Registry();
  const policy = parts.add(await PolicySource.open(options.policyFile, log));
  const audit = parts.add(await openAudit(options.dataDir, policy, log));
  const upstreams = new Upstreams(policy, options.command, env, log, {
    preflight: options.upstreamTransport === undefined,
  });
  upstreams.requireOne();
  const reloads = new ReloadStatus();
  // One for all sessions: a name seen ambiguous in any session is refused in every one.
  const ambiguities = new Ambiguities(log);
  const confusables = new Confusables(log);
  const approvals = parts.add(openApprovals({ dataDir: options.dataDir, policy, audit, log }));
  const governance = parts.add(openGovernance({ options, policy, audit, approvals }));
  // One for every session and the UI: a hold seen in one session holds the tool in all of them, and
  // an accept in the UI releases it in all of them.
  let sessions: Sessions | undefined;
  // Built once the UI's address is known; the Policy page and /health/ready read it through this.
  let notifier: Notifier | undefined;
  const pins = new PinGuard({
    store: new PinStore(options.dataDir),
    settings: () => policy.current.pins,
    record: (event) => recordQuietly(audit, log, event),
    log,
    released: () => sessions?.toolsChanged(),
  });
  // Reviewer accounts (governance.db): the UI signs them in; the admin and the CLI manage them.
  const reviewers =
    options.ui === 'off'
      ? undefined
      : parts.add(new Reviewers({ store: SqliteReviewerStore.inDataDir(options.dataDir), audit }));
  const web = parts.add(
    await startWeb({
      dataDir: options.dataDir,
      reviewers,
      ui: options.ui,
      uiHost: options.uiHost,
      env,
      approvals,
      audit,
      policy,
      pins,
      registry,
      loginLink: options.loginLink,
      agents: governance.agents,
      suspension: (agent) => governance.incidents.suspension(agent),
      directory: () => governance.agents,
      incidents: () => governance.incidents,
      upstreams: () => upstreams.health.check(),
      notifications: () => notifier?.check(),
      policyStatus: () => ({
        ...reloads.status(policy),
        warnings: [
          ...policy.warnings,
          ...upstreams.errors,
          ...ambiguities.warnings(unprefixedServers(policy.current.naming, upstreams.specs)),
          ...confusables.warnings(
            upstreams.specs.map((s) => s.name),
            isPrefixed(policy.current.naming, upstreams.specs.length),
          ),
          ...pins.warnings(),
          ...(notifier?.warnings() ?? []),
        ],
      }),
      log,
    }),
  );
  approvals.uiUrl = web.uiUrl;
  notifier = parts.add(openNotifications({ options, env, policy, audit, approvals, uiUrl: web.uiUrl }));
  if (web.server) parts.add({ close: registerWebhookMetrics(web.server.registry, notifier) });
  const metrics = parts.add(
    createProxyMetrics({
      registry,
      audit,
      queue: approvals.queue,
      sessions: () => sessions?.count ?? 0,
      governance: governance.governance,
      budgets: governance.budgets,
      incidents: governance.incidents,
      agents: governance.agents,
    }),
  );
  sessions = parts.add(
    openSessions({
      options,
      policy,
      audit,
      upstreams,
      approvals,
      ambiguities,
      confusables,
      pins,
      governance: governance.governance,
      metrics,
    }),
  );
  followReloads({ policy, audit, upstreams, sessions, reloads, log });
  // Without a UI, its health and metrics routes move to the MCP port, so a container or a scrape still has them.
  const health =
    options.ui === 'off' && options.http
      ? parts.add(
          healthApp({
            queue: approvals.queue,
            ready: withNotifications(auditReadiness(audit), () => notifier?.check()),
            registry,
          }),
        )
      : undefined;
  if (health) parts.add({ close: registerWebhookMetrics(health.registry, notifier) });
  const downstream = parts.add(
    await startDownstream(options, policy, sessions, health, registryKeys(governance.agents)),
  );
  return running(
    {
      policy,
      audit,
      approvals,
      notifier,
      incidents: governance.incidents,
      web: web.server,
      limits: governance.limits,
    },
    downstream,
    parts,
  );
}

/** The started app: closing it stops reloads first, then every part, newest first. */
function running(
  parts: Pick<App, 'policy' | 'audit' | 'approvals' | 'notifier' | 'web' | 'limits' | 'incidents'>,
  downstream: Downstream,
  started: Parts,
): App {
  let closing: Promise<void> | undefined;
  return {
    ...parts,
    url: downstream.url,
    bound: downstream.bound,
    done: downstream.done,
    close() {
      closing ??= (async () => {
        // No reload may start while the parts go away.
        parts.policy.close();
        try {
          await started.close();
        } finally {
          downstream.finish();
        }
      })();
      return closing;
    },
  };
}

/** The gate every session's calls go through, and the sessions themselves (one per client). */
function openSessions(deps: {
  options: AppOptions;
  policy: PolicySource;
  audit: AuditLog;
  upstreams: Upstreams;
  approvals: Approvals;
  ambiguities: Ambiguities;
  confusables: Confusables;
  pins: PinGuard;
  governance: Governance;
  metrics?: Pick<ProxyMetrics, 'observer' | 'upstreamFailed'> | undefined;
}): Sessions {
  const { options, policy, audit, upstreams, pins, governance, metrics } = deps;
  const { log } = options;
  const gate = new Gate({
    policy: () => policy.current,
    audit,
    review: deps.approvals.queue,
    governor: governance,
    observer: metrics?.observer,
    log,
    // The specs' roots are the -- COMMAND's too: its spec runs in the proxy's working directory.
    roots: () => specRoots(upstreams.specs),
    now: options.now,
  });
  // One for every session: stdio upstreams are started once per agent (or once, or per session: `share:`).
  const pool = new UpstreamPool({ transport: options.upstreamTransport });
  const sessions = new Sessions(pool, (agent) => ({
    agent,
    standing: () => governance.standing(agent),
    policy: () => policy.current,
    upstreams: () => upstreams.specs,
    gate,
    info: PROXY_INFO,
    log,
    lifecycle: (server, action, detail) => {
      if (action !== 'exited') upstreams.health.up(server);
      recordQuietly(audit, log, { event: 'upstream', server, action, agent, detail });
    },
    upstreamFailed: (server, error, detail) => {
      metrics?.upstreamFailed(server);
      upstreams.health.down(server, error, detail);
    },
    notStarted: () => upstreams.health.notStarted(),
    ambiguities: deps.ambiguities,
    confusables: deps.confusables,
    routing: options.routing,
    upstreamTransport: options.upstreamTransport,
    pins,
    pool,
  }));
  // A suspension, reinstatement or trust change: that agent's clients list again.
  sessions.closeWith(governance.subscribe((agent) => sessions.standingChanged(agent)));
  return sessions;
}

/**
 * Governance: the agent registry (trust, keys, auto-registration), limits and budgets, incidents
 * and suspension, composed into the Governor the gate asks before every call. Each part is built
 * here and closed with the rest.
 */
function openGovernance(deps: {
  options: AppOptions;
  policy: PolicySource;
  audit: AuditLog;
  approvals: Approvals;
}): {
  governance: Governance;
  limits: Limits;
  /** For the metrics (portcullis_budget_used_ratio): the limits part sets it. */
  budgets?: (() => readonly BudgetUsage[]) | undefined;
  /** For the metrics (portcullis_incidents_open): the incidents part sets it. */
  incidents: Incidents;
  /** For the metrics (portcullis_agents_suspended): the registry sets it. */
  agents: AgentRegistry | undefined;
  close(): Promise<void>;
} {
  const closers: Array<() => void | Promise<void>> = [];
  // What the metrics read of the parts (each part's section sets its own; none: no such series).
  const governanceParts: GovernanceParts = { listeners: [] };
  // A part that changes an agent's standing tells the sessions through this (bound below).
  let changed: (agent: string) => void = () => {};

  // ---- the agent registry ----
  const { policy, audit, options } = deps;
  // Built below; the registry shows each agent's suspension through it.
  let suspensions: Incidents | undefined;
  const agents = new AgentRegistry({
    store: SqliteAgentStore.inDataDir(options.dataDir),
    policy: () => policy.current,
    suspension: (agent) => suspensions?.suspension(agent) ?? null,
    audit,
    changed: (agent) => changed(agent),
    now: options.now,
    log: options.log,
  });
  closers.push(() => agents.close());
  // An id in the policy's agents: and in the registry is a load error: at start, and at every reload.
  const clashes = agents.clashes(policy.current);
  if (clashes.length > 0) {
    agents.close();
    throw new StartRefusedError(clashes.join('; '));
  }
  policy.addCheck((next) => agents.clashes(next));
  governanceParts.registry = agents;

  // ---- limits and budgets ----
  // Rates and calls in flight are this process's; budgets are the data dir's (governance.db).
  const limits = Limits.open({
    dataDir: deps.options.dataDir,
    policy: () => deps.policy.current,
    now: deps.options.now,
    log: deps.options.log,
  });
  closers.push(() => limits.close());
  governanceParts.limits = limits;
  const budgets = (): readonly BudgetUsage[] => limits.usage();

  // ---- incidents and suspension ----
  const incidentStore = new SqliteIncidentStore(join(deps.options.dataDir, GOVERNANCE_DB));
  const incidents = new Incidents({
    store: incidentStore,
    policy: () => deps.policy.current,
    audit: deps.audit,
    changed: (agent) => changed(agent),
    withdraw: (agent, reason) => void deps.approvals.queue.withdrawAgent(agent, reason),
    log: deps.options.log,
    ...(deps.options.now !== undefined && { now: deps.options.now }),
  });
  suspensions = incidents;
  closers.push(() => {
    incidents.close();
    incidentStore.close();
  });
  governanceParts.suspensions = incidents;
  governanceParts.listeners = [...(governanceParts.listeners ?? []), incidents];
  // Every append from now on; the chain breaks the log found when it opened, before anyone observed.
  closers.push(deps.audit.observe((observation) => incidents.observe(observation)));
  for (const record of deps.audit.chainBreaks()) incidents.chainBroken(record);

  const governance = new Governance(governanceParts);
  changed = (agent) => governance.changed(agent);
  return {
    governance,
    limits,
    budgets,
    incidents,
    agents,
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

/**
 * Webhooks told of approvals waiting, incidents opened and agents suspended: built after the
 * approvals and the audit log it follows, re-configured on every accepted reload, and closed (a
 * short flush) before them.
 */
function openNotifications(deps: {
  options: AppOptions;
  env: NodeJS.ProcessEnv;
  policy: PolicySource;
  audit: AuditLog;
  approvals: Approvals;
  uiUrl: string | undefined;
}): Notifier {
  const { policy } = deps;
  const notifier = new Notifier({
    env: deps.env,
    uiUrl: () => deps.uiUrl,
    log: deps.options.log,
    timings: deps.options.notifications,
  });
  notifier.configure(policy.current.notifications);
  policy.onChange(({ policy: next }) => notifier.configure(next.notifications));
  notifier.follow({ approvals: deps.approvals.queue, audit: deps.audit });
  return notifier;
}

/** The registry's keys as the HTTP endpoint asks for them (the proxy knows no registry). */
function registryKeys(agents: AgentRegistry | undefined): RegistryKeys | undefined {
  if (!agents) return undefined;
  return { agentOf: (sha256) => agents.keyAgent(sha256), any: () => agents.hasKeys() };
}

/** Fails (and so refuses to start) when the audit directory cannot be used: nothing may run unrecorded. */
async function openAudit(
  dataDir: string,
  policy: PolicySource,
  log: (line: string) => void,
): Promise<AuditLog> {
  const audit = await AuditLog.open({ dataDir, redact: [...policy.current.audit.redact] });
  // Another proxy process shares the data dir: this one keeps its own chain (src/audit/README.md).
  if (audit.slot !== null && audit.slot > 1)
    log(`audit: writing to ${audit.dir} (writer slot ${audit.slot})`);
  return audit;
}

/** Events that are not a call's own (reloads, upstream lifecycle): a failed write is logged loudly. */
function recordQuietly(audit: AuditLog, log: (line: string) => void, event: AuditEvent): void {
  audit.append(event).catch((error: unknown) => {
    log(`AUDIT LOG WRITE FAILED for a ${event.event} event: ${errorText(error)}`);
  });
}

/** The upstream specs of the policy in force (and the `-- COMMAND`), re-resolved on every reload. */
class Upstreams {
  specs: UpstreamSpec[] = [];
  /** Why configured upstreams were not started (a missing variable, plain http to a remote host), for the Policy page. */
  errors: string[] = [];
  /** Which upstreams are down, across sessions: /health/ready, the start-up line, a client's error. */
  readonly health: UpstreamHealth;

  constructor(
    private readonly policy: PolicySource,
    private readonly command: CommandUpstream | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
    private readonly options: { preflight: boolean },
  ) {
    this.health = new UpstreamHealth(log);
    this.resolve();
  }

  resolve(): void {
    const resolved = resolveUpstreams(this.policy.current.servers, this.policy.dir, this.command, this.env);
    for (const error of resolved.errors) this.log(`upstream not started: ${error.message}`);
    const { naming, servers } = this.policy.current;
    const both = serversAndCommandWarning(servers, naming.prefix, naming.separator, this.command);
    if (both !== undefined) this.log(`warning: ${both}`);
    this.specs = resolved.specs;
    this.errors = resolved.errors.map((error) => `upstream not started: ${error.message}`);
    this.health.configure(
      this.specs,
      resolved.errors.flatMap((error) =>
        error.server === undefined ? [] : [{ server: error.server, reason: error.message }],
      ),
      this.options,
    );
  }

  /** A proxy with nothing behind it is a mistake in how it was started. */
  requireOne(): void {
    if (this.specs.length > 0 || this.command || Object.keys(this.policy.current.servers).length > 0) return;
    throw new StartRefusedError(
      'no upstream server: add `-- COMMAND ARGS...` or list `servers:` in the policy file',
    );
  }
}

/** When the policy in force was loaded and why the last reload was refused, for the Policy page. */
class ReloadStatus {
  private loadedAt = new Date();
  private refused: readonly string[] = [];

  accepted(): void {
    this.loadedAt = new Date();
    this.refused = [];
  }

  refusedWith(problems: readonly string[]): void {
    this.refused = problems;
  }

  status(policy: PolicySource): Omit<PolicyStatus, 'warnings'> {
    return {
      sha256: policy.current.sha256,
      loadedAt: this.loadedAt,
      file: policy.file,
      errors: this.refused,
    };
  }
}

/** The approval store and queue: calls the policy sends to review wait here, whether or not a UI is served. */
export interface Approvals {
  store: ApprovalStore;
  queue: ApprovalQueue;
  /** Standing grants (governance.db module `grants`): the queue asks them before a person. */
  grants: Grants;
  /** Where people decide, once the web part knows (named in pending results and progress). */
  uiUrl: string | undefined;
  close(): void;
}

export function openApprovals(deps: {
  dataDir: string;
  policy?: PolicySource | undefined;
  audit?: AuditLog | undefined;
  log(line: string): void;
}): Approvals {
  const store = new ApprovalStore(join(deps.dataDir, 'approvals.db'));
  let grantStore: GrantStore;
  try {
    grantStore = GrantStore.inDataDir(deps.dataDir);
  } catch (error) {
    store.close();
    throw error;
  }
  const settings = () => deps.policy?.current.approval ?? DEFAULT_APPROVAL_SETTINGS;
  const grants = new Grants({ store: grantStore, audit: deps.audit, maxMs: () => settings().grantMaxMs });
  const approvals: Approvals = {
    store,
    grants,
    queue: new ApprovalQueue({
      store,
      settings,
      uiUrl: () => approvals.uiUrl,
      dataDir: deps.dataDir,
      audit: deps.audit,
      onError: (error) => deps.log(`approvals: ${errorText(error)}`),
      grants,
      // The question asked in the client masks arguments as the approvals page does.
      redactArgs: deps.audit ? (args) => deps.audit?.review(args).value : undefined,
    }),
    uiUrl: undefined,
    close() {
      try {
        approvals.queue.close();
      } finally {
        try {
          store.close();
        } finally {
          grantStore.close();
        }
      }
    },
  };
  return approvals;
}

export interface Web {
  /** The UI this process serves; undefined when another process serves it or the UI is off. */
  server: WebServer | undefined;
  /** Where people decide, whichever process serves it. */
  uiUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * Serves the approvals UI unless it is off. Claude Desktop starts one proxy per server: the first to
 * bind the port serves the UI for all of them, and the shared database carries every decision and
 * login code between them.
 */
export async function startWeb(deps: {
  dataDir: string;
  ui: number | 'off';
  uiHost?: string | undefined;
  env: NodeJS.ProcessEnv;
  approvals: Approvals;
  audit?: AuditLog | undefined;
  policy?: PolicySource | undefined;
  /** The running proxy's pins: the Pins page decides on held definitions, and a decision applies at once. */
  pins?: PinGuard | undefined;
  /** The agent registry: the Agents page and /api/agents (both off without it). */
  agents?: AgentRegistry | undefined;
  /** Reviewer accounts: sign-in by personal token or password, and the Reviewers page (admin token only without them). */
  reviewers?: Reviewers | undefined;
  /** The running proxy's incidents: the Incidents page and its API, and the Compliance page's incidents. */
  incidents?: (() => Incidents | undefined) | undefined;
  policyStatus?: (() => PolicyStatus) | undefined;
  /** Whether every upstream is up (or not yet known down), for /health/ready. */
  upstreams?: (() => { ok: boolean; detail?: string | undefined }) | undefined;
  /** The webhooks' check for /health/ready: shown, but never makes the proxy unready. */
  notifications?: (() => { ok: boolean; detail?: string | undefined } | undefined) | undefined;
  /** The process's metrics registry, served at /metrics; the web part makes its own otherwise. */
  registry?: Registry | undefined;
  /** Print the one-time sign-in link (default true); off, the line names the admin token instead. */
  loginLink?: boolean | undefined;
  log: Log;
  /** The Compliance page's agent counts (the registry). */
  directory?: WebAppOptions['directory'];
  /** Who is suspended, for the Agents page. */
  suspension?: WebAppOptions['suspension'];
}): Promise<Web> {
  if (deps.ui === 'off') return { server: undefined, uiUrl: undefined, close: async () => {} };
  const host = deps.uiHost ?? '127.0.0.1';
  if (!isLoopback(host)) {
    deps.log(
      `approvals UI bound to ${host}: whoever reaches it and holds a sign-in link can decide approvals; publish its port to loopback only`,
      { level: 'warn' },
    );
  }
  const auth = new WebAuth({
    token: loadOrCreateToken(deps.dataDir, deps.env),
    db: deps.approvals.store.db,
    reviewers: deps.reviewers,
  });
  const { audit } = deps;
  const key = instanceKey(deps.dataDir);
  let server: WebServer | undefined;
  let uiUrl: string;
  const serve = (port: number) =>
    serveWeb({
      queue: deps.approvals.queue,
      grants: deps.approvals.grants,
      auth,
      host,
      port,
      instanceKey: key,
      policy: deps.policy ? () => deps.policy?.current : undefined,
      policyStatus: deps.policyStatus,
      ready: withNotifications(readiness(audit, deps.upstreams), deps.notifications),
      // The root: the UI and API read every writer's chain, not only this process's.
      auditDir: audit?.root,
      redactArgs: audit ? (args) => audit.review(args) : undefined,
      audit,
      registry: deps.registry,
      pins:
        deps.pins && audit
          ? { store: deps.pins.store, audit, applied: (server) => deps.pins?.refresh(server) }
          : undefined,
      agents: deps.agents,
      suspension: deps.suspension,
      directory: deps.directory,
      incidents: deps.incidents,
      log: deps.log,
    });
  try {
    server = await serve(deps.ui);
    uiUrl = server.url;
  } catch (error) {
    if (!(error instanceof WebPortInUseError)) throw error;
    const taken = `http://${urlHost(host)}:${error.port}`;
    if (await servesDataDir(taken, key)) {
      uiUrl = taken;
      deps.log(`approvals UI: ${uiUrl} is already served by another Portcullis process on this data dir`);
    } else {
      // Agents would be sent to a UI that cannot see this process's approvals: serve one of our own.
      server = await serve(0);
      uiUrl = server.url;
      deps.log(
        `approvals UI: port ${error.port} is taken by something that does not serve ${deps.dataDir} ` +
          `(another program, or a Portcullis on another data dir); serving this data dir's UI at ${uiUrl} instead`,
      );
    }
  }
  if (deps.loginLink === false) {
    // No code is issued at all: one never printed cannot leak from a log collector.
    deps.log(
      `approvals UI: ${uiUrl} (sign in with the admin token: PORTCULLIS_UI_TOKEN or ${join(deps.dataDir, 'ui-token')}; ` +
        'one-time links are not written to JSON logs)',
    );
  } else {
    deps.log(`approvals UI: sign in at ${auth.loginUrl(uiUrl)} (one-time link)`);
  }
  return { server, uiUrl, close: async () => server?.close() };
}

/** The audit log's readiness and the upstreams': any failure makes /health/ready 503. */
function readiness(
  audit: AuditLog | undefined,
  upstreams: (() => { ok: boolean; detail?: string | undefined }) | undefined,
): (() => ReadyReport) | undefined {
  if (!audit && !upstreams) return undefined;
  const auditReady = audit ? auditReadiness(audit) : undefined;
  return () => {
    const report = auditReady?.() ?? { ready: true, checks: {} };
    if (!upstreams) return report;
    const check = upstreams();
    return { ready: report.ready && check.ok, checks: { ...report.checks, upstreams: check } };
  };
}

/**
 * Adds the webhooks' check entry without touching `ready`: a chat service that is down must not take
 * a proxy that still decides and records calls out of a load balancer. Failing webhooks show here,
 * in the metrics and in the log.
 */
function withNotifications(
  ready: (() => ReadyReport) | undefined,
  notifications: (() => { ok: boolean; detail?: string | undefined } | undefined) | undefined,
): (() => ReadyReport) | undefined {
  if (!notifications) return ready;
  return () => {
    const report = ready?.() ?? { ready: true, checks: {} };
    const check = notifications();
    return check === undefined ? report : { ...report, checks: { ...report.checks, notifications: check } };
  };
}

function auditReadiness(audit: AuditLog): () => ReadyReport {
  return () => {
    const status = audit.status();
    return {
      ready: status.ok,
      checks: {
        audit: status.ok
          ? { ok: true }
          : { ok: false, detail: `audit log cannot be written: ${status.error}` },
      },
    };
  };
}

/** Every downstream session, one per MCP client; closing this closes them all. */
class Sessions {
  private readonly open = new Set<DownstreamSession>();

  /** How many sessions are open now (the metrics). */
  get count(): number {
    return this.open.size;
  }

  constructor(
    private readonly pool: UpstreamPool,
    private readonly depsFor: (agent: string) => ConstructorParameters<typeof DownstreamSession>[0],
  ) {}

  private readonly closers: Array<() => void> = [];

  /** Runs `close` when the sessions close (an unsubscribe). */
  closeWith(close: () => void): void {
    this.closers.push(close);
  }

  /** An agent's standing changed: its sessions' clients are told to list again. */
  standingChanged(agent: string): void {
    for (const session of this.open) if (session.agent === agent) session.standingChanged();
  }

  create(agent: string): DownstreamSession {
    const session = new DownstreamSession(this.depsFor(agent));
    this.open.add(session);
    session.onClosed(() => this.open.delete(session));
    return session;
  }

  /** Held tools were accepted: every open session's client is told to list tools again. */
  toolsChanged(): void {
    for (const session of this.open) session.toolsChanged();
  }

  /** Applies a new policy to every open session (re-lists, hides, re-routes). */
  policyChanged(log: (line: string) => void): void {
    for (const session of this.open) {
      session
        .policyChanged()
        .catch((error: unknown) => log(`applying the new policy failed: ${String(error)}`));
    }
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0)) close();
    try {
      await Promise.all([...this.open].map((s) => s.close()));
    } finally {
      // Idle shared upstreams wait for no one at shutdown.
      await this.pool.close();
    }
  }
}

/** A reload accepted: new upstream specs, redaction patterns, an audit record, every session told. A refusal: recorded. */
function followReloads(deps: {
  policy: PolicySource;
  audit: AuditLog;
  upstreams: Upstreams;
  sessions: Sessions;
  reloads: ReloadStatus;
  log(line: string): void;
}): void {
  const { policy, audit, log } = deps;
  policy.onChange(({ policy: next, previous }) => {
    deps.reloads.accepted();
    deps.upstreams.resolve();
    try {
      audit.setRedactPatterns([...next.audit.redact]);
    } catch (error) {
      log(`audit redaction patterns not applied: ${errorText(error)}`);
    }
    recordQuietly(audit, log, {
      event: 'policy_reload',
      outcome: 'accepted',
      old_sha256: previous.sha256,
      new_sha256: next.sha256,
      policy_sha256: next.sha256,
    });
    deps.sessions.policyChanged(log);
  });
  policy.onRefused((error) => {
    deps.reloads.refusedWith(error.problems.length > 0 ? error.problems : [error.message]);
    recordQuietly(audit, log, {
      event: 'policy_reload',
      outcome: 'refused',
      old_sha256: policy.current.sha256,
      policy_sha256: policy.current.sha256,
      reason: error.message,
      errors: error.problems,
    });
  });
  policy.watch();
}

interface Downstream {
  url: string | undefined;
  bound: string | undefined;
  /** Resolves when the proxy stops by itself (stdio: the client went away). */
  done: Promise<void>;
  finish(): void;
  close(): Promise<void>;
}

/** The MCP side clients talk to: Streamable HTTP on host:port, or one client over stdio. */
async function startDownstream(
  options: AppOptions,
  policy: PolicySource,
  sessions: Sessions,
  health?: WebApp,
  keys?: RegistryKeys,
): Promise<Downstream> {
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  if (!options.http) {
    const stdio = options.stdio ?? { stdin: process.stdin, stdout: process.stdout };
    const session = sessions.create(options.agent);
    // The client's stdin ending closes the transport, and so the session and its calls.
    const transport = new RequestGuard(
      new StdioDownstream(stdio.stdin, stdio.stdout, options.log),
      options.log,
    );
    transport.onerror = (error) => options.log(`stdio: ${error.message}`);
    session.onClosed(finish);
    await session.connect(transport);
    return { url: undefined, bound: undefined, done, finish, close: async () => {} };
  }
  const { host, port } = options.http;
  const reachable = !isLoopback(host);
  const allowAnonymous = !reachable || options.allowAnonymous === true;
  if (
    !allowAnonymous &&
    !policy.current.agents.some((a) => a.key_sha256 !== undefined) &&
    keys?.any() !== true
  ) {
    throw new StartRefusedError(
      `refusing to serve MCP anonymously on ${host}, which other hosts can reach: ` +
        'give agents keys (portcullis agents add, or agents: with key_sha256 in the policy), or pass --allow-anonymous',
    );
  }
  const endpoint = new HttpEndpoint({
    host,
    policy: () => policy.current,
    anonymousAgent: options.agent,
    allowAnonymous,
    registryKeys: keys,
    newSession: (agent) => sessions.create(agent),
    log: options.log,
  });
  if (health) endpoint.app.route('/', health.app as unknown as typeof endpoint.app);
  let listener: Awaited<ReturnType<typeof listen>>;
  try {
    listener = await listen(endpoint, host, port);
  } catch (error) {
    await endpoint.close();
    throw error;
  }
  return {
    url: listener.url,
    bound: listener.bound,
    done,
    finish,
    async close() {
      try {
        await listener.close();
      } finally {
        await endpoint.close();
      }
    },
  };
}
