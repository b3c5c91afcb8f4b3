// What each upstream has listed, and how names map between the client and the upstreams.

import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { NamingSettings } from '../policy/index.js';
import { Ambiguities, type NamedKind } from './ambiguity.js';
import { type ToolInputSchema, toolInputSchema } from './arg-schema.js';
import type { Confusables } from './confusables.js';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'templates';

/** Where a client-side name leads: the upstream and the name as that upstream lists it. */
export interface Route {
  server: string;
  name: string;
}

/** Several upstreams (or naming.prefix: always) put `server<sep>` in front of tool and prompt names. */
export function isPrefixed(naming: NamingSettings, serverCount: number): boolean {
  if (naming.prefix === 'always') return true;
  if (naming.prefix === 'never') return false;
  return serverCount > 1;
}

/** The upstreams whose names can collide (none when names are prefixed), for the ambiguity warnings. */
export function unprefixedServers(naming: NamingSettings, servers: readonly { name: string }[]): string[] {
  return isPrefixed(naming, servers.length) ? [] : servers.map((s) => s.name);
}

/**
 * What one upstream listed of one kind. A list change or a restart makes it stale but keeps its
 * names: until the upstream has been listed again they still count, so that a name two upstreams
 * share cannot quietly lead to the other one while the first is down or relisting.
 */
interface Listing {
  names: Set<string>;
  /** Listed completely since the last list change or reconnection. */
  fresh: boolean;
  /** Bumped by every change; a listing that started before a change cannot make the list fresh. */
  generation: number;
  /** Listed completely at least once in this session. */
  everListed: boolean;
}

/** What the catalog knows about one client-side tool or prompt name right now. */
export interface NameView {
  /** The upstreams that could serve the name: the one its prefix names, or all without prefixes. */
  relevant: readonly string[];
  /** Routes to the upstreams whose current or stale list has the name. */
  holders: readonly Route[];
  /** Set when two or more upstreams list (or have listed) the name without prefixes: never routed. */
  ambiguous: readonly string[] | undefined;
  /** Relevant upstreams whose list is not fresh (never listed, changed, or reconnected since). */
  stale: readonly string[];
}

/**
 * Names seen per upstream. The gate only forwards a tool call for a name an upstream has listed.
 */
export class Catalog {
  private readonly seen = new Map<ListKind, Map<string, Listing>>();
  private servers: readonly string[];
  private naming: NamingSettings;
  private readonly ambiguities: Ambiguities;
  private readonly confusables: Confusables | undefined;
  /** The inputSchema each upstream last listed per tool name, for the gate's argument check. */
  private readonly inputSchemas = new Map<string, Map<string, ToolInputSchema | undefined>>();

  constructor(
    servers: readonly string[],
    naming: NamingSettings,
    ambiguities?: Ambiguities,
    confusables?: Confusables,
  ) {
    this.servers = servers;
    this.naming = naming;
    this.ambiguities = ambiguities ?? new Ambiguities(() => {});
    this.confusables = confusables;
  }

  /** Called when the set of upstreams or the policy's naming settings change. */
  configure(servers: readonly string[], naming: NamingSettings): void {
    this.servers = servers;
    this.naming = naming;
    for (const byServer of this.seen.values()) {
      for (const server of [...byServer.keys()]) if (!servers.includes(server)) byServer.delete(server);
    }
    for (const server of [...this.inputSchemas.keys()]) {
      if (!servers.includes(server)) this.inputSchemas.delete(server);
    }
  }

  get serverNames(): readonly string[] {
    return this.servers;
  }

  get prefixed(): boolean {
    return isPrefixed(this.naming, this.servers.length);
  }

  /** One upstream and no prefix: names, cursors and URIs pass through untouched. */
  get single(): string | undefined {
    return this.servers.length === 1 && !this.prefixed ? this.servers[0] : undefined;
  }

  exposedName(server: string, name: string): string {
    return this.prefixed ? `${server}${this.naming.separator}${name}` : name;
  }

  /** Splits a prefixed name; the longest matching server name wins, so `a__b` and `a` cannot be confused. */
  private splitPrefixed(exposed: string): Route | undefined {
    let best: Route | undefined;
    for (const server of this.servers) {
      const prefix = `${server}${this.naming.separator}`;
      if (exposed.startsWith(prefix) && exposed.length > prefix.length) {
        if (!best || server.length > best.server.length)
          best = { server, name: exposed.slice(prefix.length) };
      }
    }
    return best;
  }

  /** Everything routing needs to know about a client-side tool or prompt name. */
  view(kind: NamedKind, exposed: string): NameView {
    if (this.prefixed) {
      const claimed = this.splitPrefixed(exposed);
      if (!claimed) return { relevant: [], holders: [], ambiguous: undefined, stale: [] };
      return {
        relevant: [claimed.server],
        holders: this.has(kind, claimed.server, claimed.name) ? [claimed] : [],
        ambiguous: undefined,
        stale: this.isFresh(kind, claimed.server) ? [] : [claimed.server],
      };
    }
    const holders = this.servers
      .filter((s) => this.has(kind, s, exposed))
      .map((server) => ({ server, name: exposed }));
    // Seen once, remembered for good (see Ambiguities): noting is idempotent.
    if (holders.length >= 2)
      this.ambiguities.note(
        kind,
        exposed,
        holders.map((h) => h.server),
      );
    const ambiguous = this.ambiguities.between(kind, exposed, this.servers);
    return {
      relevant: this.servers,
      holders,
      ambiguous,
      stale: this.servers.filter((s) => !this.isFresh(kind, s)),
    };
  }

  /**
   * The upstream a client-side name belongs to from what is known now, without waiting or
   * listing: undefined when no upstream listed it or when it is ambiguous.
   */
  resolve(kind: NamedKind, exposed: string): Route | undefined {
    const view = this.view(kind, exposed);
    return view.ambiguous === undefined && view.holders.length === 1 ? view.holders[0] : undefined;
  }

  /** Without prefixes, a name that two upstreams list is shown by neither. */
  isAmbiguous(kind: NamedKind, name: string): boolean {
    return !this.prefixed && this.view(kind, name).ambiguous !== undefined;
  }

  /** Remembers, process-wide, every name of this kind that two upstreams list now. */
  noteAmbiguities(kind: NamedKind): void {
    if (this.prefixed) return;
    const byName = new Map<string, string[]>();
    for (const server of this.servers) {
      for (const name of this.listing(kind, server)?.names ?? []) {
        const holders = byName.get(name) ?? [];
        holders.push(server);
        byName.set(name, holders);
      }
    }
    for (const [name, holders] of byName) if (holders.length >= 2) this.ambiguities.note(kind, name, holders);
  }

  /** Flags names of this kind that different upstreams list alike, whatever the naming mode (routing is unchanged). */
  noteConfusables(kind: NamedKind): void {
    if (!this.confusables) return;
    const listings = new Map<string, Iterable<string>>();
    for (const server of this.servers) listings.set(server, this.listing(kind, server)?.names ?? []);
    this.confusables.note(kind, listings, this.prefixed);
  }

  private listing(kind: ListKind, server: string): Listing | undefined {
    return this.seen.get(kind)?.get(server);
  }

  private ensure(kind: ListKind, server: string): Listing {
    let byServer = this.seen.get(kind);
    if (!byServer) {
      byServer = new Map();
      this.seen.set(kind, byServer);
    }
    let listing = byServer.get(server);
    if (!listing) {
      listing = { names: new Set(), fresh: false, generation: 0, everListed: false };
      byServer.set(server, listing);
    }
    return listing;
  }

  /** The generation to pass to `replace` for a listing that starts now. */
  generation(kind: ListKind, server: string): number {
    return this.ensure(kind, server).generation;
  }

  /** Adds names from one page a client asked for; freshness is unchanged. */
  remember(kind: ListKind, server: string, names: Iterable<string>): void {
    const listing = this.ensure(kind, server);
    for (const name of names) listing.names.add(name);
  }

  /**
   * A complete listing that started at `generation`. If the list changed meanwhile, the names are
   * only added (the old ones still count) and the list stays stale, to be listed again.
   */
  replace(kind: ListKind, server: string, names: Iterable<string>, generation: number): void {
    const listing = this.ensure(kind, server);
    if (listing.generation !== generation) {
      for (const name of names) listing.names.add(name);
      return;
    }
    listing.names = new Set(names);
    listing.fresh = true;
    listing.everListed = true;
  }

  /** The upstream said its list changed: list it again before trusting it, but keep its names meanwhile. */
  markStale(kind: ListKind, server: string): void {
    const listing = this.ensure(kind, server);
    listing.fresh = false;
    listing.generation += 1;
  }

  /** The upstream dropped or reconnected: every list of it is stale. */
  markServerStale(server: string): void {
    for (const kind of ['tools', 'prompts', 'resources', 'templates'] as const) this.markStale(kind, server);
  }

  /** The upstream was replaced or removed by the configuration: what it listed no longer counts. */
  forgetServer(server: string): void {
    for (const byServer of this.seen.values()) byServer.delete(server);
    this.inputSchemas.delete(server);
  }

  /**
   * Keeps the inputSchema of every tool in these list items (as the upstream sent them). The last
   * listing wins: a call is checked against the definition the upstream offers now.
   */
  noteToolSchemas(server: string, items: readonly unknown[]): void {
    let byName = this.inputSchemas.get(server);
    if (!byName) {
      byName = new Map();
      this.inputSchemas.set(server, byName);
    }
    for (const item of items) {
      const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined;
      if (typeof name === 'string') byName.set(name, toolInputSchema(item));
    }
  }

  /** The inputSchema the upstream last listed for this tool (its own name), if any. */
  toolSchema(server: string, name: string): ToolInputSchema | undefined {
    return this.inputSchemas.get(server)?.get(name);
  }

  isFresh(kind: ListKind, server: string): boolean {
    return this.listing(kind, server)?.fresh ?? false;
  }

  everListed(kind: ListKind, server: string): boolean {
    return this.listing(kind, server)?.everListed ?? false;
  }

  /** Listed by that upstream, in its current list or (while it is stale) its last one. */
  has(kind: ListKind, server: string, name: string): boolean {
    return this.listing(kind, server)?.names.has(name) ?? false;
  }

  /** The upstream that listed this resource URI, or whose URI template matches it. */
  resourceOwner(uri: string): string | undefined {
    const listed = this.servers.find((s) => this.has('resources', s, uri));
    if (listed !== undefined) return listed;
    for (const server of this.servers) {
      for (const template of this.listing('templates', server)?.names ?? []) {
        if (template === uri || matchesTemplate(template, uri)) return server;
      }
    }
    return undefined;
  }
}

function matchesTemplate(template: string, uri: string): boolean {
  try {
    return new UriTemplate(template).match(uri) !== null;
  } catch {
    return false;
  }
}
