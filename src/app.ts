// Composition root of the proxy: policy source, audit sink, gate, sessions and the downstream endpoint.

import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { AuditLog } from './audit/index.js';
import type { AuditEvent, AuditSink } from './audit/types.js';
import { UsageError } from './commands/io.js';
import {
  type CommandUpstream,
  DownstreamSession,
  Gate,
  HttpEndpoint,
  type HttpListener,
  listen,
  PolicySource,
  PROXY_INFO,
  resolveUpstreams,
  type UpstreamSpec,
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
  command?: CommandUpstream | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  log(line: string): void;
}

export interface App {
  policy: PolicySource;
  audit: AuditLog;
  approvals: Approvals;
  /** The MCP endpoint URL in HTTP mode. */
  url: string | undefined;
  /** Resolves when the proxy stops by itself (stdio: the client went away). */
  done: Promise<void>;
  close(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<App> {
  const { log } = options;
  const env = options.env ?? process.env;
  const policy = await PolicySource.open(options.policyFile, log);
  // Fails (and so refuses to start) when the audit directory cannot be used: nothing may run unrecorded.
  const audit = await AuditLog.open({ dataDir: options.dataDir, redact: [...policy.current.audit.redact] });
  /** Events that are not a call's own (reloads, upstream lifecycle): a failed write is logged loudly. */
  const record = (event: AuditEvent): void => {
    audit.append(event).catch((error: unknown) => {
      log(
        `AUDIT LOG WRITE FAILED for a ${event.event} event: ${error instanceof Error ? error.message : String(error)}`,
      );
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
  let policyLoadedAt = new Date();
  let refusedReload: readonly string[] = [];
  let approvals: Approvals;
  try {
    approvals = await startApprovals({
      dataDir: options.dataDir,
      ui: options.ui,
      env,
      log,
      audit: sink,
      auditDir: audit.dir,
      redactArgs: (args) => audit.redact(args),
      policy: () => policy.current,
      policyStatus: () => ({
        sha256: policy.current.sha256,
        loadedAt: policyLoadedAt,
        file: policy.file,
        errors: refusedReload,
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
  } catch (error) {
    policy.close();
    await audit.close();
    throw error;
  }
  const gate = new Gate({ policy: () => policy.current, audit: sink, review: approvals.review, log });
  const sessions = new Set<DownstreamSession>();
  const newSession = (agent: string): DownstreamSession => {
    const session = new DownstreamSession({
      agent,
      policy: () => policy.current,
      upstreams: () => specs,
      gate,
      info: PROXY_INFO,
      log,
      lifecycle: (server, action, detail) => record({ event: 'upstream', server, action, agent, detail }),
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
      log(`audit redaction patterns not applied: ${error instanceof Error ? error.message : String(error)}`);
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
  let endpoint: HttpEndpoint | undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  try {
    if (options.http) {
      endpoint = new HttpEndpoint({
        host: options.http.host,
        policy: () => policy.current,
        anonymousAgent: options.agent,
        newSession,
        log,
      });
      listener = await listen(endpoint, options.http.host, options.http.port);
    } else {
      const stdio = options.stdio ?? { stdin: process.stdin, stdout: process.stdout };
      const session = newSession(options.agent);
      const transport = new StdioServerTransport(stdio.stdin, stdio.stdout);
      transport.onerror = (error) => {
        // A line that is not JSON gets a JSON-RPC parse error instead of silence; the session goes on.
        if (error instanceof SyntaxError) {
          stdio.stdout.write(
            `${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })}\n`,
          );
        }
        log(`stdio: ${error.message}`);
      };
      session.onClosed(finish);
      stdio.stdin.once('end', () => {
        void session.close();
      });
      await session.connect(transport);
    }
  } catch (error) {
    policy.close();
    await approvals.close();
    await audit.close();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    policy,
    audit,
    approvals,
    url: listener?.url,
    done,
    close() {
      closing ??= (async () => {
        policy.close();
        try {
          await listener?.close();
        } finally {
          await Promise.all([...sessions].map((s) => s.close()));
          await approvals.close();
          await audit.close();
          finish();
        }
      })();
      return closing;
    },
  };
}
