// Composition root of the proxy: policy source, audit sink, gate, sessions and the downstream endpoint.

import type { Readable, Writable } from 'node:stream';
import { AuditLog } from './audit/index.js';
import type { AuditEvent, AuditSink } from './audit/types.js';
import { UsageError } from './commands/io.js';
import {
  Ambiguities,
  type CommandUpstream,
  DownstreamSession,
  errorText,
  Gate,
  HttpEndpoint,
  type HttpListener,
  isLoopback,
  listen,
  PolicySource,
  PROXY_INFO,
  RequestGuard,
  type RoutingTimings,
  resolveUpstreams,
  StdioDownstream,
  type UpstreamSpec,
  type UpstreamTransportFactory,
  unprefixedServers,
} from './proxy/index.js';
import { type Approvals, startApprovals } from './web/index.js';

export interface AppOptions {
  policyFile: string;
  /** Serve Streamable HTTP on host:port; otherwise serve one client over `stdio`. */
  http?: { host: string; port: number } | undefined;
  stdio?: { stdin: Readable; stdout: Writable } | undefined;
  /** The approvals web UI's port (0 = a free one) or off. */
  ui: number | 'off';
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
  log(line: string): void;
}

export interface App {
  policy: PolicySource;
  audit: AuditLog;
  approvals: Approvals;
  /** The MCP endpoint URL in HTTP mode. */
  url: string | undefined;
  /** The address and port the HTTP endpoint's socket is bound to (`0.0.0.0:3000`). */
  bound: string | undefined;
  /** Resolves when the proxy stops by itself (stdio: the client went away). */
  done: Promise<void>;
  close(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<App> {
  const { log } = options;
  const env = options.env ?? process.env;
  const policy = await PolicySource.open(options.policyFile, log);
  /** What has started so far: stopped newest first, on a start that fails part-way and at close. */
  const stops: (() => unknown)[] = [() => policy.close()];
  const stopAll = async (): Promise<void> => {
    let failed = false;
    let failure: unknown;
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
    if (failed) throw failure;
  };
  try {
    return await compose(options, env, policy, stops, stopAll);
  } catch (error) {
    await stopAll().catch((cleanup: unknown) => log(`cleanup after a failed start: ${errorText(cleanup)}`));
    throw error;
  }
}

/** Builds and starts the parts after the policy; pushes each part's stop onto `stops` as soon as it runs. */
async function compose(
  options: AppOptions,
  env: NodeJS.ProcessEnv,
  policy: PolicySource,
  stops: (() => unknown)[],
  stopAll: () => Promise<void>,
): Promise<App> {
  const { log } = options;
  // Fails (and so refuses to start) when the audit directory cannot be used: nothing may run unrecorded.
  const audit = await AuditLog.open({ dataDir: options.dataDir, redact: [...policy.current.audit.redact] });
  stops.push(() => audit.close());
  // Another proxy process shares the data dir: this one keeps its own chain (src/audit/README.md).
  if (audit.slot !== null && audit.slot > 1)
    log(`audit: writing to ${audit.dir} (writer slot ${audit.slot})`);
  /** Events that are not a call's own (reloads, upstream lifecycle): a failed write is logged loudly. */
  const record = (event: AuditEvent): void => {
    audit.append(event).catch((error: unknown) => {
      log(`AUDIT LOG WRITE FAILED for a ${event.event} event: ${errorText(error)}`);
    });
  };

  let specs: UpstreamSpec[] = [];
  const resolveSpecs = (): void => {
    const resolved = resolveUpstreams(policy.current.servers, policy.dir, options.command, env);
    for (const error of resolved.errors) log(`upstream not started: ${error.message}`);
    specs = resolved.specs;
  };
  resolveSpecs();
  if (specs.length === 0 && !options.command && Object.keys(policy.current.servers).length === 0) {
    throw new UsageError(
      'no upstream server: add `-- COMMAND ARGS...` or list `servers:` in the policy file',
    );
  }

  const sink: AuditSink = audit;
  // One for all sessions: a name seen ambiguous in any session is refused in every one.
  const ambiguities = new Ambiguities(log);
  let policyLoadedAt = new Date();
  let refusedReload: readonly string[] = [];
  const approvals = await startApprovals({
    dataDir: options.dataDir,
    ui: options.ui,
    env,
    log,
    audit: sink,
    // The root: the UI and API read every writer's chain, not only this process's.
    auditDir: audit.root,
    redactArgs: (args) => audit.review(args),
    policy: () => policy.current,
    policyStatus: () => ({
      sha256: policy.current.sha256,
      loadedAt: policyLoadedAt,
      file: policy.file,
      errors: refusedReload,
      warnings: ambiguities.warnings(unprefixedServers(policy.current.naming, specs)),
    }),
    ready: () => {
      const status = audit.status();
      return {
        ready: status.ok,
        checks: {
          audit: status.ok
            ? { ok: true }
            : { ok: false, detail: `audit log cannot be written: ${status.error}` },
        },
      };
    },
  });
  stops.push(() => approvals.close());
  const gate = new Gate({ policy: () => policy.current, audit: sink, review: approvals.review, log });
  const sessions = new Set<DownstreamSession>();
  stops.push(() => Promise.all([...sessions].map((s) => s.close())));
  const newSession = (agent: string): DownstreamSession => {
    const session = new DownstreamSession({
      agent,
      policy: () => policy.current,
      upstreams: () => specs,
      gate,
      info: PROXY_INFO,
      log,
      lifecycle: (server, action, detail) => record({ event: 'upstream', server, action, agent, detail }),
      ambiguities,
      routing: options.routing,
      upstreamTransport: options.upstreamTransport,
    });
    sessions.add(session);
    session.onClosed(() => sessions.delete(session));
    return session;
  };

  policy.onChange(({ policy: next, previous }) => {
    policyLoadedAt = new Date();
    refusedReload = [];
    resolveSpecs();
    try {
      audit.setRedactPatterns([...next.audit.redact]);
    } catch (error) {
      log(`audit redaction patterns not applied: ${errorText(error)}`);
    }
    record({
      event: 'policy_reload',
      outcome: 'accepted',
      old_sha256: previous.sha256,
      new_sha256: next.sha256,
      policy_sha256: next.sha256,
    });
    for (const session of sessions) {
      session
        .policyChanged()
        .catch((error: unknown) => log(`applying the new policy failed: ${String(error)}`));
    }
  });
  policy.onRefused((error) => {
    refusedReload = error.problems.length > 0 ? error.problems : [error.message];
    record({
      event: 'policy_reload',
      outcome: 'refused',
      old_sha256: policy.current.sha256,
      policy_sha256: policy.current.sha256,
      reason: error.message,
      errors: error.problems,
    });
  });
  policy.watch();

  let listener: HttpListener | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  if (options.http) {
    const reachable = !isLoopback(options.http.host);
    const allowAnonymous = !reachable || options.allowAnonymous === true;
    if (!allowAnonymous && !policy.current.agents.some((a) => a.key_sha256 !== undefined)) {
      throw new UsageError(
        `refusing to serve MCP anonymously on ${options.http.host}, which other hosts can reach: ` +
          'give agents keys (agents: with key_sha256 in the policy), or pass --allow-anonymous',
      );
    }
    const endpoint = new HttpEndpoint({
      host: options.http.host,
      policy: () => policy.current,
      anonymousAgent: options.agent,
      allowAnonymous,
      newSession,
      log,
    });
    stops.push(() => endpoint.close());
    const bound = await listen(endpoint, options.http.host, options.http.port);
    stops.push(() => bound.close());
    listener = bound;
  } else {
    const stdio = options.stdio ?? { stdin: process.stdin, stdout: process.stdout };
    const session = newSession(options.agent);
    // The client's stdin ending closes the transport, and so the session and its calls.
    const transport = new RequestGuard(new StdioDownstream(stdio.stdin, stdio.stdout, log), log);
    transport.onerror = (error) => log(`stdio: ${error.message}`);
    session.onClosed(finish);
    await session.connect(transport);
  }

  let closing: Promise<void> | undefined;
  return {
    policy,
    audit,
    approvals,
    url: listener?.url,
    bound: listener?.bound,
    done,
    close() {
      closing ??= (async () => {
        // No reload may start while the parts go away.
        policy.close();
        try {
          await stopAll();
        } finally {
          finish();
        }
      })();
      return closing;
    },
  };
}
