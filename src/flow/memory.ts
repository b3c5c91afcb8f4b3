// Per agent, hashes of what sensitive results held, and the check that a later call carries one to another tool or server.
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { argumentTexts, sensitiveForms } from './forms.js';

/** Where a remembered value came from: the call whose result held it. */
export interface FlowSource {
  server: string;
  tool: string;
  /** The rule that let the call run (it says `sensitive: true`). */
  rule: string;
}

/** What the check found: the source and how long ago, never the value. */
export interface FlowFinding extends FlowSource {
  ageMs: number;
  /** False for a match; true when the arguments could not be checked (too large or too deep) and are held anyway. */
  unchecked: boolean;
  /** Set when the check itself threw: nothing is known of the source (server, tool and rule are empty). */
  failed?: true | undefined;
}

/** What a check that threw stands for: held unchecked (closed), with no source to name. */
export function failedFlowCheck(): FlowFinding {
  return { server: '', tool: '', rule: '', ageMs: 0, unchecked: true, failed: true };
}

export interface FlowLimits {
  windowMs: number;
  minLength: number;
}

export interface FlowMemoryOptions {
  now?: (() => number) | undefined;
  /** Agents remembered at once; the least recently active one is forgotten first. */
  maxAgents?: number | undefined;
  /** Hashes remembered per agent; the least recently seen one is forgotten first. */
  maxPerAgent?: number | undefined;
  /** Characters of argument text one check reads; over it the call is held unchecked. */
  checkBudget?: number | undefined;
  /** Candidate windows one check confirms by HMAC; over it the call is held unchecked. */
  confirmBudget?: number | undefined;
}

/** 128 agents x 4096 hashes (a ~100-byte entry each) bounds the memory at about 50 MB. */
export const FLOW_LIMITS = {
  maxAgents: 128,
  maxPerAgent: 4096,
  checkBudget: 16_000_000,
  confirmBudget: 100_000,
} as const;

interface Seen extends FlowSource {
  at: number;
}

interface Entry {
  length: number;
  /** How many leading characters `anchor` covers (the policy's min_length when it was remembered). */
  anchorLength: number;
  /** The keyed rolling fingerprint of the form's first anchorLength characters. */
  anchor: number;
  /** By `server\0tool`: the same value from several tools keeps each (the same-tool exemption is per source). */
  sources: Map<string, Seen>;
}

interface AgentMemory {
  entries: LRUCache<string, Entry>;
  newest: number;
  /** Anchor length to anchor fingerprint to the form lengths that start so; rebuilt after entries were added (null: stale). */
  index: Map<number, Map<number, Set<number>>> | null;
}

/**
 * Only keyed hashes are kept (HMAC-SHA256 with a key made at start and never written anywhere), so
 * neither a heap dump nor a log line of this memory gives the values or lets them be guessed offline.
 * A 32-bit rolling fingerprint (Rabin-Karp, with a random base: keyed too) of each form's first
 * min_length characters finds where in an argument a remembered value may start, in one pass
 * whatever the lengths remembered; each candidate is confirmed by the HMAC of the window.
 */
export class FlowMemory {
  private readonly agents: LRUCache<string, AgentMemory>;
  private readonly key = randomBytes(32);
  /** Odd, so multiplying by it is invertible mod 2^32 and no character drops out of the fingerprint. */
  private readonly base = randomBytes(4).readUInt32LE(0) | 1;
  private readonly now: () => number;
  private readonly maxPerAgent: number;
  private readonly checkBudget: number;
  private readonly confirmBudget: number;

  constructor(options: FlowMemoryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxPerAgent = options.maxPerAgent ?? FLOW_LIMITS.maxPerAgent;
    this.checkBudget = options.checkBudget ?? FLOW_LIMITS.checkBudget;
    this.confirmBudget = options.confirmBudget ?? FLOW_LIMITS.confirmBudget;
    this.agents = new LRUCache({ max: options.maxAgents ?? FLOW_LIMITS.maxAgents });
  }

  /** The fingerprint of text[start, start + length), the one the rolling scan updates. */
  private fingerprint(text: string, start: number, length: number): number {
    let h = 0;
    for (let i = start; i < start + length; i++) h = (Math.imul(h, this.base) + text.charCodeAt(i)) | 0;
    return h;
  }

  private hash(form: string): string {
    return createHmac('sha256', this.key).update(form).digest('base64');
  }

  /** Remembers what a sensitive result held for this agent; returns how many forms were added or refreshed. */
  remember(agent: string, source: FlowSource, result: unknown, limits: FlowLimits): number {
    const forms = sensitiveForms(result, limits.minLength);
    if (forms.length === 0) return 0;
    const at = this.now();
    let memory = this.agents.get(agent);
    if (memory === undefined) {
      memory = { entries: new LRUCache({ max: this.maxPerAgent }), newest: at, index: null };
      this.agents.set(agent, memory);
    }
    const seen: Seen = { ...source, at };
    const where = `${source.server}\0${source.tool}`;
    for (const form of forms) {
      const hash = this.hash(form);
      const entry = memory.entries.get(hash);
      if (entry !== undefined) {
        entry.sources.delete(where);
        entry.sources.set(where, seen);
        continue;
      }
      memory.entries.set(hash, {
        length: form.length,
        anchorLength: limits.minLength,
        anchor: this.fingerprint(form, 0, limits.minLength),
        sources: new Map([[where, seen]]),
      });
    }
    memory.newest = at;
    memory.index = null;
    return forms.length;
  }

  /** How many hashes this agent has remembered (expired ones included until they are next looked at). */
  size(agent: string): number {
    return this.agents.peek(agent)?.entries.size ?? 0;
  }

  /**
   * The first remembered value (within the window) that the arguments carry, from a source other
   * than this very tool on this very server; undefined when none. An agent with nothing remembered
   * costs one map lookup.
   */
  check(
    agent: string,
    call: { server: string; tool: string },
    args: unknown,
    limits: FlowLimits,
  ): FlowFinding | undefined {
    const memory = this.agents.get(agent);
    if (memory === undefined) return undefined;
    const now = this.now();
    if (now - memory.newest > limits.windowMs) {
      this.agents.delete(agent);
      return undefined;
    }
    const here = `${call.server}\0${call.tool}`;
    const live = (entry: Entry): Seen | undefined => {
      let newest: Seen | undefined;
      for (const [where, seen] of entry.sources) {
        if (where === here || now - seen.at > limits.windowMs) continue;
        if (newest === undefined || seen.at > newest.at) newest = seen;
      }
      return newest;
    };
    const found = (seen: Seen, unchecked: boolean): FlowFinding => ({
      server: seen.server,
      tool: seen.tool,
      rule: seen.rule,
      ageMs: now - seen.at,
      unchecked,
    });
    const { texts, complete } = argumentTexts(args);
    const index = this.indexOf(memory);
    let chars = 0;
    for (const text of texts) chars += text.length * index.size;
    const newestLive = (): FlowFinding | undefined => {
      // Too deep or too large to look through: held like a match, naming the newest live source.
      let newest: Seen | undefined;
      for (const entry of memory.entries.values()) {
        const seen = live(entry);
        if (seen !== undefined && (newest === undefined || seen.at > newest.at)) newest = seen;
      }
      return newest === undefined ? undefined : found(newest, true);
    };
    if (!complete || chars > this.checkBudget) return newestLive();
    let confirms = 0;
    for (const [anchorLength, anchors] of index) {
      let high = 1;
      for (let i = 1; i < anchorLength; i++) high = Math.imul(high, this.base);
      for (const text of texts) {
        if (text.length < anchorLength) continue;
        let h = this.fingerprint(text, 0, anchorLength);
        for (let i = 0; ; i++) {
          const lengths = anchors.get(h);
          if (lengths !== undefined) {
            for (const length of lengths) {
              if (i + length > text.length) continue;
              if (++confirms > this.confirmBudget) return newestLive();
              const entry = memory.entries.get(this.hash(text.slice(i, i + length)));
              const seen = entry === undefined ? undefined : live(entry);
              if (seen !== undefined) return found(seen, false);
            }
          }
          if (i + anchorLength >= text.length) break;
          const out = Math.imul(text.charCodeAt(i), high);
          h = (Math.imul(h - out, this.base) + text.charCodeAt(i + anchorLength)) | 0;
        }
      }
    }
    return undefined;
  }

  private indexOf(memory: AgentMemory): Map<number, Map<number, Set<number>>> {
    if (memory.index !== null) return memory.index;
    const index = new Map<number, Map<number, Set<number>>>();
    for (const entry of memory.entries.values()) {
      let anchors = index.get(entry.anchorLength);
      if (anchors === undefined) {
        anchors = new Map();
        index.set(entry.anchorLength, anchors);
      }
      let lengths = anchors.get(entry.anchor);
      if (lengths === undefined) {
        lengths = new Set();
        anchors.set(entry.anchor, lengths);
      }
      lengths.add(entry.length);
    }
    memory.index = index;
    return index;
  }
}

/** "3 min", "40 s", "2 h": how long ago, for a reason a person reads. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/** The reason a held call gives: the source and its age, never the value. */
export function flowReason(finding: FlowFinding): string {
  const from = `${finding.server}/${finding.tool} ${ageText(finding.ageMs)} ago (rule ${finding.rule})`;
  if (finding.failed) return 'the check for values from sensitive results failed, so the call is held';
  return finding.unchecked
    ? `the arguments are too large or too deeply nested to check for values returned by ${from}`
    : `carries a value returned by ${from}`;
}
