// One live connection from the proxy to one upstream MCP server, restarted with backoff when it drops.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type ClientCapabilities,
  ErrorCode,
  type Implementation,
  type JSONRPCNotification,
  type JSONRPCRequest,
  McpError,
  type Result,
  ResultSchema,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import {
  decorrelatedJitterGenerator,
  ExponentialBackoff,
  type IBackoff,
  type IBackoffFactory,
} from 'cockatiel';
import { DirectRequests } from './direct-requests.js';
import { errorText, RpcError, toRpcError } from './errors.js';
import { OrderedTransport } from './ordered-transport.js';
import { dispatchByShape } from './protocol-dispatch.js';
import { StdioUpstreamTransport } from './stdio-upstream.js';
import { fetchTrusting } from './tls-fetch.js';
import type { UpstreamSpec } from './upstream-spec.js';

/** Longest the proxy itself waits for an upstream answer; the client's own timeout and cancellation act first. */
export const UPSTREAM_REQUEST_TIMEOUT_MS = 30 * 60_000;
/** How long an HTTP upstream has to answer the ping that asks whether it is still there. */
const PROBE_TIMEOUT_MS = 5_000;
/** How long closing waits for an HTTP upstream to acknowledge the end of its session (DELETE). */
const TERMINATE_TIMEOUT_MS = 2_000;

type ServerToClientHandler = Parameters<NonNullable<Client['fallbackRequestHandler']>>[1];

export interface UpstreamHooks {
  /** A notification from the upstream (list changes, logging, resource updates, ...). */
  notification(upstream: UpstreamConnection, notification: JSONRPCNotification): void;
  /** A request from the upstream to the client (sampling, elicitation, roots). */
  request(
    upstream: UpstreamConnection,
    request: JSONRPCRequest,
    extra: ServerToClientHandler,
  ): Promise<Result>;
  /** Connected again after a drop; its lists may have changed. */
  reconnected(upstream: UpstreamConnection): void;
  /** The connection dropped (it is being restarted); what it listed may change. */
  dropped?(upstream: UpstreamConnection): void;
  /**
   * A connection attempt failed, or a running upstream dropped. `error` is fit for the client (no
   * command line, which may hold expanded secrets); `detail` is for the operator's log: the command,
   * its cwd, the error and the child's last stderr line.
   */
  failed?(upstream: UpstreamConnection, error: string, detail: string): void;
  /** Lifecycle for the audit log: first connection, a drop, a reconnection after a drop. */
  lifecycle?(upstream: UpstreamConnection, action: UpstreamLifecycle, detail: string | undefined): void;
  log(message: string): void;
}

export type UpstreamLifecycle = 'started' | 'exited' | 'restarted';

export interface UpstreamInit {
  /** The downstream client's own name and version, passed on so the upstream sees who is calling. */
  clientInfo: Implementation;
  /** Only the downstream client's sampling / elicitation / roots capabilities: upstreams change behaviour on them. */
  capabilities: ClientCapabilities;
}

/**
 * The client side of the proxy towards one upstream. The low-level Client's capability checks are
 * switched off: the proxy forwards an allowlist of methods itself and must not second-guess peers.
 */
class PassthroughClient extends Client {
  protected override assertCapabilityForMethod(): void {}
  protected override assertNotificationCapability(): void {}
  protected override assertRequestHandlerCapability(): void {}
}

export type UpstreamState = 'connecting' | 'up' | 'down' | 'closed';

/** How a dropped or refused upstream is retried; tests pass short delays. */
export interface RestartPolicy {
  /** The waits before successive attempts; a healthy connection starts the sequence over. */
  backoff: IBackoffFactory<unknown>;
  /** A connection that lived this long is healthy again: the next drop restarts from the first wait. */
  healthyAfterMs: number;
}

export const DEFAULT_RESTART: RestartPolicy = {
  // Jitter, decorrelated from the previous wait, keeps the upstreams of many sessions that one
  // outage dropped together from restarting in step (medians about 0.25, 0.3, 0.5, 1, 2 ... 30 s).
  backoff: new ExponentialBackoff({
    generator: decorrelatedJitterGenerator,
    initialDelay: 250,
    maxDelay: 30_000,
  }),
  healthyAfterMs: 5_000,
};

/**
 * Builds the transport to one upstream for each connection attempt. The real one is the default;
 * tests join an in-process SDK server (InMemoryTransport) where a child process is not the point.
 */
export type UpstreamTransportFactory = (spec: UpstreamSpec, log: (message: string) => void) => Transport;

/** A child process over stdio, or Streamable HTTP, as the spec says. */
export const realUpstreamTransport: UpstreamTransportFactory = (spec, log) => {
  if (spec.kind === 'http') {
    return new StreamableHTTPClientTransport(new URL(spec.url), {
      requestInit: { headers: spec.headers },
      ...(spec.ca !== undefined && { fetch: fetchTrusting(spec.ca) }),
    });
  }
  const transport = new StdioUpstreamTransport({
    command: spec.command,
    args: spec.args,
    env: spec.env,
    cwd: spec.cwd,
  });
  // The child's stderr becomes our log lines: in stdio mode stdout belongs to MCP.
  transport.stderr.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() !== '') log(`[${spec.name}] ${line}`);
    }
  });
  return transport;
};

export class UpstreamConnection {
  readonly name: string;
  readonly spec: UpstreamSpec;
  private readonly init: UpstreamInit;
  private readonly hooks: UpstreamHooks;
  private readonly restart: RestartPolicy;
  private readonly transportFactory: UpstreamTransportFactory;
  private client: PassthroughClient | undefined;
  /** The connected client's requests that need none of the SDK's extras (see DirectRequests). */
  private direct: DirectRequests | undefined;
  /** The connected client's own transport (not the ordering wrapper): closing ends its HTTP session. */
  private transport: Transport | undefined;
  private stateValue: UpstreamState = 'connecting';
  /** The wait before the last retry; undefined until one is scheduled, or after a healthy connection. */
  private backoff: IBackoff<unknown> | undefined;
  private connectedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private everConnected = false;
  private lastError: string | undefined;
  /** The child's last stderr line: why a server that exits at start says it exits. */
  private lastOutput: string | undefined;
  private probing = false;
  /** Resolved on every state change (see untilUp). */
  private readonly stateWaiters = new Set<() => void>();

  constructor(
    spec: UpstreamSpec,
    init: UpstreamInit,
    hooks: UpstreamHooks,
    options: { restart?: RestartPolicy | undefined; transport?: UpstreamTransportFactory | undefined } = {},
  ) {
    this.name = spec.name;
    this.spec = spec;
    this.init = init;
    this.hooks = hooks;
    this.restart = options.restart ?? DEFAULT_RESTART;
    this.transportFactory = options.transport ?? realUpstreamTransport;
  }

  get state(): UpstreamState {
    return this.stateValue;
  }

  private setState(state: UpstreamState): void {
    this.stateValue = state;
    for (const wake of [...this.stateWaiters]) wake();
  }

  /** Why the upstream is not up, for a message to the client. */
  get unavailableReason(): string {
    if (this.stateValue === 'closed') return 'the connection is closed';
    if (this.lastError !== undefined) return this.lastError;
    if (this.stateValue === 'connecting')
      return this.everConnected ? 'it is reconnecting' : 'it is still starting';
    return 'it disconnected; the proxy keeps retrying';
  }

  /** Whether an attempt failed since it was last up (down, or retrying after a failure). */
  get failing(): boolean {
    return this.stateValue !== 'up' && this.stateValue !== 'closed' && this.lastError !== undefined;
  }

  /** What the client is told: "upstream NAME is down: why" once it has failed, else that it is not there yet. */
  get unavailableMessage(): string {
    return this.failing
      ? `upstream ${this.name} is down: ${this.unavailableReason}`
      : `upstream ${this.name} is not available: ${this.unavailableReason}`;
  }

  /** A failure with what the operator needs: the command (stdio), the error and the child's last words. */
  private operatorDetail(error: string): string {
    const what =
      this.spec.kind === 'stdio'
        ? `${[this.spec.command, ...this.spec.args].map(quoteArg).join(' ')} (in ${this.spec.cwd}): `
        : '';
    const output = this.lastOutput === undefined ? '' : `; its last output: ${this.lastOutput}`;
    return `${what}${error}${output}`;
  }

  private fail(error: string): void {
    this.lastError = error;
    const detail = this.operatorDetail(error);
    // Whoever watches failures logs them once per outage; otherwise every attempt is a line.
    if (this.hooks.failed) this.hooks.failed(this, error, detail);
    else this.hooks.log(`upstream ${this.name}: ${detail}`);
  }

  /**
   * Waits until the upstream is up, at most `timeoutMs` or until `signal` aborts. Resolves whether
   * it is up; a closed connection resolves false at once.
   */
  untilUp(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const done = (): boolean | undefined => {
      if (this.stateValue === 'up') return true;
      if (this.stateValue === 'closed' || signal?.aborted) return false;
      return undefined;
    };
    const now = done();
    if (now !== undefined) return Promise.resolve(now);
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.stateWaiters.delete(wake);
        signal?.removeEventListener('abort', aborted);
        resolve(value);
      };
      const wake = (): void => {
        const value = done();
        if (value !== undefined) finish(value);
      };
      const aborted = (): void => finish(false);
      const timer = setTimeout(() => finish(this.stateValue === 'up'), timeoutMs);
      timer.unref();
      this.stateWaiters.add(wake);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  get capabilities(): ServerCapabilities | undefined {
    return this.client?.getServerCapabilities();
  }

  get serverInfo(): Implementation | undefined {
    return this.client?.getServerVersion();
  }

  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  /** First connection attempt; a failure is logged and retried in the background. Resolves true when up. */
  async start(): Promise<boolean> {
    await this.connect();
    return this.stateValue === 'up';
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.setState('connecting');
    const client = new PassthroughClient(this.init.clientInfo, { capabilities: this.init.capabilities });
    client.fallbackNotificationHandler = async (notification) => {
      if (this.client === client) this.hooks.notification(this, notification as JSONRPCNotification);
    };
    client.fallbackRequestHandler = (request, extra) => this.hooks.request(this, request, extra);
    this.lastOutput = undefined;
    const inner = this.transportFactory(this.spec, (message) => {
      this.lastOutput = message.replace(/^\[[^\]]*\] /, '').slice(0, 300);
      this.hooks.log(message);
    });
    const transport = new OrderedTransport(inner);
    client.onclose = () => this.dropped(client);
    client.onerror = (error) => {
      // Transport noise (a bad line on stdout, an SSE hiccup) is logged; a real drop arrives as onclose,
      // except over HTTP, where it is only ever an error: probe.
      this.hooks.log(`upstream ${this.name}: ${error.message}`);
      if (this.spec.kind === 'http') this.probe(client);
    };
    try {
      await client.connect(transport, { timeout: 30_000 });
    } catch (error) {
      // The child's stderr may still be arriving: its last line is often the reason.
      await client.close().catch(() => {});
      await new Promise((resolve) => setImmediate(resolve));
      // Closed while starting (the session ended): not a failure of the upstream.
      if (this.state === 'closed') return;
      this.fail(`cannot start: ${errorText(error)}`);
      this.scheduleRetry();
      return;
    }
    if (this.state === 'closed') {
      await client.close().catch(() => {});
      return;
    }
    this.client = client;
    this.transport = inner;
    // Every upstream transport checks its messages (ours by hand, the SDK's HTTP one with zod).
    dispatchByShape(client, transport);
    const counter = requestCounter(client);
    this.direct = counter && new DirectRequests(transport, () => counter._requestMessageId++);
    this.connectedAt = Date.now();
    this.lastError = undefined;
    this.setState('up');
    if (this.everConnected) {
      this.hooks.log(`upstream ${this.name}: reconnected`);
      this.hooks.lifecycle?.(this, 'restarted', undefined);
      this.hooks.reconnected(this);
    } else {
      this.hooks.lifecycle?.(this, 'started', undefined);
    }
    this.everConnected = true;
  }

  /**
   * An HTTP upstream that went away shows only as transport errors; its in-flight calls would wait
   * for their timeout. A ping it cannot answer (no connection, or its session gone) closes the
   * client, which fails those calls now and restarts the connection like any other drop.
   */
  private probe(client: PassthroughClient): void {
    if (this.probing || this.client !== client) return;
    this.probing = true;
    client
      .ping({ timeout: PROBE_TIMEOUT_MS })
      .catch((error: unknown) => {
        // An error answer means it is there; no answer in time, no connection or no session means gone.
        const answered =
          error instanceof McpError &&
          error.code !== ErrorCode.ConnectionClosed &&
          error.code !== ErrorCode.RequestTimeout;
        if (!answered && this.client === client) return client.close();
      })
      .catch(() => {})
      .finally(() => {
        this.probing = false;
      });
  }

  private dropped(client: PassthroughClient): void {
    if (this.client !== client || this.stateValue === 'closed') return;
    this.client = undefined;
    this.transport = undefined;
    this.direct = undefined;
    this.setState('down');
    if (Date.now() - this.connectedAt >= this.restart.healthyAfterMs) this.backoff = undefined;
    this.hooks.log(`upstream ${this.name}: disconnected; restarting`);
    this.fail(
      `${this.spec.kind === 'stdio' ? 'it exited' : 'its connection closed'}; the proxy is restarting it`,
    );
    this.hooks.lifecycle?.(this, 'exited', 'connection closed');
    this.hooks.dropped?.(this);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.setState('down');
    this.backoff = (this.backoff ?? this.restart.backoff).next(undefined);
    const delay = this.backoff.duration;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Sends one request and returns the upstream's result untouched (a loose schema keeps unknown
   * fields). Rejects with an RpcError carrying the upstream's own code, message and data, or a
   * clear ConnectionClosed error when the upstream is down or drops mid-call.
   */
  async request(method: string, params: unknown, options: RequestOptions = {}): Promise<Result> {
    const client = this.client;
    if (!client || this.stateValue !== 'up') {
      throw new RpcError(ErrorCode.ConnectionClosed, `${this.unavailableMessage}; the proxy keeps retrying`, {
        server: this.name,
      });
    }
    const direct = this.direct;
    try {
      // Progress needs the SDK's token and timeout handling; everything else is sent directly.
      if (direct && isPlain(options))
        return await direct.request(
          method,
          params,
          options.timeout ?? UPSTREAM_REQUEST_TIMEOUT_MS,
          options.signal,
        );
      return await client.request({ method, params: params as Record<string, unknown> }, ResultSchema, {
        timeout: UPSTREAM_REQUEST_TIMEOUT_MS,
        ...options,
      });
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed && this.client !== client) {
        throw new RpcError(
          ErrorCode.ConnectionClosed,
          `upstream "${this.name}" disconnected before answering; the proxy is restarting it`,
          { server: this.name },
        );
      }
      if (error instanceof StreamableHTTPError && error.code === 404) {
        // An expired upstream session cannot be revived by the SDK transport: rebuild the client.
        void client.close();
      }
      throw toRpcError(error);
    }
  }

  /** Sends a notification if the upstream is up; never rejects (callers fire and forget), logs instead. */
  async notify(method: string, params?: unknown): Promise<void> {
    const client = this.client;
    if (!client || this.stateValue !== 'up') return;
    try {
      await client.notification({ method, params: params as Record<string, unknown> | undefined });
    } catch (error) {
      this.hooks.log(`upstream ${this.name}: cannot send ${method}: ${errorText(error)}`);
    }
  }

  async close(): Promise<void> {
    this.setState('closed');
    clearTimeout(this.retryTimer);
    const client = this.client;
    const transport = this.transport;
    this.client = undefined;
    this.transport = undefined;
    this.direct = undefined;
    if (client && transport instanceof StreamableHTTPClientTransport) await this.terminate(transport);
    await client?.close().catch(() => {});
  }

  /**
   * Ends the upstream's HTTP session (DELETE with its session id), as a client that leaves should:
   * else the upstream keeps the session, and whatever it holds for it, until its own timeout. An
   * upstream that does not answer in time or refuses is logged, and closing goes on.
   */
  private async terminate(transport: StreamableHTTPClientTransport): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, TERMINATE_TIMEOUT_MS);
      timer.unref();
    });
    try {
      await Promise.race([transport.terminateSession(), timeout]);
    } catch (error) {
      this.hooks.log(`upstream ${this.name}: cannot end its HTTP session: ${errorText(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Options DirectRequests honours in full: a signal and a timeout, nothing else. */
function isPlain(options: RequestOptions): boolean {
  for (const key in options) if (key !== 'signal' && key !== 'timeout') return false;
  return true;
}

/**
 * Whether the SDK client's request counter is where DirectRequests takes its ids from (private to
 * the SDK's Protocol in 1.x). Sharing it keeps the two paths from sending the same id; without it
 * every request goes through the SDK (slower, same behaviour).
 */
function requestCounter(client: Client): { _requestMessageId: number } | undefined {
  const counter = client as unknown as { _requestMessageId: unknown };
  return typeof counter._requestMessageId === 'number'
    ? (counter as { _requestMessageId: number })
    : undefined;
}

/** An argument as a person would type it: quoted when it has a space or is empty. */
function quoteArg(arg: string): string {
  return arg === '' || /[\s"']/.test(arg) ? JSON.stringify(arg) : arg;
}
