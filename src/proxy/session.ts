// One downstream client session: its MCP Server, its own upstream connections, and the routing between them.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type ClientCapabilities,
  ErrorCode,
  type Implementation,
  type JSONRPCNotification,
  type JSONRPCRequest,
  LATEST_PROTOCOL_VERSION,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import type { Ambiguities } from './ambiguity.js';
import { Catalog } from './catalog.js';
import type { Confusables } from './confusables.js';
import { canElicitForm, elicitVia } from './elicit.js';
import { ACCESS_DENIED, errorText, RpcError } from './errors.js';
import type { AccessCall, Gate } from './gate.js';
import { type Standing, standingNow } from './governor.js';
import { ListRouter, type RoutingTimings } from './lists.js';
import { type Extra, isImplementation, isObject, isString, type Params } from './params.js';
import { dispatchByShape } from './protocol-dispatch.js';
import { Relay } from './relay.js';
import type { Elicit } from './review.js';
import { callTool, heldProgress, type ToolCallDeps } from './tool-call.js';
import type { ToolPins } from './tool-pins.js';
import type {
  UpstreamConnection,
  UpstreamHooks,
  UpstreamInit,
  UpstreamLifecycle,
  UpstreamTransportFactory,
} from './upstream.js';
import { type UpstreamLease, UpstreamPool } from './upstream-pool.js';
import { specKey, type UpstreamSpec } from './upstream-spec.js';

/** The server side towards the client. Capability checks are off: the proxy allowlists methods itself. */
class PassthroughServer extends Server {
  constructor(...args: ConstructorParameters<typeof Server>) {
    super(...args);
    // The SDK numbers outgoing requests from 0, and its receiving side ignores a cancellation of
    // request 0 (`if (!requestId) return`): the first elicitation could not be withdrawn. Start at 1.
    (this as unknown as { _requestMessageId: number })._requestMessageId = 1;
  }
  protected override assertCapabilityForMethod(): void {}
  protected override assertNotificationCapability(): void {}
  protected override assertRequestHandlerCapability(): void {}
}

export interface SessionDeps {
  /** Who is calling: `--agent` on stdio, the agent whose key the HTTP client presented. */
  agent: string;
  policy(): CompiledPolicy;
  /** The upstreams this session should have right now (they follow policy reloads). */
  upstreams(): readonly UpstreamSpec[];
  gate: Gate;
  info: Implementation;
  log(message: string): void;
  /** Upstream starts, drops and restarts, for the audit log. */
  lifecycle?(server: string, action: UpstreamLifecycle, detail: string | undefined): void;
  /** An upstream failed to start or dropped (see UpstreamHooks.failed), for the proxy's health. */
  upstreamFailed?(server: string, error: string, detail: string): void;
  /** Configured upstreams that were not started at all, and why (named to a client whose name is unlisted). */
  notStarted?: (() => readonly { server: string; reason: string }[]) | undefined;
  /** Names two upstreams list without prefixes, shared by the proxy's sessions (else this session's own). */
  ambiguities?: Ambiguities | undefined;
  /** Names different upstreams list alike (case, homoglyphs), shared by the proxy's sessions; flagged only. */
  confusables?: Confusables | undefined;
  /** How long calls wait for upstreams and re-listings (tests shorten them). */
  routing?: Partial<RoutingTimings> | undefined;
  /** How upstream transports are made (the real ones unless a test joins in-process servers). */
  upstreamTransport?: UpstreamTransportFactory | undefined;
  /** Pins tool definitions on first use and holds changed ones; none: nothing is pinned. */
  pins?: ToolPins | undefined;
  /** The proxy's shared upstream connections; none: this session starts its own (per session). */
  pool?: UpstreamPool | undefined;
  /** The agent's standing (registry trust, suspension) for what the lists offer; the gate asks it for calls. */
  standing?: (() => Standing) | undefined;
}

/** Capabilities a client declares that an upstream may use; only these are passed upstream. */
const FORWARDED_CLIENT_CAPABILITIES = ['sampling', 'elicitation', 'roots'] as const;
/** Notifications an upstream may send to the client through the proxy. */
const SERVER_NOTIFICATIONS = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
  'notifications/message',
  'notifications/elicitation/complete',
]);
/**
 * Notifications that, while a call to their upstream runs, belong to it: direct, a server logs from
 * the tool it runs on that call's response stream, and a client that opens no GET stream sees them
 * only there. List changes and resource updates are about the session, not a call: GET stream.
 */
const CALL_NOTIFICATIONS = new Set(['notifications/message']);

export class DownstreamSession {
  readonly server: PassthroughServer;
  private readonly deps: SessionDeps;
  private readonly upstreams = new Map<string, UpstreamConnection>();
  /** This session's hold on each of those connections (shared with other sessions or its own). */
  private readonly leases = new Map<string, UpstreamLease>();
  private readonly pool: UpstreamPool;
  private readonly catalog: Catalog;
  private readonly relay: Relay;
  private handling = 0;
  private readonly listRouter: ListRouter;
  private readonly toolCalls: ToolCallDeps;
  private readonly hooks: UpstreamHooks;
  private init: UpstreamInit | undefined;
  private advertised: ServerCapabilities = { tools: { listChanged: true } };
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(deps: SessionDeps) {
    this.deps = deps;
    this.pool = deps.pool ?? new UpstreamPool({ transport: deps.upstreamTransport, sharing: false });
    this.catalog = new Catalog(
      deps.upstreams().map((s) => s.name),
      deps.policy().naming,
      deps.ambiguities,
      deps.confusables,
    );
    this.server = new PassthroughServer(deps.info, { capabilities: {} });
    // initialize is answered here from the raw request so the client's capabilities reach the upstreams unparsed.
    this.server.removeRequestHandler('initialize');
    this.server.fallbackRequestHandler = async (request, extra) => {
      this.handling += 1;
      try {
        return await this.dispatch(request, extra);
      } finally {
        this.handling -= 1;
      }
    };
    this.server.fallbackNotificationHandler = (notification) => this.fromClient(notification);
    this.server.onclose = () => {
      void this.close();
    };
    this.relay = new Relay(this.server, deps.log);
    this.listRouter = new ListRouter({
      catalog: this.catalog,
      agent: deps.agent,
      policy: deps.policy,
      upstreams: this.upstreams,
      forward: (server, method, params, extra) => this.forward(server, method, params, extra),
      log: deps.log,
      timings: deps.routing,
      pins: deps.pins,
      notStarted: deps.notStarted,
      standing: deps.standing,
    });
    this.toolCalls = {
      agent: deps.agent,
      gate: deps.gate,
      resolve: (exposed, extra) => this.listRouter.resolveName('tools', exposed, extra),
      confirm: (exposed, route) => this.listRouter.confirm('tools', exposed, route),
      inputSchema: (route) => this.catalog.toolSchema(route.server, route.name),
      held: (route) => deps.pins?.held(route.server, route.name),
      forward: (server, method, params, extra) => this.forward(server, method, params, extra),
      elicit: (extra) => this.elicitFor(extra),
      log: deps.log,
    };
    this.hooks = {
      notification: (upstream, notification) => this.fromUpstream(upstream, notification),
      request: (upstream, request, extra) => this.relay.toClient(upstream, request, extra.signal),
      reconnected: (upstream) => this.reconnected(upstream),
      dropped: (upstream) => this.catalog.markServerStale(upstream.name),
      lifecycle: (upstream, action, detail) => deps.lifecycle?.(upstream.name, action, detail),
      ...(deps.upstreamFailed && {
        failed: (upstream: UpstreamConnection, error: string, detail: string) =>
          deps.upstreamFailed?.(upstream.name, error, detail),
      }),
      log: deps.log,
    };
  }

  /** Runs once when the session has closed (client gone or proxy closing). */
  onClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** True while a client request is being handled (a held approval or a slow upstream call included). */
  get busy(): boolean {
    return this.handling > 0;
  }

  get agent(): string {
    return this.deps.agent;
  }

  /** The transport must deliver only checked JSON-RPC messages (ours do: asJsonRpcMessage). */
  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
    dispatchByShape(this.server, transport);
  }

  private async dispatch(request: JSONRPCRequest, extra: Extra): Promise<Result> {
    if (this.closed) throw new RpcError(ErrorCode.ConnectionClosed, 'session closed');
    if (request.method === 'initialize') return this.initialize(request);
    if (!this.init) throw new RpcError(-32600, 'the session is not initialized');
    const params = (request.params ?? {}) as Params;
    switch (request.method) {
      case 'tools/list':
        return this.listRouter.list('tools', params, extra);
      case 'prompts/list':
        return this.listRouter.list('prompts', params, extra);
      case 'resources/list':
        return this.listRouter.list('resources', params, extra);
      case 'resources/templates/list':
        return this.listRouter.list('templates', params, extra);
      case 'tools/call':
        return callTool(this.toolCalls, params, extra);
      case 'prompts/get':
        return this.getPrompt(params, extra);
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return this.resourceRequest(request.method, params, extra);
      case 'completion/complete':
        return this.complete(params, extra);
      case 'logging/setLevel':
        return this.setLevel(params, extra);
      default:
        // Unknown methods (server/discover, tasks/*, anything new) are refused rather than forwarded blind.
        throw new RpcError(ErrorCode.MethodNotFound, 'Method not found');
    }
  }

  private async initialize(request: JSONRPCRequest): Promise<Result> {
    if (this.init) throw new RpcError(-32600, 'already initialized');
    const params = (request.params ?? {}) as Params;
    const declared = isObject(params.capabilities) ? params.capabilities : {};
    const capabilities: ClientCapabilities = {};
    for (const key of FORWARDED_CLIENT_CAPABILITIES) {
      if (declared[key] !== undefined) (capabilities as Record<string, unknown>)[key] = declared[key];
    }
    const clientInfo = isImplementation(params.clientInfo)
      ? params.clientInfo
      : { name: 'mcp-client', version: '0' };
    this.init = { clientInfo, capabilities };
    await this.reconcile();
    this.advertised = this.unionCapabilities();
    const requested = typeof params.protocolVersion === 'string' ? params.protocolVersion : '';
    const connected = [...this.upstreams.values()].filter((u) => u.state === 'up');
    const only = this.upstreams.size === 1 ? connected[0] : undefined;
    const instructions = connected
      .filter((u) => u.instructions)
      .map((u) => (only ? (u.instructions as string) : `## ${u.name}\n${u.instructions}`))
      .join('\n\n');
    return {
      protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
      capabilities: this.advertised,
      // One upstream: the client sees that server's identity, as if it were connected directly.
      serverInfo: only?.serverInfo ?? this.deps.info,
      ...(instructions !== '' && { instructions }),
    };
  }

  /** The union of what the connected upstreams offer and the proxy routes; tools always, with listChanged. */
  private unionCapabilities(): ServerCapabilities {
    const caps: ServerCapabilities = { tools: { listChanged: true } };
    for (const upstream of this.upstreams.values()) {
      const offered = upstream.capabilities;
      if (!offered) continue;
      if (offered.resources) {
        caps.resources = {
          ...((caps.resources?.subscribe || offered.resources.subscribe) && { subscribe: true }),
          ...((caps.resources?.listChanged || offered.resources.listChanged) && { listChanged: true }),
        };
      }
      if (offered.prompts) {
        caps.prompts = {
          ...((caps.prompts?.listChanged || offered.prompts.listChanged) && { listChanged: true }),
        };
      }
      if (offered.completions) caps.completions = {};
      if (offered.logging) caps.logging = {};
    }
    return caps;
  }

  /** Starts, stops or restarts upstream connections so they match the current specs. */
  private async reconcile(): Promise<boolean> {
    const init = this.init;
    if (!init || this.closed) return false;
    const specs = this.deps.upstreams();
    const wanted = new Map(specs.map((s) => [s.name, s]));
    const work: Promise<unknown>[] = [];
    let changed = false;
    for (const [name, upstream] of this.upstreams) {
      const spec = wanted.get(name);
      if (!spec || specKey(spec) !== specKey(upstream.spec)) {
        this.upstreams.delete(name);
        this.catalog.forgetServer(name);
        const lease = this.leases.get(name);
        if (lease) work.push(lease.release());
        this.leases.delete(name);
        changed = true;
      }
    }
    for (const spec of specs) {
      if (this.upstreams.has(spec.name)) continue;
      const lease = this.pool.acquire(spec, this.deps.agent, init, this.hooks);
      this.leases.set(spec.name, lease);
      this.upstreams.set(spec.name, lease.connection);
      work.push(lease.ready);
      changed = true;
    }
    this.catalog.configure(
      specs.map((s) => s.name),
      this.deps.policy().naming,
    );
    await Promise.all(work);
    return changed;
  }

  /** The policy changed: hidden tools, resources and prompts, naming and upstreams may all differ now. */
  async policyChanged(): Promise<void> {
    if (!this.init || this.closed) return;
    await this.reconcile();
    this.notifyClient('notifications/tools/list_changed');
    this.notifyOtherLists();
  }

  /** The agent's standing changed (trust, suspension): every list may offer something else now. */
  standingChanged(): void {
    if (!this.init || this.closed) return;
    this.notifyClient('notifications/tools/list_changed');
    this.notifyOtherLists();
  }

  /** The standing for what this session offers; a registry that cannot tell suspends (closed). */
  private standingNow(): Standing {
    return standingNow(this.deps.standing, this.deps.log);
  }

  /** Tools that were held run again (a person accepted their definitions): the client should list tools again. */
  toolsChanged(): void {
    if (!this.init || this.closed) return;
    this.notifyClient('notifications/tools/list_changed');
  }

  private reconnected(upstream: UpstreamConnection): void {
    // Its earlier names still count until it is listed again: routing must not change because it restarted.
    this.catalog.markServerStale(upstream.name);
    this.notifyClient('notifications/tools/list_changed');
    this.notifyOtherLists();
  }

  private notifyOtherLists(): void {
    if (this.advertised.prompts?.listChanged) this.notifyClient('notifications/prompts/list_changed');
    if (this.advertised.resources?.listChanged) this.notifyClient('notifications/resources/list_changed');
  }

  private notifyClient(method: string, params?: Record<string, unknown>): void {
    if (this.closed) return;
    this.server
      .notification({ method, ...(params !== undefined && { params }) } as ServerNotification)
      .catch((error: unknown) => this.deps.log(`cannot notify the client (${method}): ${errorText(error)}`));
  }

  /** Sends a request to the named upstream for the client; an upstream the session lacks is a clear error. */
  private async forward(server: string, method: string, params: Params, extra: Extra): Promise<Result> {
    const upstream = this.upstreams.get(server);
    if (!upstream) throw new RpcError(ErrorCode.ConnectionClosed, `upstream "${server}" is not configured`);
    const end = this.leases.get(server)?.begin();
    try {
      const result = await this.relay.forward(upstream, method, params, extra);
      if (method === 'resources/subscribe' && isString(params.uri))
        this.leases.get(server)?.subscribe(params.uri);
      return result;
    } finally {
      end?.();
    }
  }

  /** prompts/get: routed to the upstream that listed the name, then judged by the gate (kind: prompt rules). */
  private async getPrompt(params: Params, extra: Extra): Promise<Result> {
    if (!isString(params.name))
      throw new RpcError(ErrorCode.InvalidParams, 'prompts/get needs a prompt name');
    const single = this.catalog.single;
    const route =
      single !== undefined
        ? { server: single, name: params.name }
        : await this.listRouter.promptRoute(params.name, extra);
    return this.deps.gate.access({
      kind: 'prompt',
      method: 'prompts/get',
      agent: this.deps.agent,
      server: route.server,
      name: route.name,
      args: params.arguments,
      ...this.waiting(extra),
      forward: () => this.forward(route.server, 'prompts/get', { ...params, name: route.name }, extra),
    });
  }

  /** What a request held for review needs: the client's cancel signal and, with a progress token, progress. */
  private waiting(extra: Extra): Pick<AccessCall, 'signal' | 'progress' | 'elicit'> {
    return {
      signal: extra.signal,
      progress: heldProgress(extra, this.deps.log),
      elicit: this.elicitFor(extra),
    };
  }

  /** Asking the person at the client about this request: only when it declared form elicitation. */
  private elicitFor(extra: Extra): Elicit | undefined {
    return canElicitForm(this.init?.capabilities) ? elicitVia(extra) : undefined;
  }

  /** resources/read and subscribe are judged by the gate (kind: resource rules); unsubscribe only gives up access. */
  private async resourceRequest(method: string, params: Params, extra: Extra): Promise<Result> {
    if (!isString(params.uri)) throw new RpcError(ErrorCode.InvalidParams, `${method} needs a uri`);
    const owner = await this.listRouter.resourceOwner(params.uri, extra);
    if (method !== 'resources/read' && method !== 'resources/subscribe') {
      // Another session sharing the upstream still wants its updates: only this session gives it up.
      if (this.leases.get(owner)?.unsubscribe(params.uri) === false) return {};
      return this.forward(owner, method, params, extra);
    }
    return this.deps.gate.access({
      kind: 'resource',
      method,
      agent: this.deps.agent,
      server: owner,
      name: params.uri,
      ...this.waiting(extra),
      forward: () => this.forward(owner, method, params, extra),
    });
  }

  /**
   * Completions of a prompt's or a resource template's arguments: refused for what the policy denies
   * (they would tell what it holds), forwarded otherwise, like before, without an audit record.
   */
  private async complete(params: Params, extra: Extra): Promise<Result> {
    const single = this.catalog.single;
    const ref = isObject(params.ref) ? params.ref : {};
    if (ref.type === 'ref/prompt' && isString(ref.name)) {
      const route =
        single !== undefined
          ? { server: single, name: ref.name }
          : await this.listRouter.promptRoute(ref.name, extra);
      this.refuseDenied('prompt', route.server, route.name);
      const forwarded = single !== undefined ? params : { ...params, ref: { ...ref, name: route.name } };
      return this.forward(route.server, 'completion/complete', forwarded, extra);
    }
    if (ref.type === 'ref/resource' && isString(ref.uri)) {
      const owner = single ?? (await this.listRouter.resourceOwner(ref.uri, extra));
      const standing = this.standingNow();
      if (standing.suspended !== undefined)
        throw new RpcError(ACCESS_DENIED, `Denied by Portcullis: ${standing.suspended}`);
      const template = { template: ref.uri, server: owner, agent: this.deps.agent, trust: standing.trust };
      if (this.deps.policy().hidesTemplate(template))
        throw new RpcError(ACCESS_DENIED, `Denied by Portcullis: the policy denies every URI of ${ref.uri}`);
      return this.forward(owner, 'completion/complete', params, extra);
    }
    if (single !== undefined) return this.forward(single, 'completion/complete', params, extra);
    throw new RpcError(ErrorCode.InvalidParams, 'completion/complete needs a ref/prompt or ref/resource');
  }

  private refuseDenied(kind: 'prompt', server: string, name: string): void {
    const standing = this.standingNow();
    if (standing.suspended !== undefined)
      throw new RpcError(ACCESS_DENIED, `Denied by Portcullis: ${standing.suspended}`);
    const decision = this.deps
      .policy()
      .evaluateAccess({ kind, name, server, agent: this.deps.agent, trust: standing.trust });
    if (decision.decision !== 'allow')
      throw new RpcError(ACCESS_DENIED, `Denied by Portcullis: ${decision.reason}`);
  }

  private async setLevel(params: Params, extra: Extra): Promise<Result> {
    const single = this.catalog.single;
    if (single !== undefined) return this.forward(single, 'logging/setLevel', params, extra);
    const targets = [...this.upstreams.values()].filter((u) => u.state === 'up' && u.capabilities?.logging);
    const settled = await Promise.allSettled(
      targets.map((u) => this.forward(u.name, 'logging/setLevel', params, extra)),
    );
    for (const [i, outcome] of settled.entries()) {
      if (outcome.status === 'rejected') {
        this.deps.log(`logging/setLevel on ${targets[i]?.name}: ${errorText(outcome.reason)}`);
      }
    }
    return {};
  }

  private async fromClient(notification: { method: string; params?: unknown }): Promise<void> {
    if (notification.method === 'notifications/roots/list_changed') {
      // The roots/list it causes is this session's to answer.
      for (const lease of this.leases.values()) lease.touch();
      await Promise.all(
        [...this.upstreams.values()].map((u) => u.notify(notification.method, notification.params)),
      );
    }
  }

  private fromUpstream(upstream: UpstreamConnection, notification: JSONRPCNotification): void {
    if (!SERVER_NOTIFICATIONS.has(notification.method)) return;
    if (notification.method === 'notifications/tools/list_changed')
      this.catalog.markStale('tools', upstream.name);
    if (notification.method === 'notifications/prompts/list_changed')
      this.catalog.markStale('prompts', upstream.name);
    if (notification.method === 'notifications/resources/list_changed') {
      this.catalog.markStale('resources', upstream.name);
      this.catalog.markStale('templates', upstream.name);
    }
    const call = CALL_NOTIFICATIONS.has(notification.method)
      ? this.relay.callInFlight(upstream.name)
      : undefined;
    if (call && !this.closed) {
      call
        .sendNotification({ method: notification.method, params: notification.params } as ServerNotification)
        .catch((error: unknown) =>
          this.deps.log(`cannot notify the client (${notification.method}): ${errorText(error)}`),
        );
      return;
    }
    this.notifyClient(notification.method, notification.params);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listRouter.close();
    try {
      await this.server.close();
    } finally {
      await Promise.all([...this.leases.values()].map((lease) => lease.release()));
      this.leases.clear();
      this.upstreams.clear();
      for (const listener of this.closeListeners) listener();
    }
  }
}
