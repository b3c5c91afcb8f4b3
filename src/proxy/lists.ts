// Lists towards the client (one upstream's pages, or all upstreams merged, renamed and filtered) and the name lookups they feed.

import type { Result } from '@modelcontextprotocol/sdk/types.js';
import type { CompiledPolicy } from '../policy/types.js';
import type { Catalog, ListKind, Route } from './catalog.js';
import { errorText, RpcCode, RpcError } from './errors.js';
import { type Extra, isObject, isString, type Params } from './params.js';
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
/** At most one re-listing per list kind in this time, however many unknown names a client calls. */
const MISS_REFRESH_INTERVAL_MS = 1000;

export interface ListsDeps {
  catalog: Catalog;
  agent: string;
  policy(): CompiledPolicy;
  /** The session's upstream connections (it adds and removes them). */
  upstreams: ReadonlyMap<string, UpstreamConnection>;
  /** Sends a request to the named upstream for the client (progress and cancellation follow it). */
  forward(server: string, method: string, params: Params, extra: Extra): Promise<Result>;
  log(message: string): void;
}

export class Lists {
  private readonly deps: ListsDeps;
  private readonly lastMissRefresh = new Map<string, number>();

  constructor(deps: ListsDeps) {
    this.deps = deps;
  }

  /** Answers a client's list request of one kind. */
  async list(kind: ListKind, params: Params, extra: Extra): Promise<Result> {
    const spec = LISTS[kind];
    const single = this.deps.catalog.single;
    if (single !== undefined) {
      // One upstream: its pages and cursors pass through untouched.
      const result = await this.deps.forward(single, spec.method, params, extra);
      return this.present(kind, single, result);
    }
    // Several upstreams: one merged list without a cursor, because clients that do not follow
    // cursors would otherwise never see the second upstream. Tool and prompt lists are small.
    if (params.cursor !== undefined) throw new RpcError(RpcCode.InvalidParams, 'invalid cursor');
    const servers = this.deps.catalog.serverNames.filter((name) => this.offers(name, spec.capability));
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

  /** The upstream a client-side tool or prompt name leads to, relisting upstreams once when it is unknown. */
  async resolveName(kind: 'tools' | 'prompts', exposed: string, extra: Extra): Promise<Route | undefined> {
    const catalog = this.deps.catalog;
    const known = catalog.resolve(kind, exposed);
    if (known) return known;
    // Calls to unknown names would otherwise let a client make the proxy re-list every upstream at will.
    const now = Date.now();
    if (now - (this.lastMissRefresh.get(kind) ?? Number.NEGATIVE_INFINITY) < MISS_REFRESH_INTERVAL_MS)
      return undefined;
    this.lastMissRefresh.set(kind, now);
    const claimed = catalog.claimedServer(exposed);
    await this.refresh(kind, claimed !== undefined ? [claimed] : catalog.serverNames, extra);
    return catalog.resolve(kind, exposed);
  }

  /** Resource URIs are never rewritten: a read goes to the upstream that listed the URI (or its template). */
  async resourceOwner(uri: string, extra: Extra): Promise<string> {
    const catalog = this.deps.catalog;
    const single = catalog.single;
    if (single !== undefined) return single;
    let owner = catalog.resourceOwner(uri);
    if (owner === undefined) {
      await this.refresh('resources', catalog.serverNames, extra);
      await this.refresh('templates', catalog.serverNames, extra);
      owner = catalog.resourceOwner(uri);
    }
    if (owner === undefined)
      throw new RpcError(RpcCode.ResourceNotFound, `Resource not found: ${uri}`, { uri });
    return owner;
  }

  /** Every page of one upstream's list (bounded), as the upstream sent the items. */
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

  /** Remembers what an upstream listed and shows it as the client should see it (renamed, filtered). */
  private present(kind: ListKind, server: string, result: Result): Result {
    const spec = LISTS[kind];
    const items = result[spec.key];
    if (!Array.isArray(items)) return result;
    const catalog = this.deps.catalog;
    catalog.remember(kind, server, namesOf(items, spec.field));
    if (kind !== 'tools' && kind !== 'prompts') return result;
    const policy = this.deps.policy();
    const shown = items.filter((item): item is Params & { name: string } => {
      if (!isObject(item) || !isString(item.name)) return false;
      if (catalog.isShadowed(kind, server, item.name)) return false;
      // A tool the policy denies whatever the arguments is not offered at all.
      return !(kind === 'tools' && policy.alwaysDenies({ tool: item.name, server, agent: this.deps.agent }));
    });
    return {
      ...result,
      [spec.key]: catalog.prefixed
        ? shown.map((item) => ({ ...item, name: catalog.exposedName(server, item.name) }))
        : shown,
    };
  }

  /** Lists upstreams' whole catalogs of one kind, only to learn their names (nothing goes to the client). */
  private async refresh(kind: ListKind, servers: readonly string[], extra: Extra): Promise<void> {
    const spec = LISTS[kind];
    await Promise.all(
      servers.map(async (server) => {
        if (this.deps.upstreams.get(server)?.state !== 'up' || !this.offers(server, spec.capability)) return;
        try {
          const items = await this.fetchAll(kind, server, {}, extra);
          this.deps.catalog.forget(kind, server);
          this.deps.catalog.remember(kind, server, namesOf(items, spec.field));
        } catch (error) {
          this.deps.log(`refreshing ${kind} of ${server} failed: ${errorText(error)}`);
        }
      }),
    );
  }
}

function namesOf(items: readonly unknown[], field: ListSpec['field']): string[] {
  return items.map((item) => (isObject(item) ? item[field] : undefined)).filter(isString);
}
