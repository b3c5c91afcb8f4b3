// The Streamable HTTP endpoint (/mcp): one transport and one session per client, guarded by Host, Origin and key.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { Hono } from 'hono';
import type { CompiledPolicy } from '../policy/index.js';
import {
  closeServer,
  type HostGuardRefusal,
  hostGuard,
  hostRefusal,
  isWildcard,
  listenOn,
  urlHost,
} from '../util/index.js';
import { BoundedEventStore, DEFAULT_EVENT_STORE_BOUNDS, type EventStoreBounds } from './event-store.js';
import { endpointAllowlist, identify, type RegistryKeys } from './http-guard.js';
import { header, NodeHttpTransport, RESUMABLE_PROTOCOL, sendJson, sendRpcError } from './http-transport.js';
import { duplicateIdError, RequestGuard } from './request-guard.js';
import type { DownstreamSession } from './session.js';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** How often idle sessions are looked for, at most; shorter when the policy's idle timeout is short. */
const REAP_INTERVAL_MS = 5_000;
/** The `retry:` hint on resumable streams: how soon a client whose stream dropped reconnects. */
export const RETRY_INTERVAL_MS = 1_000;
export interface HttpEndpointOptions {
  host: string;
  policy(): CompiledPolicy;
  /** The agent of clients that present no key (only when the policy declares no keyed agents). */
  anonymousAgent: string;
  /**
   * Whether keyless clients are served when the policy declares no keyed agents. Off for an address
   * other hosts can reach unless the operator said so (`--allow-anonymous`): fail closed.
   */
  allowAnonymous?: boolean | undefined;
  newSession(agent: string): DownstreamSession;
  /** The agent registry's keys, besides the policy's (checked on every request). */
  registryKeys?: RegistryKeys | undefined;
  log(message: string): void;
  maxBodyBytes?: number | undefined;
  /** The clock idleness is measured by; tests pass their own instead of waiting. */
  now?: (() => number) | undefined;
  /** Count and byte bounds of each session's event store (its age bound is `sessions.resume_window`). */
  eventStore?: Partial<Omit<EventStoreBounds, 'maxAgeMs'>> | undefined;
}

interface Entry {
  transport: NodeHttpTransport;
  guard: RequestGuard;
  session: DownstreamSession;
  keyHash: string | null;
  lastSeen: number;
  /** The session's SSE events, while resumability is on. */
  events: BoundedEventStore | undefined;
  /** Requests whose stream dropped, cancelled unless the client resumes within the resume window. */
  detached: Set<NodeJS.Timeout>;
}

const REFUSALS: Record<HostGuardRefusal, string> = {
  host: 'Host header not allowed',
  origin: 'Origin not allowed',
  'cross-site': 'cross-site request refused',
};

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

/** What readBody gives when it has already answered (too large, not JSON) or the client is gone. */
const NO_BODY = Symbol('no body');

/** Whether a request target is the MCP endpoint: the path /mcp, with or without a query. */
function isMcpTarget(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/mcp')) return false;
  return url.length === 4 || url[4] === '?';
}

/** The ids of the JSON-RPC requests in a body (one message or a batch), in order. */
function requestIds(body: unknown): RequestId[] {
  const messages = Array.isArray(body) ? body : [body];
  const ids: RequestId[] = [];
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { id, method } = message as { id?: unknown; method?: unknown };
    if (typeof method === 'string' && (typeof id === 'string' || typeof id === 'number')) ids.push(id);
  }
  return ids;
}

function isInitialize(body: unknown): boolean {
  const message = Array.isArray(body) && body.length === 1 ? body[0] : body;
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { method?: unknown }).method === 'initialize'
  );
}

/**
 * The endpoint. /mcp is served on Node's request and response directly (NodeHttpTransport): the
 * web Request, ReadableStream and adapter per POST were most of what an HTTP call cost. Everything
 * else (health routes mounted by the app, 404s) goes to the Hono app, behind the same Host guard.
 */
export class HttpEndpoint {
  readonly app = new Hono();
  /** Node's request listener for the whole port: /mcp here, the rest through the Hono app. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly options: HttpEndpointOptions;
  private readonly sessions = new Map<string, Entry>();
  /** The port it listens on, once it does: from then on a Host must name it. */
  private port: number | undefined;
  /** Sessions being opened (initialize in progress), per agent: they count against the caps too. */
  private readonly opening = new Map<string, number>();
  private readonly maxBody: number;
  private reaper: NodeJS.Timeout | undefined;
  private reapEveryMs = 0;
  private readonly now: () => number;
  private readonly allowlist: ReturnType<typeof endpointAllowlist>;

  constructor(options: HttpEndpointOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.scheduleReaper();
    this.allowlist = endpointAllowlist(options.host, () => this.port);
    this.app.use(
      '*',
      hostGuard({
        ...this.allowlist,
        refuse: (_c, refusal) => rpcError(403, -32000, `Forbidden: ${REFUSALS[refusal]}`),
      }),
    );
    this.app.notFound(() => rpcError(404, -32000, 'Not found: the MCP endpoint is /mcp'));
    this.app.onError((error) => {
      options.log(`http: ${error.message}`);
      return rpcError(500, -32603, 'Internal error');
    });
    const rest = getRequestListener(this.app.fetch);
    this.listener = (req, res) => {
      if (!isMcpTarget(req.url)) {
        void rest(req, res);
        return;
      }
      this.serve(req, res).catch((error: unknown) => {
        options.log(`http: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) sendRpcError(res, 500, -32603, 'Internal error');
        else res.destroy();
      });
    };
  }

  /** Called once the socket is bound (listen() does): Host headers naming another port are refused from then on. */
  listeningOn(port: number): void {
    this.port = port;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The reaper runs four times per idle timeout (at most every 5 s), following policy reloads. */
  private scheduleReaper(): void {
    const every = Math.max(10, Math.min(REAP_INTERVAL_MS, this.options.policy().sessions.idleTimeoutMs / 4));
    if (every === this.reapEveryMs) return;
    clearInterval(this.reaper);
    this.reapEveryMs = every;
    this.reaper = setInterval(() => this.reapIdle(), every);
    this.reaper.unref();
  }

  /**
   * A session with no request for the policy's `sessions.idle_timeout` is closed, with its upstream
   * connections: a client that vanished without DELETE must not keep upstream processes alive
   * forever. A client that comes back gets 404 and initializes again, as the spec says it must.
   */
  private reapIdle(): void {
    const now = this.now();
    const idleTimeoutMs = this.options.policy().sessions.idleTimeoutMs;
    for (const [id, entry] of this.sessions) {
      // A call still running (a held approval, a slow tool) is not idleness: the clock starts when it ends.
      if (entry.session.busy) entry.lastSeen = now;
      if (now - entry.lastSeen < idleTimeoutMs) continue;
      this.sessions.delete(id);
      this.options.log(
        `http: closing session ${id.slice(0, 8)} of ${entry.session.agent}: idle for ${Math.round((now - entry.lastSeen) / 1000)} s`,
      );
      void entry.session.close();
    }
    this.scheduleReaper();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // No Host header (HTTP/1.0) names no allowed host: refused unless every Host is allowed.
    const refusal = hostRefusal(
      this.allowlist,
      (name) => header(req, name),
      () => '',
    );
    if (refusal !== undefined) {
      sendRpcError(res, 403, -32000, `Forbidden: ${REFUSALS[refusal]}`);
      return;
    }
    const who = identify(
      header(req, 'authorization'),
      this.options.policy(),
      this.options.anonymousAgent,
      this.options.allowAnonymous ?? true,
      this.options.registryKeys,
    );
    if (!who.ok) {
      sendRpcError(res, 401, -32001, `Unauthorized: ${who.message}`, {
        'www-authenticate': 'Bearer realm="portcullis"',
      });
      return;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId !== undefined) {
      const entry = this.sessions.get(sessionId);
      if (!entry) return sendRpcError(res, 404, -32001, 'Session not found');
      // A session stays with the key that opened it: another key cannot ride on a leaked session id.
      if (entry.keyHash !== who.keyHash || entry.session.agent !== who.agent) {
        return sendRpcError(res, 403, -32000, 'Forbidden: this session belongs to another agent');
      }
      entry.lastSeen = this.now();
      if (req.method === 'GET') return this.get(entry, req, res);
      if (req.method === 'DELETE') {
        entry.transport.handleDelete(req, res);
        return;
      }
      if (req.method !== 'POST') {
        entry.transport.handleOther(res);
        return;
      }
      const parsed = await this.readBody(req, res);
      if (parsed === NO_BODY) return;
      return this.post(entry, req, res, parsed);
    }
    if (req.method !== 'POST')
      return sendRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    const parsed = await this.readBody(req, res);
    if (parsed === NO_BODY) return;
    if (!isInitialize(parsed))
      return sendRpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
    if (this.refusedOverCap(who.agent, res)) return;
    await this.open(req, res, parsed, who.agent, who.keyHash);
  }

  /**
   * The parsed JSON body; NO_BODY once a response for one that is too large or not JSON was sent,
   * or when the client went away before it was all read.
   */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const tooLarge = (): typeof NO_BODY => {
      // The rest of the body is not read: the connection closes after this answer.
      res.setHeader('connection', 'close');
      sendRpcError(res, 413, -32000, `Payload Too Large: the limit is ${this.maxBody} bytes`);
      return NO_BODY;
    };
    const length = header(req, 'content-length');
    if (length !== undefined && /^\d+$/.test(length) && Number(length) > this.maxBody) {
      return Promise.resolve(tooLarge());
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const settle = (value: unknown): void => {
        if (settled) return;
        settled = true;
        req.off('data', onData);
        resolve(value);
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > this.maxBody) {
          settle(tooLarge());
          req.resume();
          return;
        }
        chunks.push(chunk);
      };
      req.on('data', onData);
      req.once('end', () => {
        const text =
          chunks.length === 1
            ? (chunks[0] as Buffer).toString('utf8')
            : Buffer.concat(chunks).toString('utf8');
        try {
          settle(JSON.parse(text));
        } catch {
          sendRpcError(res, 400, -32700, 'Parse error: Invalid JSON');
          settle(NO_BODY);
        }
      });
      // A client that goes away mid-body: nothing to answer.
      req.once('error', () => settle(NO_BODY));
      req.once('close', () => settle(NO_BODY));
    });
  }

  /**
   * A GET: the standalone stream, or with `Last-Event-ID` the resumption of a dropped one. An id the
   * store no longer holds is refused (the client missed events and must know it); a resume keeps
   * the session's detached calls running.
   */
  private get(entry: Entry, req: IncomingMessage, res: ServerResponse): void {
    const lastEventId = header(req, 'last-event-id');
    if (lastEventId === undefined || !header(req, 'accept')?.includes('text/event-stream')) {
      entry.transport.handleGet(req, res);
      return;
    }
    if (!entry.events) {
      sendRpcError(res, 400, -32000, 'Bad Request: this proxy does not resume streams');
      return;
    }
    if (!entry.events.has(lastEventId)) {
      sendRpcError(
        res,
        404,
        -32000,
        'Not Found: that event is no longer stored (older than sessions.resume_window, or past the store bounds); its stream cannot be resumed',
      );
      return;
    }
    if (entry.transport.handleGet(req, res) === 200) {
      for (const timer of entry.detached) clearTimeout(timer);
      entry.detached.clear();
    }
  }

  /**
   * A POST on an open session. Its request ids are claimed before the transport sees them (a
   * reused id is refused here: past this point it would replace the first request's stream). When
   * the client's connection closes before they are answered, they are cancelled: at once when the
   * stream cannot be resumed (no event store, or a client too old to resume), else after the
   * resume window unless the client resumes a stream of the session before that.
   */
  private post(entry: Entry, req: IncomingMessage, res: ServerResponse, parsed: unknown): void {
    // Gone while its body was read: nothing was handed on, nothing to cancel.
    if (res.destroyed) return;
    const ids = requestIds(parsed);
    const duplicate = entry.guard.reserve(ids);
    if (duplicate !== undefined) {
      sendJson(res, 400, duplicateIdError(duplicate));
      return;
    }
    let outcome: ReturnType<NodeHttpTransport['handlePost']>;
    try {
      outcome = entry.transport.handlePost(req, res, parsed);
    } finally {
      entry.guard.release(ids);
    }
    const { streamId } = outcome;
    if (ids.length === 0 || streamId === undefined) return;
    // A client resumes a stream when it speaks a protocol that does and was handed an event id of
    // it (the priming event, sent when the answer is not back as JSON within the transport's window).
    const modern = (header(req, 'mcp-protocol-version') ?? '') >= RESUMABLE_PROTOCOL;
    res.once('close', () => {
      if (res.writableFinished) return;
      if (!modern || !entry.transport.holdsCursor(streamId)) {
        entry.guard.abandon(ids, 'the client closed its connection');
        return;
      }
      const timer = setTimeout(() => {
        entry.detached.delete(timer);
        entry.guard.abandon(ids, 'the client did not resume its stream within sessions.resume_window');
      }, this.options.policy().sessions.resumeWindowMs);
      timer.unref();
      entry.detached.add(timer);
    });
  }

  /** Answers 429 when the agent has its most sessions open, 503 when the proxy has; false when there is room. */
  private refusedOverCap(agent: string, res: ServerResponse): boolean {
    const { max, maxPerAgent } = this.options.policy().sessions;
    let total = 0;
    let mine = 0;
    for (const entry of this.sessions.values()) {
      total += 1;
      if (entry.session.agent === agent) mine += 1;
    }
    for (const [who, count] of this.opening) {
      total += count;
      if (who === agent) mine += count;
    }
    const advice = 'close sessions you no longer use (HTTP DELETE), or raise the limit in the policy';
    if (mine >= maxPerAgent) {
      this.options.log(
        `http: refused a new session of ${agent}: it has ${mine} open (sessions.max_per_agent)`,
      );
      sendRpcError(
        res,
        429,
        -32000,
        `Too many sessions: agent ${agent} has ${mine} open, the most allowed is ${maxPerAgent} (sessions.max_per_agent); ${advice}`,
        { 'retry-after': '60' },
      );
      return true;
    }
    if (total >= max) {
      this.options.log(`http: refused a new session of ${agent}: ${total} are open (sessions.max)`);
      sendRpcError(
        res,
        503,
        -32000,
        `Too many sessions: ${total} are open, the most allowed is ${max} (sessions.max); ${advice}`,
        { 'retry-after': '60' },
      );
      return true;
    }
    return false;
  }

  private async open(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    agent: string,
    keyHash: string | null,
  ): Promise<void> {
    this.opening.set(agent, (this.opening.get(agent) ?? 0) + 1);
    try {
      const session = this.options.newSession(agent);
      const resumeWindowMs = this.options.policy().sessions.resumeWindowMs;
      const events =
        resumeWindowMs > 0
          ? new BoundedEventStore({
              ...DEFAULT_EVENT_STORE_BOUNDS,
              ...this.options.eventStore,
              maxAgeMs: resumeWindowMs,
            })
          : undefined;
      const detached = new Set<NodeJS.Timeout>();
      const transport = new NodeHttpTransport({
        sessionId: () => randomUUID(),
        events,
        retryMs: RETRY_INTERVAL_MS,
        onSessionInitialized: (id) => {
          this.sessions.set(id, {
            transport,
            guard,
            session,
            keyHash,
            lastSeen: this.now(),
            events,
            detached,
          });
        },
      });
      const guard = new RequestGuard(transport, this.options.log);
      session.onClosed(() => {
        if (transport.sessionId !== undefined) this.sessions.delete(transport.sessionId);
        for (const timer of detached) clearTimeout(timer);
        detached.clear();
        events?.clear();
      });
      await session.connect(guard);
      // Gone while the session connected its upstreams: nobody to hand a session id to.
      if (res.destroyed) {
        void session.close();
        return;
      }
      transport.handlePost(req, res, body);
      if (transport.sessionId === undefined) void session.close();
    } finally {
      const left = (this.opening.get(agent) ?? 1) - 1;
      if (left > 0) this.opening.set(agent, left);
      else this.opening.delete(agent);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    const entries = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(entries.map((e) => e.session.close()));
  }
}

export interface HttpListener {
  /** Where a client on this machine reaches the endpoint. */
  url: string;
  port: number;
  /** The socket's own address and port as bound (`0.0.0.0:3000`, `[::1]:3000`), for the start-up line. */
  bound: string;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks a free port) and resolves once the socket is bound. */
export async function listen(endpoint: HttpEndpoint, host: string, port: number): Promise<HttpListener> {
  const server = createServer(endpoint.listener);
  const address = await listenOn(server, host, port);
  endpoint.listeningOn(address.port);
  const urlHostname = isWildcard(host) ? '127.0.0.1' : urlHost(host);
  return {
    url: `http://${urlHostname}:${address.port}/mcp`,
    port: address.port,
    bound: `${urlHost(address.address)}:${address.port}`,
    async close() {
      await endpoint.close();
      await closeServer(server);
    },
  };
}
