// Composition root of the proxy: policy source, audit sink, gate, sessions and the downstream endpoint.

import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { AuditSink } from './audit/types.js';
import { UsageError } from './commands/io.js';
import {
  type CommandUpstream,
  DownstreamSession,
  denyReviews,
  Gate,
  HttpEndpoint,
  type HttpListener,
  JsonlAuditSink,
  listen,
  PolicySource,
  PROXY_INFO,
  type ReviewHandler,
  resolveUpstreams,
  type UpstreamSpec,
} from './proxy/index.js';

export interface AppOptions {
  policyFile: string;
  /** Serve Streamable HTTP on host:port; otherwise serve one client over `stdio`. */
  http?: { host: string; port: number } | undefined;
  stdio?: { stdin: Readable; stdout: Writable } | undefined;
  /** The web UI's port or off; carried for the web UI, which is wired separately. */
  ui: number | 'off';
  dataDir: string;
  /** stdio: the caller's agent id; HTTP: the agent of keyless clients when the policy has no keyed agents. */
  agent: string;
  command?: CommandUpstream | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  log(line: string): void;
  /** Where review decisions go; defaults to denying them until the approval queue is wired in. */
  review?: ReviewHandler | undefined;
  audit?: AuditSink | undefined;
}

export interface App {
  policy: PolicySource;
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
  // The one line to change when the hash-chained AuditLog replaces the plain JSONL sink.
  const audit: AuditSink = options.audit ?? new JsonlAuditSink(options.dataDir);

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

  const gate = new Gate({ policy: () => policy.current, audit, review: options.review ?? denyReviews, log });
  const sessions = new Set<DownstreamSession>();
  const newSession = (agent: string): DownstreamSession => {
    const session = new DownstreamSession({
      agent,
      policy: () => policy.current,
      upstreams: () => specs,
      gate,
      info: PROXY_INFO,
      log,
    });
    sessions.add(session);
    session.onClosed(() => sessions.delete(session));
    return session;
  };

  policy.onChange(({ policy: next }) => {
    resolveSpecs();
    audit
      .append({ event: 'policy_reload', policy_sha256: next.sha256, reason: 'policy file changed' })
      .catch(() => {
        log('audit log write failed for a policy reload');
      });
    for (const session of sessions) {
      session
        .policyChanged()
        .catch((error: unknown) => log(`applying the new policy failed: ${String(error)}`));
    }
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
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    policy,
    url: listener?.url,
    done,
    close() {
      closing ??= (async () => {
        policy.close();
        try {
          await listener?.close();
        } finally {
          await Promise.all([...sessions].map((s) => s.close()));
          finish();
        }
      })();
      return closing;
    },
  };
}
