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

  constructor(deps: PinGuardDeps) {
    this.deps = deps;
  }

  note(server: string, tools: readonly unknown[]): void {
    const settings = this.deps.settings();
    if (!settings.enabled) {
      this.holds.delete(server);
      return;
    }
    const listed = tools.filter(
      (t): t is { name: string } & Record<string, unknown> =>
        typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string',
    );
    const judgement: Judgement = judgeListing(server, this.deps.store.read(server), listed, {
      newTools: settings.newTools,
      now: (this.deps.now ?? (() => new Date()))(),
    });
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

  held(server: string, tool: string): string | undefined {
    if (!this.deps.settings().enabled) return undefined;
    return this.holds.get(server)?.get(tool);
  }
}
