// The proxy's ToolPins, backed by pin files: judges each listing, remembers which tools are held, audits each hold once.
import type { AuditEvent } from '../audit/index.js';
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

type Listed = { name: string } & Record<string, unknown>;

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
    default:
      return undefined;
  }
}

export class PinGuard implements ToolPins {
  private readonly deps: PinGuardDeps;
  /** Why each held tool is held, by server; a tool not in it runs as pinned. */
  private readonly holds = new Map<string, Map<string, string>>();
  /** Definitions already recorded as held in this process, so a relisting does not repeat the record. */
  private readonly recorded = new Set<string>();
  /** The definitions each server last listed, by tool: what a held tool is judged on again when a pin may have changed. */
  private readonly listed = new Map<string, Map<string, Listed>>();

  constructor(deps: PinGuardDeps) {
    this.deps = deps;
  }

  /** The pin files this guard judges against (the UI decides on the same ones). */
  get store(): PinStore {
    return this.deps.store;
  }

  note(server: string, tools: readonly unknown[]): void {
    const settings = this.deps.settings();
    if (!settings.enabled) {
      this.holds.delete(server);
      return;
    }
    const listed = tools.filter(
      (t): t is Listed =>
        typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string',
    );
    this.listed.set(server, new Map(listed.map((t) => [t.name, t])));
    const judgement = this.judge(server, listed);
    if (judgement.write) this.deps.store.write(judgement.write);
    let holds = this.holds.get(server);
    if (!holds) {
      holds = new Map();
      this.holds.set(server, holds);
    }
    for (const [tool, trust] of judgement.tools) {
      const reason = heldReason(server, tool, trust);
      if (reason === undefined) {
        holds.delete(tool);
        continue;
      }
      holds.set(tool, reason);
      const key = `${server}\u0000${tool}\u0000${trust.sha256}`;
      if (this.recorded.has(key)) continue;
      this.recorded.add(key);
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

  /**
   * Why the tool is held, or undefined. A held tool's pin file is read again (only here, never for a
   * tool that runs): a person may have accepted it since, in the UI or with the CLI of another
   * process, and the very next call should run without the client listing tools again.
   */
  held(server: string, tool: string): string | undefined {
    if (!this.deps.settings().enabled) return undefined;
    if (this.holds.get(server)?.get(tool) === undefined) return undefined;
    this.recheck(server, [tool]);
    return this.holds.get(server)?.get(tool);
  }

  /** Judges the held tools of `server` again now (after a decision in the UI), and says which run now. */
  refresh(server: string): string[] {
    if (!this.deps.settings().enabled) return [];
    return this.recheck(server, [...(this.holds.get(server)?.keys() ?? [])]);
  }

  private judge(server: string, listed: readonly Listed[]): Judgement {
    return judgeListing(server, this.deps.store.read(server), listed, {
      newTools: this.deps.settings().newTools,
      now: (this.deps.now ?? (() => new Date()))(),
    });
  }

  /**
   * Held tools judged again on the definitions last listed. Only a definition the pin file now
   * trusts is released; nothing is written here (a reset or allowed new tool is pinned by the next
   * listing, not from a remembered one), and a file gone corrupt holds them with its error.
   */
  private recheck(server: string, tools: readonly string[]): string[] {
    const holds = this.holds.get(server);
    const listed = this.listed.get(server);
    if (!holds || !listed) return [];
    const definitions = tools.flatMap((t) => listed.get(t) ?? []);
    if (definitions.length === 0) return [];
    let judgement: Judgement;
    try {
      judgement = this.judge(server, definitions);
    } catch (error) {
      this.deps.log(`pins: judging the held tools of ${server} again failed: ${(error as Error).message}`);
      return [];
    }
    const released: string[] = [];
    for (const [tool, trust] of judgement.tools) {
      if (trust.status === 'trusted') {
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
}
