// Lists towards the client (one upstream's pages, or all upstreams merged, renamed and filtered) and the name lookups they feed.

import { ErrorCode, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../policy/index.js';
import { type NamedKind, serverList } from './ambiguity.js';
import type { Catalog, ListKind, NameView, Route } from './catalog.js';
import { errorText, RESOURCE_NOT_FOUND, RpcError } from './errors.js';
import { type Standing, standingNow } from './governor.js';
import { type Extra, isObject, isString, type Params } from './params.js';
import { Refresher } from './refresher.js';
import type { ToolPins } from './tool-pins.js';
import type { UpstreamConnection } from './upstream.js';

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
/** A listing the proxy makes for itself gives up after this long (callers stop waiting sooner). */
const REFRESH_TIMEOUT_MS = 30_000;
/** Rounds of listing per lookup: bounds a lookup against an upstream that keeps changing its list. */
const MAX_ROUNDS = 6;

export interface RoutingTimings {
  /** Longest a call waits for an upstream that is down, starting or being listed before it is decided without it. */
  upstreamWaitMs: number;
  /** Least time between two listings of one upstream caused by calls to names it did not list. */
  missIntervalMs: number;
}

export const DEFAULT_ROUTING_TIMINGS: RoutingTimings = { upstreamWaitMs: 5000, missIntervalMs: 1000 };

/** Where a client-side tool or prompt name leads, or why it leads nowhere. */
export type Resolution =
  | { kind: 'route'; route: Route }
  | { kind: 'ambiguous'; servers: readonly string[] }
  /** No upstream lists it; `unavailable` names upstreams that might but could not be asked. */
  | { kind: 'unlisted'; unavailable: readonly { server: string; message: string }[] };

export interface ListRouterDeps {
  catalog: Catalog;
  agent: string;
  policy(): CompiledPolicy;
  /** The session's upstream connections (it adds and removes them). */
  upstreams: ReadonlyMap<string, UpstreamConnection>;
  /** Sends a request to the named upstream for the client (progress and cancellation follow it). */
  forward(server: string, method: string, params: Params, extra: Extra): Promise<Result>;
  log(message: string): void;
  timings?: Partial<RoutingTimings> | undefined;
  /** Judges every tool listing against the pins, and says which tools are held. */
  pins?: ToolPins | undefined;
  /** Configured upstreams that were not started at all (a missing variable), with why: any unlisted name may be theirs. */
  notStarted?: (() => readonly { server: string; reason: string }[]) | undefined;
  /** The agent's standing now (registry trust, suspension); none: as the policy says. */
  standing?: (() => Standing) | undefined;
}

/**
 * Answers the client's list requests and routes the names they showed back to an upstream: one per
 * session, because what a client was shown depends on its agent and the session's upstreams.
 */
export class ListRouter {
  private readonly deps: ListRouterDeps;
  private readonly timings: RoutingTimings;
  private readonly refresher: Refresher;

  constructor(deps: ListRouterDeps) {
    this.deps = deps;
    this.timings = { ...DEFAULT_ROUTING_TIMINGS, ...deps.timings };
    this.refresher = new Refresher({
      catalog: deps.catalog,
      fetch: (kind, server) => this.fetchNames(kind, server),
      missIntervalMs: this.timings.missIntervalMs,
      now: () => performance.now(),
      log: deps.log,
    });
  }

  /** Answers a client's list request of one kind. */
  async list(kind: ListKind, params: Params, extra: Extra): Promise<Result> {
    const spec = LISTS[kind];
    const catalog = this.deps.catalog;
    const single = catalog.single;
    if (single !== undefined) {
      // One upstream: its pages and cursors pass through untouched.
      const generation = catalog.generation(kind, single);
      const result = await this.deps.forward(single, spec.method, params, extra);
      const items = result[spec.key];
      if (!Array.isArray(items)) return result;
      const names = namesOf(items, spec.field);
      if (kind === 'tools') this.noteTools(single, items);
      // A first page without a next one is the whole list.
      if (params.cursor === undefined && result.nextCursor === undefined)
        catalog.replace(kind, single, names, generation);
      else catalog.remember(kind, single, names);
      return { ...result, [spec.key]: this.shown(kind, single, items) };
    }
    // Several upstreams: one merged list without a cursor, because clients that do not follow
    // cursors would otherwise never see the second upstream. Tool and prompt lists are small.
    if (params.cursor !== undefined) throw new RpcError(ErrorCode.InvalidParams, 'invalid cursor');
    const servers = catalog.serverNames.filter((name) => this.offers(name, spec.capability));
    const pages = await Promise.all(
      servers.map(async (server) => {
        const generation = catalog.generation(kind, server);
        try {
          const items = await this.fetchAll(kind, server, params, extra);
          if (kind === 'tools') this.noteTools(server, items);
          catalog.replace(kind, server, namesOf(items, spec.field), generation);
          return { server, items };
        } catch (error) {
          // One upstream down must not hide the others' lists; its earlier names still count.
          this.deps.log(`listing ${kind} of ${server} failed: ${errorText(error)}`);
          return { server, items: [] as unknown[] };
        }
      }),
    );
    // Only once every list is in can a name two upstreams share be told apart from a unique one.
    if (kind === 'tools' || kind === 'prompts') {
      catalog.noteAmbiguities(kind);
      catalog.noteConfusables(kind);
    }
    return { [spec.key]: pages.flatMap(({ server, items }) => this.shown(kind, server, items)) };
  }

  /**
   * Where a client-side tool or prompt name leads. Lists that are not fresh (never listed, changed,
   * or the upstream reconnected) are listed again first, waiting (bounded) for an upstream that is
   * down or starting when the answer may depend on it; a name that the fresh lists lack waits for
   * one shared, spaced re-listing before it is called unlisted. Never picks between two upstreams.
   */
  async resolveName(kind: NamedKind, exposed: string, extra: Extra): Promise<Resolution> {
    const catalog = this.deps.catalog;
    const arrival = performance.now();
    const deadline = arrival + this.timings.upstreamWaitMs;
    const signal = extra.signal;
    let missListed = false;
    /** Set when a round of listing brought nothing new: decide with what is known. */
    let stalled = false;
    for (let round = 0; ; round++) {
      const view: NameView = catalog.view(kind, exposed);
      if (view.ambiguous) return { kind: 'ambiguous', servers: view.ambiguous };
      const holder = view.holders.length === 1 ? view.holders[0] : undefined;
      const inTime = round < MAX_ROUNDS && performance.now() < deadline && !signal.aborted;
      if (inTime && !stalled) {
        const needed = view.stale.filter((server) => this.needed(kind, server, holder));
        if (needed.length > 0) {
          stalled = !(await this.freshen(kind, needed, deadline, signal));
          continue;
        }
      }
      if (holder) return { kind: 'route', route: holder };
      const unavailable = view.stale.map((server) => ({
        server,
        message: this.whyUnavailable(kind, server),
      }));
      if (unavailable.length === 0 && view.relevant.length > 0 && !missListed && inTime) {
        missListed = true;
        await this.listAfter(kind, view.relevant, arrival, deadline, signal);
        continue;
      }
      // A prefixed name tells whose it is; otherwise any upstream that never started may have it.
      const separator = this.deps.policy().naming.separator;
      const notStarted = (this.deps.notStarted?.() ?? [])
        .filter(({ server }) => !catalog.prefixed || exposed.startsWith(`${server}${separator}`))
        .map(({ server, reason }) => ({ server, message: `upstream ${server} is down: ${reason}` }));
      return { kind: 'unlisted', unavailable: [...unavailable, ...notStarted] };
    }
  }

  /** A prompt name's route, or the error the client gets for it. */
  async promptRoute(exposed: string, extra: Extra): Promise<Route> {
    const resolution = await this.resolveName('prompts', exposed, extra);
    if (resolution.kind === 'route') return resolution.route;
    throw new RpcError(ErrorCode.InvalidParams, unroutedReason('prompts', exposed, resolution), {
      name: exposed,
    });
  }

  /**
   * Checks at forwarding time (after the policy, maybe after a long review) that the name still
   * leads where it was judged to lead: not ambiguous since, and still listed there.
   */
  confirm(kind: NamedKind, exposed: string, route: Route): void {
    const catalog = this.deps.catalog;
    const view = catalog.view(kind, exposed);
    if (view.ambiguous) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        unroutedReason(kind, exposed, { kind: 'ambiguous', servers: view.ambiguous }),
      );
    }
    if (!catalog.has(kind, route.server, route.name)) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `${kind === 'tools' ? 'tool' : 'prompt'} "${exposed}" is no longer listed by upstream "${route.server}"; it was not forwarded`,
      );
    }
  }

  /** Resource URIs are never rewritten: a read goes to the upstream that listed the URI (or its template). */
  async resourceOwner(uri: string, extra: Extra): Promise<string> {
    const catalog = this.deps.catalog;
    const single = catalog.single;
    if (single !== undefined) return single;
    const arrival = performance.now();
    const deadline = arrival + this.timings.upstreamWaitMs;
    const kinds = ['resources', 'templates'] as const;
    // Lists that changed are listed again first (no waiting for upstreams that are down).
    const stale = (kind: ListKind) =>
      catalog.serverNames.filter(
        (s) => !catalog.isFresh(kind, s) && this.deps.upstreams.get(s)?.state === 'up',
      );
    await Promise.all(kinds.map((kind) => this.freshen(kind, stale(kind), deadline, extra.signal)));
    let owner = catalog.resourceOwner(uri);
    if (owner === undefined) {
      await Promise.all(
        kinds.map((kind) => this.listAfter(kind, catalog.serverNames, arrival, deadline, extra.signal)),
      );
      owner = catalog.resourceOwner(uri);
    }
    if (owner === undefined) throw new RpcError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
    return owner;
  }

  close(): void {
    this.refresher.close();
  }

  /**
   * Whether a stale list must be known before deciding: an upstream that is up is simply listed;
   * one that is down or starting is waited for when the name may be its (it held the name, or
   * nobody else does), or when it is starting and was never listed. A down upstream whose earlier
   * names are known and lack the name is not waited for: those names still count meanwhile.
   */
  private needed(kind: ListKind, server: string, holder: Route | undefined): boolean {
    const upstream = this.deps.upstreams.get(server);
    if (!upstream || upstream.state === 'closed') return false;
    if (upstream.state === 'up') return true;
    if (holder === undefined || holder.server === server) return true;
    return upstream.state === 'connecting' && !this.deps.catalog.everListed(kind, server);
  }

  /** Brings these lists up to date, waiting until the deadline for upstreams that are not up. True when one became fresh. */
  private async freshen(
    kind: ListKind,
    servers: readonly string[],
    deadline: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const catalog = this.deps.catalog;
    const outcomes = await Promise.all(
      servers.map(async (server) => {
        const upstream = this.deps.upstreams.get(server);
        if (!upstream) return false;
        if (!(await upstream.untilUp(deadline - performance.now(), signal))) return false;
        if (!this.offers(server, LISTS[kind].capability)) {
          // Nothing of this kind there: an empty list, known for sure.
          catalog.replace(kind, server, [], catalog.generation(kind, server));
          return true;
        }
        await withDeadline(this.refresher.listNow(kind, server), deadline, signal);
        return catalog.isFresh(kind, server);
      }),
    );
    return outcomes.some(Boolean);
  }

  /** Waits (until the deadline) for listings of these upstreams that started after `since`. */
  private async listAfter(
    kind: ListKind,
    servers: readonly string[],
    since: number,
    deadline: number,
    signal: AbortSignal,
  ): Promise<void> {
    const up = servers.filter(
      (s) => this.deps.upstreams.get(s)?.state === 'up' && this.offers(s, LISTS[kind].capability),
    );
    await Promise.all(
      up.map((server) => withDeadline(this.refresher.listAfter(kind, server, since), deadline, signal)),
    );
  }

  private whyUnavailable(kind: ListKind, server: string): string {
    const upstream = this.deps.upstreams.get(server);
    if (!upstream) return `upstream ${server} is not available: it is not configured`;
    if (upstream.state !== 'up') return upstream.unavailableMessage;
    return `upstream ${server} is not available: listing its ${kind} did not succeed in time`;
  }

  /** Every name of one kind that an upstream lists now, asked directly (no client request attached). */
  private async fetchNames(kind: ListKind, server: string): Promise<string[]> {
    const upstream = this.deps.upstreams.get(server);
    if (!upstream) return [];
    const spec = LISTS[kind];
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_REFRESH_PAGES; page++) {
      const result = await upstream.request(spec.method, cursor === undefined ? {} : { cursor }, {
        timeout: REFRESH_TIMEOUT_MS,
      });
      const got = result[spec.key];
      if (Array.isArray(got)) items.push(...got);
      cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
      if (cursor === undefined) break;
    }
    if (kind === 'tools') this.noteTools(server, items);
    return namesOf(items, spec.field);
  }

  /** Every page of one upstream's list (bounded), as the upstream sent the items, for the client. */
  private async fetchAll(kind: ListKind, server: string, params: Params, extra: Extra): Promise<unknown[]> {
    const spec = LISTS[kind];
    const { cursor: _ignored, ...rest } = params;
    const items: unknown[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_REFRESH_PAGES; page++) {
      const result = await this.deps.forward(
        server,
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
    const upstream = this.deps.upstreams.get(server);
    if (!upstream) return false;
    // An upstream that is down (capabilities unknown) still counts for tools, so its listing error is logged.
    const caps = upstream.capabilities;
    return caps === undefined ? capability === 'tools' : caps[capability] !== undefined;
  }

  /** What an upstream listed of its tools: their schemas for the argument check, their definitions for the pins. */
  private noteTools(server: string, items: readonly unknown[]): void {
    this.deps.catalog.noteToolSchemas(server, items);
    try {
      this.deps.pins?.note(server, items);
    } catch (error) {
      this.deps.log(`pinning the tools of ${server} failed: ${errorText(error)}`);
    }
  }

  /** The agent's standing; a registry that cannot tell is treated as a suspension (closed). */
  private standingNow(): Standing {
    return standingNow(this.deps.standing, this.deps.log);
  }

  /** The items of one upstream's list as the client should see them: renamed, ambiguous and always-denied items left out. */
  private shown(kind: ListKind, server: string, items: readonly unknown[]): unknown[] {
    const policy = this.deps.policy();
    const agent = this.deps.agent;
    const standing = this.standingNow();
    // A suspended agent is offered nothing until a person reinstates it.
    if (standing.suspended !== undefined) return [];
    const trust = standing.trust;
    // A resource or template the policy denies whatever is asked is not offered at all (one under
    // review is: a person decides its read).
    if (kind === 'resources')
      return items.filter(
        (item) =>
          !isObject(item) ||
          !isString(item.uri) ||
          policy.evaluateAccess({ kind: 'resource', name: item.uri, server, agent, trust }).decision !==
            'deny',
      );
    if (kind === 'templates')
      return items.filter(
        (item) =>
          !isObject(item) ||
          !isString(item.uriTemplate) ||
          !policy.hidesTemplate({ template: item.uriTemplate, server, agent, trust }),
      );
    const catalog = this.deps.catalog;
    const shown = items.filter((item): item is Params & { name: string } => {
      if (!isObject(item) || !isString(item.name)) return false;
      if (catalog.isAmbiguous(kind, item.name)) return false;
      // A tool the policy denies whatever the arguments is not offered at all; a prompt has no arguments that count.
      if (kind === 'prompts')
        return (
          policy.evaluateAccess({ kind: 'prompt', name: item.name, server, agent, trust }).decision !== 'deny'
        );
      // A tool whose definition is held (changed since it was pinned) is not offered until accepted.
      if (this.deps.pins?.held(server, item.name) !== undefined) return false;
      return !policy.alwaysDenies({ tool: item.name, server, agent, trust });
    });
    return catalog.prefixed
      ? shown.map((item) => ({ ...item, name: catalog.exposedName(server, item.name) }))
      : shown;
  }
}

/** The reason a client is given for a tool or prompt name that leads to no upstream. */
export function unroutedReason(
  kind: NamedKind,
  exposed: string,
  resolution: Exclude<Resolution, { kind: 'route' }>,
): string {
  const what = kind === 'tools' ? 'tool' : 'prompt';
  if (resolution.kind === 'ambiguous') {
    return (
      `${what} "${exposed}" is ambiguous: ${serverList(resolution.servers)} list it and naming.prefix is never, ` +
      'so Portcullis does not pick one (see the Policy page)'
    );
  }
  if (resolution.unavailable.length === 0) return `${what} "${exposed}" is not listed by any upstream`;
  // An upstream that could not be asked may well be the one with this name: say so first, and never
  // call the name unknown while it might be.
  const down = resolution.unavailable.map(({ message }) => message);
  return `${down.join('; ')} (so ${what} "${exposed}" could not be looked up there)`;
}

/** Resolves when `promise` settles, the deadline passes or the signal aborts, whichever is first. */
function withDeadline(promise: Promise<unknown>, deadline: number, signal: AbortSignal): Promise<void> {
  const left = deadline - performance.now();
  if (left <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, left);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

function namesOf(items: readonly unknown[], field: ListSpec['field']): string[] {
  return items.map((item) => (isObject(item) ? item[field] : undefined)).filter(isString);
}
