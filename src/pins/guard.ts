// The proxy's ToolPins, backed by pin files: judges each listing, remembers which tools are held, audits each hold once.
import type { AuditEvent } from '../audit/index.js';
import { type HiddenFinding, inspectTool } from '../inspect/index.js';
import type { PinSettings } from '../policy/index.js';
import type { ToolPins } from '../proxy/index.js';
import { type Judgement, judgeListing, type ToolTrust } from './judge.js';
import type { PinStore } from './store.js';

export interface PinGuardDeps {
  store: PinStore;
  /** The policy's `pins:` settings now (a reload applies to the next listing). */
  settings(): PinSettings;
  /** Records that a definition is held; failures are the caller's to report. */
  record(event: AuditEvent): void;
  log(line: string): void;
  now?: (() => Date) | undefined;
  /** Tools of `server` that were held and run now (a person accepted them): clients should list tools again. */
  released?: ((server: string, tools: readonly string[]) => void) | undefined;
}

function heldReason(server: string, tool: string, trust: ToolTrust): string | undefined {
  const decide = `it is held until a person accepts it (portcullis pins diff ${server} ${tool})`;
  switch (trust.status) {
    case 'changed':
      return (
        `the definition of tool "${tool}" on ${server} changed since it was pinned ` +
        `(pinned ${trust.pinned.sha256.slice(0, 19)}…, now ${trust.sha256.slice(0, 19)}…): ${decide}`
      );
    case 'new':
      return `tool "${tool}" appeared on ${server} after its tools were pinned, and pins.new_tools is quarantine: ${decide}`;
    case 'unverifiable':
      return `the pins of ${server} cannot be trusted (${trust.error}), so every tool of ${server} is held`;
    case 'mismatch':
      return (
        `the definition of tool "${tool}" on ${server} is not the one the policy pins ` +
        `(${trust.expected.map((p) => `${p.source}: ${p.sha256.slice(0, 19)}…`).join('; ')}; listed ${trust.sha256}): ` +
        'it is held until the policy pins this definition'
      );
    case 'flagged':
      return `the definition of tool "${tool}" on ${server} carries hidden content (${trust.findings.join('; ')}), and pins.hidden_content is quarantine: ${decide}`;
    default:
      return undefined;
  }
}

/** One finding of hidden content, as reasons, warnings and the audit show it (never more than the detector's safe detail). */
function describe(finding: HiddenFinding): string {
  return `${finding.kind} at ${finding.at || '/'}: ${finding.detail}`;
}

type Listed = { name: string } & Record<string, unknown>;

/** What was found in one listed definition, for the Policy page. */
interface Flag {
  sha256: string;
  findings: readonly string[];
}

export class PinGuard implements ToolPins {
  private readonly deps: PinGuardDeps;
  /** Why each held tool is held, by server; a tool not in it runs as pinned. */
  private readonly holds = new Map<string, Map<string, string>>();
  /** Definitions already recorded (held or flagged) in this process, so a relisting does not repeat the record. */
  private readonly recorded = new Set<string>();
  /** The latest definition of each tool each server listed, and the settings it was judged under. */
  private readonly listings = new Map<string, { settings: PinSettings; tools: Map<string, Listed> }>();
  /** Hidden content in the latest listed definitions, by server and tool. */
  private readonly flags = new Map<string, Map<string, Flag>>();

  constructor(deps: PinGuardDeps) {
    this.deps = deps;
  }

  /** The pin files this guard judges against (the UI decides on the same ones). */
  get store(): PinStore {
    return this.deps.store;
  }

  note(server: string, tools: readonly unknown[]): void {
    const listed = tools.filter(
      (t): t is Listed =>
        typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string',
    );
    let listing = this.listings.get(server);
    if (!listing) {
      listing = { settings: this.deps.settings(), tools: new Map() };
      this.listings.set(server, listing);
    }
    for (const tool of listed) listing.tools.set(tool.name, tool);
    this.judge(server, listed);
  }

  /**
   * Why the tool is held, or undefined. A reload may pin, unpin or quarantine differently: the last
   * listing is judged again under it. A held tool's pin file is read again (only here, never for a
   * tool that runs): a person may have accepted it since, in the UI or with the CLI of another
   * process, and the very next call should run without the client listing tools again.
   */
  held(server: string, tool: string): string | undefined {
    const listing = this.listings.get(server);
    if (listing && listing.settings !== this.deps.settings()) this.judge(server, [...listing.tools.values()]);
    if (this.holds.get(server)?.get(tool) === undefined) return undefined;
    this.recheck(server, [tool]);
    return this.holds.get(server)?.get(tool);
  }

  /** Judges the held tools of `server` again now (after a decision in the UI), and says which run now. */
  refresh(server: string): string[] {
    return this.recheck(server, [...(this.holds.get(server)?.keys() ?? [])]);
  }

  /** Hidden content and policy-pin mismatches in what the upstreams list now, for the Policy page. */
  warnings(): string[] {
    const out: string[] = [];
    for (const [server, flags] of this.flags) {
      for (const [tool, flag] of flags) {
        const held = this.holds.get(server)?.has(tool) ? 'held' : 'not held (pins.hidden_content: warn)';
        out.push(`tool ${tool} on ${server} carries hidden content, ${held}: ${flag.findings.join('; ')}`);
      }
    }
    for (const [server, holds] of this.holds) {
      for (const [tool, reason] of holds) {
        if (!this.flags.get(server)?.has(tool)) out.push(`tool ${tool} on ${server} is held: ${reason}`);
      }
    }
    return out;
  }

  /** One listing against the pin file and the policy: nothing is written or recorded here. */
  private judgement(
    server: string,
    listed: readonly Listed[],
  ): { judgement: Judgement; flagged: Map<string, string[]> } {
    const settings = this.deps.settings();
    const flagged = new Map<string, string[]>();
    for (const tool of listed) {
      const findings = inspectTool(tool).map(describe);
      if (findings.length > 0) flagged.set(tool.name, findings);
    }
    const judgement = judgeListing(
      server,
      settings.enabled ? this.deps.store.read(server) : { kind: 'none' },
      listed,
      {
        newTools: settings.newTools,
        now: (this.deps.now ?? (() => new Date()))(),
        tofu: settings.enabled,
        policyPins: settings.policyPins(server),
        flagged,
        hiddenContent: settings.hiddenContent,
      },
    );
    return { judgement, flagged };
  }

  private judge(server: string, listed: readonly Listed[]): void {
    const listing = this.listings.get(server);
    if (listing) listing.settings = this.deps.settings();
    const { judgement, flagged } = this.judgement(server, listed);
    if (judgement.write) this.deps.store.write(judgement.write);
    const holds = mapOf(this.holds, server);
    const flags = mapOf(this.flags, server);
    for (const [tool, trust] of judgement.tools) {
      const findings = flagged.get(tool);
      if (findings) {
        flags.set(tool, { sha256: trust.sha256, findings });
        this.recordFlag(server, tool, trust, findings);
      } else flags.delete(tool);
      const reason = heldReason(server, tool, trust);
      if (reason === undefined) {
        holds.delete(tool);
        continue;
      }
      holds.set(tool, reason);
      if (this.once('held', server, tool, trust.sha256)) {
        this.deps.log(`pins: ${reason}`);
        this.deps.record({
          event: 'pin',
          action: 'held',
          server,
          tool,
          status: trust.status,
          sha256: trust.sha256,
          reason,
        });
      }
    }
  }

  /** Hidden content is audited once per definition, held or not, so a warned-about tool leaves a trace too. */
  private recordFlag(server: string, tool: string, trust: ToolTrust, findings: readonly string[]): void {
    if (!this.once('flagged', server, tool, trust.sha256)) return;
    this.deps.log(`pins: tool ${tool} on ${server} carries hidden content: ${findings.join('; ')}`);
    this.deps.record({
      event: 'pin',
      action: 'flagged',
      server,
      tool,
      sha256: trust.sha256,
      findings: [...findings],
      held: trust.status === 'flagged',
    });
  }

  /**
   * Held tools judged again on the definitions last listed. Only a definition the pin file (or the
   * policy) now trusts is released; nothing is written here (a reset or allowed new tool is pinned
   * by the next listing, not from a remembered one), and a file gone corrupt holds them with its error.
   */
  private recheck(server: string, tools: readonly string[]): string[] {
    const holds = this.holds.get(server);
    const listed = this.listings.get(server)?.tools;
    if (!holds || !listed) return [];
    const definitions = tools.flatMap((t) => listed.get(t) ?? []);
    if (definitions.length === 0) return [];
    let judgement: Judgement;
    try {
      judgement = this.judgement(server, definitions).judgement;
    } catch (error) {
      this.deps.log(`pins: judging the held tools of ${server} again failed: ${(error as Error).message}`);
      return [];
    }
    const released: string[] = [];
    for (const [tool, trust] of judgement.tools) {
      if (trust.status === 'trusted' || trust.status === 'policy') {
        holds.delete(tool);
        released.push(tool);
        continue;
      }
      const reason = heldReason(server, tool, trust);
      if (reason !== undefined) holds.set(tool, reason);
    }
    if (released.length > 0) {
      this.deps.log(`pins: ${released.join(', ')} of ${server} accepted, runs again`);
      this.deps.released?.(server, released);
    }
    return released;
  }

  private once(what: string, server: string, tool: string, sha256: string): boolean {
    const key = `${what}\u0000${server}\u0000${tool}\u0000${sha256}`;
    if (this.recorded.has(key)) return false;
    this.recorded.add(key);
    return true;
  }
}

function mapOf<V>(maps: Map<string, Map<string, V>>, server: string): Map<string, V> {
  let map = maps.get(server);
  if (!map) {
    map = new Map();
    maps.set(server, map);
  }
  return map;
}
