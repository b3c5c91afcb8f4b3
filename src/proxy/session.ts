// One downstream client session: its MCP Server, its own upstream connections, and the routing between them.

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra, RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type ClientCapabilities,
  type Implementation,
  type JSONRPCNotification,
  type JSONRPCRequest,
  LATEST_PROTOCOL_VERSION,
  type Result,
  ResultSchema,
  type ServerCapabilities,
  type ServerNotification,
  type ServerRequest,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../policy/types.js';
import { Catalog, type ListKind } from './catalog.js';
import { RpcCode, RpcError, toRpcError } from './errors.js';
import type { Gate } from './gate.js';
import {
  UPSTREAM_REQUEST_TIMEOUT_MS,
  UpstreamConnection,
  type UpstreamHooks,
  type UpstreamInit,
  type UpstreamLifecycle,
} from './upstream.js';
import { specKey, type UpstreamSpec } from './upstream-spec.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;
type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };

/** The server side towards the client. Capability checks are off: the proxy allowlists methods itself. */
class PassthroughServer extends Server {
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
}

/** Capabilities a client declares that an upstream may use; only these are passed upstream. */
const FORWARDED_CLIENT_CAPABILITIES = ['sampling', 'elicitation', 'roots'] as const;
/** Requests an upstream may send to the client through the proxy. */
const SERVER_TO_CLIENT_REQUESTS = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list']);
/** Notifications an upstream may send to the client through the proxy. */
const SERVER_NOTIFICATIONS = new Set([
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
  'notifications/resources/updated',
  'notifications/message',
  'notifications/elicitation/complete',
]);

interface ListSpec {
  method: string;
  key: string;
  /** The field naming an item; tools and prompts are renamed when prefixed, URIs never are. */
  field: 'name' | 'uri' | 'uriTemplate';
  capability: 'tools' | 'prompts' | 'resources';
}

const LISTS: Record<ListKind, ListSpec> = {
  tools: { method: 'tools/list', key: 'tools', field: 'name', capability: 'tools' },
  prompts: { method: 'prompts/list', key: 'prompts', field: 'name', capability: 'prompts' },
  resources: { method: 'resources/list', key: 'resources', field: 'uri', capability: 'resources' },
  templates: {
    method: 'resources/templates/list',
    key: 'resourceTemplates',
    field: 'uriTemplate',
    capability: 'resources',
  },
};

/** Enough pages to list any sane server; stops a server that returns cursors forever. */
const MAX_REFRESH_PAGES = 100;

export class DownstreamSession {
  readonly server: PassthroughServer;
  private readonly deps: SessionDeps;
  private readonly upstreams = new Map<string, UpstreamConnection>();
  private readonly catalog: Catalog;
  private readonly inFlight = new Map<string, Extra[]>();
  private readonly hooks: UpstreamHooks;
  private init: UpstreamInit | undefined;
  private advertised: ServerCapabilities = { tools: { listChanged: true } };
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(deps: SessionDeps) {
    this.deps = deps;
    this.catalog = new Catalog(
      deps.upstreams().map((s) => s.name),
      deps.policy().naming,
    );
    this.server = new PassthroughServer(deps.info, { capabilities: {} });
    // initialize is answered here from the raw request so the client's capabilities reach the upstreams unparsed.
    this.server.removeRequestHandler('initialize');
    this.server.fallbackRequestHandler = (request, extra) => this.dispatch(request, extra);
    this.server.fallbackNotificationHandler = (notification) => this.fromClient(notification);
    this.server.onclose = () => {
      void this.close();
    };
    this.hooks = {
      notification: (upstream, notification) => this.fromUpstream(upstream, notification),
      request: (upstream, request, extra) => this.upstreamRequest(upstream, request, extra.signal),
      reconnected: (upstream) => this.reconnected(upstream),
      lifecycle: (upstream, action, detail) => deps.lifecycle?.(upstream.name, action, detail),
      log: deps.log,
    };
  }

  /** Runs once when the session has closed (client gone or proxy closing). */
  onClosed(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  get agent(): string {
    return this.deps.agent;
  }

  async connect(transport: Transport): Promise<void> {
    await this.server.connect(transport);
  }

  private async dispatch(request: JSONRPCRequest, extra: Extra): Promise<Result> {
    if (this.closed) throw new RpcError(RpcCode.ConnectionClosed, 'session closed');
    if (request.method === 'initialize') return this.initialize(request);
    if (!this.init) throw new RpcError(-32600, 'the session is not initialized');
    const params = (request.params ?? {}) as Params;
    switch (request.method) {
      case 'tools/list':
        return this.list('tools', params, extra);
      case 'prompts/list':
        return this.list('prompts', params, extra);
      case 'resources/list':
        return this.list('resources', params, extra);
      case 'resources/templates/list':
        return this.list('templates', params, extra);
      case 'tools/call':
        return this.callTool(params, extra);
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
        throw new RpcError(RpcCode.MethodNotFound, 'Method not found');
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
        work.push(upstream.close());
        changed = true;
      }
    }
    for (const spec of specs) {
      if (this.upstreams.has(spec.name)) continue;
      const upstream = new UpstreamConnection(spec, init, this.hooks);
      this.upstreams.set(spec.name, upstream);
      work.push(upstream.start());
      changed = true;
    }
    this.catalog.configure(
      specs.map((s) => s.name),
      this.deps.policy().naming,
    );
    await Promise.all(work);
    return changed;
  }

  /** The policy changed: hidden tools, naming and upstreams may all differ now. */
  async policyChanged(): Promise<void> {
    if (!this.init || this.closed) return;
    const upstreamsChanged = await this.reconcile();
    this.notifyClient('notifications/tools/list_changed');
    if (upstreamsChanged) this.notifyOtherLists();
  }

  private reconnected(upstream: UpstreamConnection): void {
    this.catalog.forgetServer(upstream.name);
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

  private upstream(name: string): UpstreamConnection {
    const upstream = this.upstreams.get(name);
    if (!upstream) throw new RpcError(RpcCode.ConnectionClosed, `upstream "${name}" is not configured`);
    return upstream;
  }

  /**
   * Sends a request upstream for the client: the client's cancellation follows it, and progress
   * comes back under the client's own progress token.
   */
  private async forward(
    upstream: UpstreamConnection,
    method: string,
    params: Params,
    extra: Extra,
  ): Promise<Result> {
    const token = extra._meta?.progressToken;
    const options: RequestOptions = { signal: extra.signal };
    if (token !== undefined) {
      options.resetTimeoutOnProgress = true;
      options.onprogress = (progress) => {
        extra
          .sendNotification({
            method: 'notifications/progress',
            params: { ...progress, progressToken: token },
          })
          .catch((error: unknown) => this.deps.log(`cannot forward progress: ${errorText(error)}`));
      };
    }
    let calls = this.inFlight.get(upstream.name);
    if (!calls) {
      calls = [];
      this.inFlight.set(upstream.name, calls);
    }
    calls.push(extra);
    try {
      return await upstream.request(method, params, options);
    } finally {
      calls.splice(calls.indexOf(extra), 1);
    }
  }

  private async list(kind: ListKind, params: Params, extra: Extra): Promise<Result> {
    const spec = LISTS[kind];
    const single = this.catalog.single;
    if (single !== undefined) {
      // One upstream: its pages and cursors pass through untouched.
      const result = await this.forward(this.upstream(single), spec.method, params, extra);
      return this.present(kind, single, result);
    }
    // Several upstreams: one merged list without a cursor, because clients that do not follow
    // cursors would otherwise never see the second upstream. Tool and prompt lists are small.
    if (params.cursor !== undefined) throw new RpcError(RpcCode.InvalidParams, 'invalid cursor');
    const servers = this.catalog.serverNames.filter((name) => this.offers(name, spec.capability));
    const pages = await Promise.all(
      servers.map(async (server) => {
        try {
          const items = await this.fetchAll(kind, server, params, extra);
          return this.present(kind, server, { [spec.key]: items })[spec.key] as unknown[];
        } catch (error) {
          // One upstream down must not hide the others' lists.
          this.deps.log(`listing ${kind} of ${server} failed: ${errorText(error)}`);
          return [];
        }
      }),
    );
    return { [spec.key]: pages.flat() };
  }

  /** Every page of one upstream's list (bounded), as the upstream sent the items. */
  private async fetchAll(kind: ListKind, server: string, params: Params, extra: Extra): Promise<unknown[]> {
    const spec = LISTS[kind];
    const upstream = this.upstream(server);
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_REFRESH_PAGES; page++) {
      const { cursor: _ignored, ...rest } = params;
      const result = await this.forward(
        upstream,
        spec.method,
        { ...rest, ...(cursor !== undefined && { cursor }) },
        extra,
      );
      const got = result[spec.key];
      if (Array.isArray(got)) items.push(...got);
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    return items;
  }

  private offers(server: string, capability: ListSpec['capability']): boolean {
    const upstream = this.upstreams.get(server);
    if (!upstream) return false;
    // An upstream that is down (capabilities unknown) still counts for tools, so its listing error is logged.
    const caps = upstream.capabilities;
    return caps === undefined ? capability === 'tools' : caps[capability] !== undefined;
  }

  /** Remembers what an upstream listed and shows it as the client should see it (renamed, filtered). */
  private present(kind: ListKind, server: string, result: Result): Result {
    const spec = LISTS[kind];
    const items = result[spec.key];
    if (!Array.isArray(items)) return result;
    const names = items.map((item) => (isObject(item) ? item[spec.field] : undefined)).filter(isString);
    this.catalog.remember(kind, server, names);
    if (kind !== 'tools' && kind !== 'prompts') return result;
    const policy = this.deps.policy();
    const shown = items.filter((item) => {
      if (!isObject(item) || !isString(item.name)) return false;
      if (this.catalog.isShadowed(kind, server, item.name)) return false;
      // A tool the policy denies whatever the arguments is not offered at all.
      return !(kind === 'tools' && policy.alwaysDenies({ tool: item.name, server, agent: this.deps.agent }));
    });
    return {
      ...result,
      [spec.key]: this.catalog.prefixed
        ? shown.map((item) => ({
            ...item,
            name: this.catalog.exposedName(server, (item as Params).name as string),
          }))
        : shown,
    };
  }

  /** Lists upstreams' whole catalogs of one kind, only to learn their names (nothing goes to the client). */
  private async refresh(kind: ListKind, servers: readonly string[], extra: Extra): Promise<void> {
    const spec = LISTS[kind];
    await Promise.all(
      servers.map(async (server) => {
        if (this.upstreams.get(server)?.state !== 'up' || !this.offers(server, spec.capability)) return;
        try {
          const items = await this.fetchAll(kind, server, {}, extra);
          this.catalog.forget(kind, server);
          this.catalog.remember(
            kind,
            server,
            items.map((i) => (isObject(i) ? i[spec.field] : undefined)).filter(isString),
          );
        } catch (error) {
          this.deps.log(`refreshing ${kind} of ${server} failed: ${errorText(error)}`);
        }
      }),
    );
  }

  private async resolveName(kind: 'tools' | 'prompts', exposed: string, extra: Extra) {
    const known = this.catalog.resolve(kind, exposed);
    if (known) return known;
    const claimed = this.catalog.claimedServer(exposed);
    await this.refresh(kind, claimed !== undefined ? [claimed] : this.catalog.serverNames, extra);
    return this.catalog.resolve(kind, exposed);
  }

  private async callTool(params: Params, extra: Extra): Promise<Result> {
    if (!isString(params.name)) throw new RpcError(RpcCode.InvalidParams, 'tools/call needs a tool name');
    if (params.task !== undefined) {
      throw new RpcError(
        RpcCode.InvalidParams,
        'task-augmented tool calls are not supported through Portcullis',
      );
    }
    const exposed = params.name;
    const route = await this.resolveName('tools', exposed, extra);
    const token = extra._meta?.progressToken;
    let step = 0;
    return this.deps.gate.call({
      agent: this.deps.agent,
      server: route?.server,
      tool: route?.name ?? exposed,
      args: params.arguments,
      signal: extra.signal,
      progress:
        token === undefined
          ? undefined
          : (message) => {
              step += 1;
              extra
                .sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken: token, progress: step, message },
                })
                .catch((error: unknown) => this.deps.log(`cannot send progress: ${errorText(error)}`));
            },
      forward: (args) => {
        if (!route) throw new RpcError(RpcCode.InternalError, 'no route');
        const forwarded: Params = { ...params, name: route.name };
        if (args !== undefined) forwarded.arguments = args;
        return this.forward(this.upstream(route.server), 'tools/call', forwarded, extra);
      },
    });
  }

  private async getPrompt(params: Params, extra: Extra): Promise<Result> {
    const single = this.catalog.single;
    if (single !== undefined) return this.forward(this.upstream(single), 'prompts/get', params, extra);
    if (!isString(params.name)) throw new RpcError(RpcCode.InvalidParams, 'prompts/get needs a prompt name');
    const route = await this.resolveName('prompts', params.name, extra);
    if (!route) throw new RpcError(RpcCode.InvalidParams, `unknown prompt: ${params.name}`);
    return this.forward(this.upstream(route.server), 'prompts/get', { ...params, name: route.name }, extra);
  }

  /** Resource URIs are never rewritten: a read goes to the upstream that listed the URI (or its template). */
  private async resourceOwner(uri: string, extra: Extra): Promise<string> {
    const single = this.catalog.single;
    if (single !== undefined) return single;
    let owner = this.catalog.resourceOwner(uri);
    if (owner === undefined) {
      await this.refresh('resources', this.catalog.serverNames, extra);
      await this.refresh('templates', this.catalog.serverNames, extra);
      owner = this.catalog.resourceOwner(uri);
    }
    if (owner === undefined)
      throw new RpcError(RpcCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
    return owner;
  }

  private async resourceRequest(method: string, params: Params, extra: Extra): Promise<Result> {
    if (!isString(params.uri)) throw new RpcError(RpcCode.InvalidParams, `${method} needs a uri`);
    const owner = await this.resourceOwner(params.uri, extra);
    return this.forward(this.upstream(owner), method, params, extra);
  }

  private async complete(params: Params, extra: Extra): Promise<Result> {
    const single = this.catalog.single;
    if (single !== undefined)
      return this.forward(this.upstream(single), 'completion/complete', params, extra);
    const ref = isObject(params.ref) ? params.ref : {};
    if (ref.type === 'ref/prompt' && isString(ref.name)) {
      const route = await this.resolveName('prompts', ref.name, extra);
      if (!route) throw new RpcError(RpcCode.InvalidParams, `unknown prompt: ${ref.name}`);
      const forwarded = { ...params, ref: { ...ref, name: route.name } };
      return this.forward(this.upstream(route.server), 'completion/complete', forwarded, extra);
    }
    if (ref.type === 'ref/resource' && isString(ref.uri)) {
      const owner = await this.resourceOwner(ref.uri, extra);
      return this.forward(this.upstream(owner), 'completion/complete', params, extra);
    }
    throw new RpcError(RpcCode.InvalidParams, 'completion/complete needs a ref/prompt or ref/resource');
  }

  private async setLevel(params: Params, extra: Extra): Promise<Result> {
    const single = this.catalog.single;
    if (single !== undefined) return this.forward(this.upstream(single), 'logging/setLevel', params, extra);
    const targets = [...this.upstreams.values()].filter((u) => u.state === 'up' && u.capabilities?.logging);
    const settled = await Promise.allSettled(
      targets.map((u) => this.forward(u, 'logging/setLevel', params, extra)),
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
      await Promise.all(
        [...this.upstreams.values()].map((u) => u.notify(notification.method, notification.params)),
      );
    }
  }

  private fromUpstream(upstream: UpstreamConnection, notification: JSONRPCNotification): void {
    if (!SERVER_NOTIFICATIONS.has(notification.method)) return;
    if (notification.method === 'notifications/tools/list_changed')
      this.catalog.forget('tools', upstream.name);
    if (notification.method === 'notifications/prompts/list_changed')
      this.catalog.forget('prompts', upstream.name);
    if (notification.method === 'notifications/resources/list_changed') {
      this.catalog.forget('resources', upstream.name);
      this.catalog.forget('templates', upstream.name);
    }
    this.notifyClient(notification.method, notification.params);
  }

  /**
   * Sampling, elicitation and roots requests from an upstream go to this session's client. While
   * a client request to that upstream is in flight, the request is tied to it (over HTTP it then
   * travels on that call's stream); otherwise it goes out on the session.
   */
  private async upstreamRequest(upstream: UpstreamConnection, request: JSONRPCRequest, signal: AbortSignal) {
    if (!SERVER_TO_CLIENT_REQUESTS.has(request.method))
      throw new RpcError(RpcCode.MethodNotFound, 'Method not found');
    const params = request.params as Params | undefined;
    const upstreamToken = params?._meta?.progressToken;
    const options: RequestOptions = { signal, timeout: UPSTREAM_REQUEST_TIMEOUT_MS };
    if (upstreamToken !== undefined) {
      options.onprogress = (progress) => {
        void upstream.notify('notifications/progress', { ...progress, progressToken: upstreamToken });
      };
    }
    const message = { method: request.method, params } as ServerRequest;
    const related = this.inFlight
      .get(upstream.name)
      ?.filter((extra) => !extra.signal.aborted)
      .at(-1);
    try {
      return related
        ? await related.sendRequest(message, ResultSchema, options)
        : await this.server.request(message, ResultSchema, options);
    } catch (error) {
      throw toRpcError(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.server.close();
    } finally {
      await Promise.all([...this.upstreams.values()].map((u) => u.close()));
      this.upstreams.clear();
      for (const listener of this.closeListeners) listener();
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isImplementation(value: unknown): value is Implementation {
  return isObject(value) && isString(value.name) && isString(value.version);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
