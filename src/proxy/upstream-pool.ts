// Upstream connections shared by the sessions of one agent (or of all agents), reference-counted, stopped when idle.

import { ErrorCode, type JSONRPCNotification } from '@modelcontextprotocol/sdk/types.js';
import { RpcError } from './errors.js';
import {
  type RestartPolicy,
  UpstreamConnection,
  type UpstreamHooks,
  type UpstreamInit,
  type UpstreamTransportFactory,
} from './upstream.js';
import { type ShareMode, specKey, type UpstreamSpec } from './upstream-spec.js';

/** How long a pooled upstream with no session left keeps running before it is stopped (`idle_stop`). */
export const DEFAULT_IDLE_STOP_MS = 2 * 60_000;

/** What a stdio upstream does unless its `share:` says otherwise; HTTP upstreams stay per session. */
export function shareModeOf(spec: UpstreamSpec): ShareMode {
  return spec.share ?? (spec.kind === 'stdio' ? 'per_agent' : 'per_session');
}

/** One session's hold on an upstream connection, shared or its own. */
export interface UpstreamLease {
  readonly connection: UpstreamConnection;
  /** Resolves when the connection's first attempt has finished: true when it is up. */
  readonly ready: Promise<boolean>;
  /** A call of this session is in flight on the connection until the returned function runs. */
  begin(): () => void;
  /** This session did something on the connection (a notification): requests without a call come to it. */
  touch(): void;
  /** The session subscribed to this URI: its resources/updated come to it. */
  subscribe(uri: string): void;
  /** The session gave the URI up; true when no other session still wants it (so unsubscribe goes upstream). */
  unsubscribe(uri: string): boolean;
  /** The session no longer uses the connection; the last one out closes it (now, or after the idle time). */
  release(): Promise<void>;
}

export interface UpstreamPoolOptions {
  transport?: UpstreamTransportFactory | undefined;
  restart?: RestartPolicy | undefined;
  /** False: every lease gets its own connection, whatever the spec says (sessions made without a pool). */
  sharing?: boolean;
}

/** The order of calls and activity across sessions: the latest one wins a server-to-client request. */
let sequence = 0;

class Member implements UpstreamLease {
  readonly inFlight: number[] = [];
  readonly subscriptions = new Set<string>();
  lastActive = ++sequence;
  private released = false;

  constructor(
    private readonly hub: Hub,
    readonly hooks: UpstreamHooks,
  ) {}

  get connection(): UpstreamConnection {
    return this.hub.connection;
  }

  get ready(): Promise<boolean> {
    return this.hub.started;
  }

  begin(): () => void {
    const seq = ++sequence;
    this.lastActive = seq;
    this.inFlight.push(seq);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight.splice(this.inFlight.indexOf(seq), 1);
    };
  }

  touch(): void {
    this.lastActive = ++sequence;
  }

  subscribe(uri: string): void {
    this.subscriptions.add(uri);
  }

  unsubscribe(uri: string): boolean {
    this.subscriptions.delete(uri);
    return ![...this.hub.members].some((m) => m.subscriptions.has(uri));
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.hub.leave(this);
  }
}

/** One upstream connection and the sessions using it. */
class Hub {
  readonly members = new Set<Member>();
  readonly connection: UpstreamConnection;
  readonly started: Promise<boolean>;
  /** The hooks of a session that used it, for what is said once (lifecycle, failures, log lines). */
  private voice: UpstreamHooks;
  private idleTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly key: string | undefined,
    spec: UpstreamSpec,
    init: UpstreamInit,
    first: UpstreamHooks,
    private readonly idleStopMs: number,
    options: UpstreamPoolOptions,
    private readonly forget: (hub: Hub) => void,
  ) {
    this.voice = first;
    this.connection = new UpstreamConnection(spec, init, this.fanOut(), {
      transport: options.transport,
      restart: options.restart,
    });
    this.started = this.connection.start();
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  join(hooks: UpstreamHooks): Member {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const member = new Member(this, hooks);
    this.members.add(member);
    this.voice = hooks;
    return member;
  }

  async leave(member: Member): Promise<void> {
    this.members.delete(member);
    if (this.members.size > 0) {
      if (this.voice === member.hooks) this.voice = [...this.members][0]?.hooks ?? this.voice;
      return;
    }
    // Per session (or no idle time): gone with its session, as before pooling.
    if (this.key === undefined || this.idleStopMs <= 0) return this.close();
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), this.idleStopMs);
    this.idleTimer.unref();
  }

  close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.closing ??= (async () => {
      this.forget(this);
      await this.connection.close();
    })();
    return this.closing;
  }

  /**
   * The hooks the connection gets: notifications to every session using it (resources/updated only
   * to those that subscribed to that URI), a server-to-client request to the one session it belongs to.
   */
  private fanOut(): UpstreamHooks {
    const each = (act: (hooks: UpstreamHooks) => void): void => {
      for (const member of [...this.members]) act(member.hooks);
    };
    return {
      notification: (upstream, notification) => {
        // Logging sent while calls run belongs to a call, as it does direct: on a shared connection
        // only the session whose call started last gets it (the one that session sends on that
        // call's stream), never the other sessions sharing the child.
        const caller =
          notification.method === 'notifications/message' && this.key !== undefined
            ? this.caller()
            : undefined;
        if (caller) {
          caller.hooks.notification(upstream, notification);
          return;
        }
        const uri = updatedUri(notification);
        for (const member of [...this.members]) {
          // Per session keeps today's behaviour: whatever its own upstream sends reaches it.
          if (uri !== undefined && this.key !== undefined && !member.subscriptions.has(uri)) continue;
          member.hooks.notification(upstream, notification);
        }
      },
      request: (upstream, request, extra) => {
        const member = this.requestOwner();
        if (!member)
          return Promise.reject(
            new RpcError(ErrorCode.ConnectionClosed, 'no client session is using this upstream now'),
          );
        return member.hooks.request(upstream, request, extra);
      },
      reconnected: (upstream) => each((hooks) => hooks.reconnected(upstream)),
      dropped: (upstream) => each((hooks) => hooks.dropped?.(upstream)),
      lifecycle: (upstream, action, detail) => this.voice.lifecycle?.(upstream, action, detail),
      failed: (upstream, error, detail) => {
        if (this.voice.failed) this.voice.failed(upstream, error, detail);
        else this.voice.log(`upstream ${upstream.name}: ${detail}`);
      },
      log: (message) => this.voice.log(message),
    };
  }

  /** The session whose call in flight on this connection started last, if any call is in flight. */
  private caller(): Member | undefined {
    let best: Member | undefined;
    let bestSeq = -1;
    for (const member of this.members) {
      const last = member.inFlight.at(-1);
      if (last !== undefined && last > bestSeq) {
        best = member;
        bestSeq = last;
      }
    }
    return best;
  }

  /**
   * Whose client answers a sampling, elicitation or roots request: the session with the call that
   * started last among those in flight (the SDK does not say which call a request belongs to);
   * with none in flight, the session that was active last.
   */
  private requestOwner(): Member | undefined {
    const caller = this.caller();
    if (caller) return caller;
    let best: Member | undefined;
    let bestSeq = -1;
    for (const member of this.members) {
      if (member.lastActive > bestSeq) {
        best = member;
        bestSeq = member.lastActive;
      }
    }
    return best;
  }
}

function updatedUri(notification: JSONRPCNotification): string | undefined {
  if (notification.method !== 'notifications/resources/updated') return undefined;
  const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
  return typeof uri === 'string' ? uri : '';
}

/** JSON with sorted keys: two clients declaring the same capabilities in another order share. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The proxy's upstream connections. `per_agent` shares one per (spec, agent, client capabilities),
 * `shared` one per (spec, client capabilities), `per_session` none. Capabilities are part of the key
 * because the upstream is initialized once: a client that declares sampling must not share with one
 * that cannot answer it.
 */
export class UpstreamPool {
  private readonly hubs = new Map<string, Hub>();
  /** Every hub with a live connection, pooled or per session (for counting and closing). */
  private readonly live = new Set<Hub>();
  private readonly options: UpstreamPoolOptions;
  private startedCount = 0;

  constructor(options: UpstreamPoolOptions = {}) {
    this.options = options;
  }

  acquire(spec: UpstreamSpec, agent: string, init: UpstreamInit, hooks: UpstreamHooks): UpstreamLease {
    const mode = this.options.sharing === false ? 'per_session' : shareModeOf(spec);
    const key =
      mode === 'per_session'
        ? undefined
        : [
            specKey(spec),
            mode === 'per_agent' ? `agent:${agent}` : 'shared',
            stableJson(init.capabilities),
          ].join('\n');
    let hub = key === undefined ? undefined : this.hubs.get(key);
    if (!hub || hub.closed) {
      hub = new Hub(key, spec, init, hooks, spec.idleStopMs ?? DEFAULT_IDLE_STOP_MS, this.options, (h) => {
        if (h.key !== undefined && this.hubs.get(h.key) === h) this.hubs.delete(h.key);
        this.live.delete(h);
      });
      this.startedCount += 1;
      this.live.add(hub);
      if (key !== undefined) this.hubs.set(key, hub);
    }
    return hub.join(hooks);
  }

  /** Connections open now (one per child process for stdio upstreams). */
  get open(): number {
    return this.live.size;
  }

  /** Connections made since the pool was created (restarts of one connection not counted). */
  get started(): number {
    return this.startedCount;
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((hub) => hub.close()));
  }
}
