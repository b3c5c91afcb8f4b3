// Tool and prompt names of different upstreams that read alike (case, look-alike letters): flagged, never rerouted.

import { foldKey } from '../secrets/index.js';
import type { NamedKind } from './ambiguity.js';

/**
 * A name as a reader might take it: NFKC, invisible characters gone, Unicode confusables folded
 * (Cyrillic `а` is `a`), case ignored, and the ASCII look-alikes UTS #39 keeps apart but fonts do
 * not (`l`, `I` and `1`; `O` and `0`) made one. Two names with the same skeleton can be mistaken
 * for each other by a model choosing a tool or a person approving a call.
 */
export function nameSkeleton(name: string): string {
  return foldKey(name).toLowerCase().replace(/[l1|]/g, 'i').replace(/0/g, 'o');
}

/** `send_emaіl` shows its Cyrillic `і` as `\u{456}`: a warning must show the difference it is about. */
export function visibleName(name: string): string {
  let out = '';
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    out += code >= 0x20 && code < 0x7f ? char : `\\u{${code.toString(16)}}`;
  }
  return out;
}

interface Group {
  kind: NamedKind;
  /** Upstream -> the spellings it was seen listing with this skeleton. */
  spellings: Map<string, Set<string>>;
}

/**
 * Shared by every session of one proxy process, like Ambiguities, and remembered for its life: a
 * look-alike seen once stays worth a look. Whatever the naming mode: a prefix (`a__send_email`,
 * `b__send_emaіl`) does not stop a model or a person from taking one for the other. Identical names
 * without prefixes are Ambiguities' (hidden and refused), so they are not reported twice.
 */
export class Confusables {
  private readonly groups = new Map<string, Group>();
  private readonly reported = new Set<string>();
  private readonly log: (message: string) => void;

  constructor(log: (message: string) => void) {
    this.log = log;
  }

  /** Records what each upstream lists now; logs each newly seen look-alike once. */
  note(kind: NamedKind, listings: ReadonlyMap<string, Iterable<string>>, prefixed: boolean): void {
    for (const [server, names] of listings) {
      for (const name of names) {
        const key = `${kind}\0${nameSkeleton(name)}`;
        let group = this.groups.get(key);
        if (!group) {
          group = { kind, spellings: new Map() };
          this.groups.set(key, group);
        }
        const spellings = group.spellings.get(server) ?? new Set<string>();
        spellings.add(name);
        group.spellings.set(server, spellings);
      }
    }
    for (const line of this.warnings([...listings.keys()], prefixed)) {
      if (this.reported.has(line)) continue;
      this.reported.add(line);
      this.log(`warning: ${line}`);
    }
  }

  /** One line per look-alike among these upstreams, for the Policy page and the log. */
  warnings(configured: readonly string[], prefixed: boolean): string[] {
    const out: string[] = [];
    for (const group of this.groups.values()) {
      const entries = [...group.spellings].filter(([server]) => configured.includes(server));
      if (entries.length < 2) continue;
      const names = new Set(entries.flatMap(([, spellings]) => [...spellings]));
      if (!prefixed && names.size === 1) continue;
      out.push(describe(group.kind, entries));
    }
    return out;
  }
}

function describe(kind: NamedKind, entries: readonly [string, Set<string>][]): string {
  const what = kind === 'tools' ? 'tool' : 'prompt';
  const listed = entries
    .map(
      ([server, spellings]) =>
        `${[...spellings].map((n) => `"${visibleName(n)}"`).join(', ')} (upstream "${server}")`,
    )
    .join(', ');
  const same = new Set(entries.flatMap(([, s]) => [...s])).size === 1;
  return (
    `${what} names ${listed} ${same ? 'are the same' : 'look alike (case or look-alike characters)'}: ` +
    `a model or a reviewer may take one for the other; check that each upstream is the one you meant`
  );
}
