// The Streamable HTTP endpoint (/mcp): one transport and one session per client, guarded by Host, Origin and key.

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { readRequestBody } from '@modelcontextprotocol/sdk/server/requestBody.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import type { CompiledPolicy } from '../policy/types.js';
import { allowedHostnames, hostAllowed, identify, isWildcard, originAllowed } from './http-guard.js';
import type { DownstreamSession } from './session.js';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/**
 * A session with no request for this long is closed, with its upstream connections: a client that
 * vanished without DELETE must not keep upstream processes alive forever. Far longer than any approval
 * hold; a client that comes back after it gets 404 and initializes again, as the spec says it must.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;

export interface HttpEndpointOptions {
  host: string;
  policy(): CompiledPolicy;
  /** The agent of clients that present no key (only when the policy declares no keyed agents). */
  anonymousAgent: string;
  newSession(agent: string): DownstreamSession;
  log(message: string): void;
  maxBodyBytes?: number | undefined;
  idleTimeoutMs?: number | undefined;
}

interface Entry {
  transport: WebStandardStreamableHTTPServerTransport;
  session: DownstreamSession;
  keyHash: string | null;
  lastSeen: number;
}

function rpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function isInitialize(body: unknown): boolean {
  const message = Array.isArray(body) && body.length === 1 ? body[0] : body;
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { method?: unknown }).method === 'initialize'
  );
}

export class HttpEndpoint {
  readonly app = new Hono();
  private readonly options: HttpEndpointOptions;
  private readonly sessions = new Map<string, Entry>();
  private readonly allowed: Set<string>;
  private readonly maxBody: number;
  private readonly idleTimeoutMs: number;
  private readonly reaper: NodeJS.Timeout;

  constructor(options: HttpEndpointOptions) {
    this.options = options;
    this.allowed = allowedHostnames(options.host);
    this.maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.reaper = setInterval(() => this.reapIdle(), Math.max(10, Math.min(60_000, this.idleTimeoutMs / 4)));
    this.reaper.unref();
    const wildcard = isWildcard(options.host);
    this.app.use('*', async (c, next) => {
      // @hono/node-server builds the request URL from the Host header, so the URL's host is the Host.
      if (!hostAllowed(new URL(c.req.url).host, this.allowed, wildcard)) {
        return rpcError(403, -32000, 'Forbidden: Host header not allowed');
      }
      if (!originAllowed(c.req.header('origin'), this.allowed)) {
        return rpcError(403, -32000, 'Forbidden: Origin not allowed');
      }
      await next();
    });
    this.app.all('/mcp', (c) => this.handle(c.req.raw));
    this.app.notFound(() => rpcError(404, -32000, 'Not found: the MCP endpoint is /mcp'));
    this.app.onError((error) => {
      options.log(`http: ${error.message}`);
      return rpcError(500, -32603, 'Internal error');
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private reapIdle(): void {
    const now = Date.now();
    for (const [id, entry] of this.sessions) {
      // A call still running (a held approval, a slow tool) is not idleness: the clock starts when it ends.
      if (entry.session.busy) entry.lastSeen = now;
      if (now - entry.lastSeen < this.idleTimeoutMs) continue;
      this.sessions.delete(id);
      this.options.log(
        `http: closing session ${id.slice(0, 8)} of ${entry.session.agent}: idle for ${Math.round((now - entry.lastSeen) / 1000)} s`,
      );
      void entry.session.close();
    }
  }

  private async handle(request: Request): Promise<Response> {
    const who = identify(
      request.headers.get('authorization') ?? undefined,
      this.options.policy(),
      this.options.anonymousAgent,
    );
    if (!who.ok) {
      return rpcError(401, -32001, `Unauthorized: ${who.message}`, {
        'www-authenticate': 'Bearer realm="portcullis"',
      });
    }
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const entry = this.sessions.get(sessionId);
      if (!entry) return rpcError(404, -32001, 'Session not found');
      // A session stays with the key that opened it: another key cannot ride on a leaked session id.
      if (entry.keyHash !== who.keyHash || entry.session.agent !== who.agent) {
        return rpcError(403, -32000, 'Forbidden: this session belongs to another agent');
      }
      entry.lastSeen = Date.now();
      return entry.transport.handleRequest(request);
    }
    if (request.method !== 'POST')
      return rpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const body = await readRequestBody(request, this.maxBody);
    if (body.tooLarge) return rpcError(413, -32000, `Payload Too Large: the limit is ${this.maxBody} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text ?? '');
    } catch {
      return rpcError(400, -32700, 'Parse error: Invalid JSON');
    }
    if (!isInitialize(parsed)) return rpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    return this.open(request, parsed, who.agent, who.keyHash);
  }

  private async open(
    request: Request,
    parsedBody: unknown,
    agent: string,
    keyHash: string | null,
  ): Promise<Response> {
    const session = this.options.newSession(agent);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: this.maxBody,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { transport, session, keyHash, lastSeen: Date.now() });
      },
    });
    session.onClosed(() => {
      if (transport.sessionId !== undefined) this.sessions.delete(transport.sessionId);
    });
    await session.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody });
    if (transport.sessionId === undefined) void session.close();
    return response;
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(entries.map((e) => e.session.close()));
  }
}

export interface HttpListener {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks a free port) and resolves once the socket is bound. */
export async function listen(endpoint: HttpEndpoint, host: string, port: number): Promise<HttpListener> {
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: endpoint.app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const urlHost = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}/mcp`,
    port: address.port,
    async close() {
      await endpoint.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open SSE streams would hold close() forever.
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}
