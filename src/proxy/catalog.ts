// What each upstream has listed, and how names map between the client and the upstreams.

import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { NamingSettings } from '../policy/types.js';

export type ListKind = 'tools' | 'prompts' | 'resources' | 'templates';

/** Where a client-side name leads: the upstream and the name as that upstream lists it. */
export interface Route {
  server: string;
  name: string;
}

/**
 * Names seen per upstream. The gate only forwards a tool call for a name an upstream has listed;
 * a list_changed or a restart forgets that upstream's names until it is listed again.
 */
export class Catalog {
  private readonly seen = new Map<ListKind, Map<string, Set<string>>>();
  private servers: readonly string[];
  private naming: NamingSettings;

  constructor(servers: readonly string[], naming: NamingSettings) {
    this.servers = servers;
    this.naming = naming;
  }

  /** Called when the set of upstreams or the policy's naming settings change. */
  configure(servers: readonly string[], naming: NamingSettings): void {
    this.servers = servers;
    this.naming = naming;
    for (const byServer of this.seen.values()) {
      for (const server of [...byServer.keys()]) if (!servers.includes(server)) byServer.delete(server);
    }
  }

  get serverNames(): readonly string[] {
    return this.servers;
  }

  /** Several upstreams (or naming.prefix: always) put `server<sep>` in front of tool and prompt names. */
  get prefixed(): boolean {
    if (this.naming.prefix === 'always') return true;
    if (this.naming.prefix === 'never') return false;
    return this.servers.length > 1;
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

  /**
   * The upstream a client-side tool or prompt name belongs to, or undefined when no upstream has
   * listed it. Without prefixes the first upstream (in configuration order) that listed it wins.
   */
  resolve(kind: 'tools' | 'prompts', exposed: string): Route | undefined {
    if (this.prefixed) {
      const route = this.splitPrefixed(exposed);
      return route && this.has(kind, route.server, route.name) ? route : undefined;
    }
    const server = this.servers.find((s) => this.has(kind, s, exposed));
    return server === undefined ? undefined : { server, name: exposed };
  }

  /** The upstream a prefixed name points at, listed or not (used to refresh that upstream's list). */
  claimedServer(exposed: string): string | undefined {
    return this.prefixed ? this.splitPrefixed(exposed)?.server : undefined;
  }

  /** Without prefixes two upstreams may list the same name: only the first one's is shown. */
  isShadowed(kind: 'tools' | 'prompts', server: string, name: string): boolean {
    if (this.prefixed) return false;
    for (const other of this.servers) {
      if (other === server) return false;
      if (this.has(kind, other, name)) return true;
    }
    return false;
  }

  remember(kind: ListKind, server: string, names: Iterable<string>): void {
    let byServer = this.seen.get(kind);
    if (!byServer) {
      byServer = new Map();
      this.seen.set(kind, byServer);
    }
    let set = byServer.get(server);
    if (!set) {
      set = new Set();
      byServer.set(server, set);
    }
    for (const name of names) set.add(name);
  }

  forget(kind: ListKind, server: string): void {
    this.seen.get(kind)?.delete(server);
  }

  forgetServer(server: string): void {
    for (const byServer of this.seen.values()) byServer.delete(server);
  }

  has(kind: ListKind, server: string, name: string): boolean {
    return this.seen.get(kind)?.get(server)?.has(name) ?? false;
  }

  /** The upstream that listed this resource URI, or whose URI template matches it. */
  resourceOwner(uri: string): string | undefined {
    const listed = this.servers.find((s) => this.has('resources', s, uri));
    if (listed !== undefined) return listed;
    for (const server of this.servers) {
      for (const template of this.seen.get('templates')?.get(server) ?? []) {
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
