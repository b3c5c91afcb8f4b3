// Tool and prompt names that two upstreams list while names are not prefixed: refused for the life of the process.

export type NamedKind = 'tools' | 'prompts';

export interface Ambiguity {
  kind: NamedKind;
  name: string;
  /** Every upstream seen listing the name, in the order they were seen. */
  servers: readonly string[];
}

/**
 * Shared by every session of one proxy process. Once two upstreams have listed the same name, it
 * stays ambiguous even when one of them stops listing it (a restart, a list change): otherwise the
 * name would silently start leading to the other upstream, which the client never chose.
 */
export class Ambiguities {
  private readonly entries = new Map<string, { kind: NamedKind; name: string; servers: string[] }>();
  private readonly log: (message: string) => void;

  constructor(log: (message: string) => void) {
    this.log = log;
  }

  /** Records that these upstreams list `name`; warns (once per new upstream) on stderr. */
  note(kind: NamedKind, name: string, servers: readonly string[]): void {
    const key = `${kind}\0${name}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { kind, name, servers: [] };
      this.entries.set(key, entry);
    }
    const added = servers.filter((s) => !entry.servers.includes(s));
    if (added.length === 0) return;
    entry.servers.push(...added);
    this.log(`warning: ${describe(entry)}`);
  }

  /** The configured upstreams among those seen listing `name`, when there are at least two. */
  between(kind: NamedKind, name: string, configured: readonly string[]): string[] | undefined {
    const servers = this.entries.get(`${kind}\0${name}`)?.servers.filter((s) => configured.includes(s));
    return servers && servers.length >= 2 ? servers : undefined;
  }

  /** Every ambiguity still in effect for these upstreams. */
  list(configured: readonly string[]): Ambiguity[] {
    const out: Ambiguity[] = [];
    for (const entry of this.entries.values()) {
      const servers = this.between(entry.kind, entry.name, configured);
      if (servers) out.push({ kind: entry.kind, name: entry.name, servers });
    }
    return out;
  }

  /** One line per ambiguity, for the Policy page and the API. */
  warnings(configured: readonly string[]): string[] {
    return this.list(configured).map(describe);
  }
}

/** `upstreams "a" and "b"` / `upstreams "a", "b" and "c"`. */
export function serverList(servers: readonly string[]): string {
  const quoted = servers.map((s) => `"${s}"`);
  return quoted.length <= 1
    ? `upstream ${quoted.join('')}`
    : `upstreams ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

function describe(entry: Ambiguity): string {
  const what = entry.kind === 'tools' ? 'tool' : 'prompt';
  return (
    `${what} "${entry.name}" is listed by ${serverList(entry.servers)} and naming.prefix is never: ` +
    `the name is ambiguous, so it is hidden and every call to it is refused until the proxy restarts ` +
    `(rename it on one upstream, or use naming.prefix: auto or always)`
  );
}
