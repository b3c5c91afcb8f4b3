// Trust on first use, as a pure decision: a listing against the pins a server has (and the policy's own), and what changes on disk.
import type { PolicyPin } from '../policy/index.js';
import { definitionHash, type PinnedDefinition, pinnedPart } from './definition.js';

export interface PinEntry {
  sha256: string;
  definition: PinnedDefinition;
  /** ISO time the definition was trusted (first use, or a person's accept). */
  pinnedAt: string;
  /** Set when a person accepted it (not trusted on first use): a definition with hidden content is then not held again. */
  acceptedAt?: string | undefined;
}

/** A definition the server listed that its pin does not cover, kept for a person to compare and decide. */
export interface HeldEntry {
  sha256: string;
  definition: PinnedDefinition;
  /** ISO time it was first seen. */
  seenAt: string;
  /** Set when a person rejected it: the tool stays held, and this definition is not offered again. */
  rejectedAt?: string | undefined;
  /** Held for hidden content (`pins.hidden_content: quarantine`): what was found, safe to show. */
  findings?: string[] | undefined;
}

/** One server's pins as stored: `<data-dir>/pins/<server>.json`. */
export interface PinFile {
  version: 1;
  server: string;
  tools: Record<string, PinEntry>;
  /** Changed or late definitions waiting for a person, by tool name (at most one per tool: the latest). */
  held: Record<string, HeldEntry>;
}

/** What reading a server's pins gave: none yet (first use), its pins, or a file that cannot be trusted. */
export type PinState =
  | { kind: 'none' }
  | { kind: 'pinned'; file: PinFile }
  | { kind: 'unreadable'; error: string };

export type ToolTrust =
  /** The definition is the pinned one. */
  | { status: 'trusted'; sha256: string }
  /** First use of this server, or a new tool the policy allows: pinned now. */
  | { status: 'pinned'; sha256: string }
  /** The definition differs from its pin: hidden, its calls denied, until a person accepts it. */
  | { status: 'changed'; sha256: string; pinned: PinEntry; definition: PinnedDefinition }
  /** A tool that appeared after the server's first use, held like a change (`pins.new_tools: quarantine`). */
  | { status: 'new'; sha256: string; definition: PinnedDefinition }
  /** The pin file cannot be read or trusted: everything from the server is held (fail closed). */
  | { status: 'unverifiable'; sha256: string; error: string }
  /** The definition is the one the policy pins: trusted whatever the pin file says. */
  | { status: 'policy'; sha256: string; source: string }
  /** The policy pins another definition: held until the policy changes (no person's accept can fix it). */
  | { status: 'mismatch'; sha256: string; expected: readonly PolicyPin[] }
  /** The definition carries hidden content and no person accepted it (`pins.hidden_content: quarantine`). */
  | { status: 'flagged'; sha256: string; findings: readonly string[]; definition: PinnedDefinition };

export interface Judgement {
  tools: Map<string, ToolTrust>;
  /** The pin file to write, when something was pinned now; null when nothing on disk changes. */
  write: PinFile | null;
}

type Listed = PinnedDefinition & Record<string, unknown>;

export interface JudgeOptions {
  newTools: 'quarantine' | 'allow';
  now: Date;
  /** False: no trust on first use (nothing pinned or held from the pin file); the policy's pins still hold. */
  tofu?: boolean | undefined;
  /** The policy's pins of this server's tools, by lower-cased tool name. */
  policyPins?: ReadonlyMap<string, readonly PolicyPin[]> | undefined;
  /** Hidden content found in a listed definition, by tool name; only held when `hiddenContent` is quarantine. */
  flagged?: ReadonlyMap<string, readonly string[]> | undefined;
  hiddenContent?: 'warn' | 'quarantine' | undefined;
}

/**
 * Judges one listing of `server`'s tools. Never re-trusts on its own: a changed definition, and a
 * file that cannot be read, hold the tools until a person decides. Tools the server no longer lists
 * keep their pins (a tool that comes back must match). A pin in the policy outranks the pin file:
 * the definition it names is trusted (and becomes the file's pin), any other is held.
 */
export function judgeListing(
  server: string,
  state: PinState,
  listed: readonly Listed[],
  options: JudgeOptions,
): Judgement {
  const tools = new Map<string, ToolTrust>();
  const tofu = options.tofu ?? true;
  const pinnedAt = options.now.toISOString();
  const file: PinFile =
    state.kind === 'pinned'
      ? { ...state.file, tools: { ...state.file.tools } }
      : { version: 1, server, tools: {}, held: {} };
  file.held = { ...file.held };
  let changed = false;
  for (const tool of listed) {
    const sha256 = definitionHash(tool);
    const fixed = options.policyPins?.get(tool.name.toLowerCase());
    if (fixed !== undefined && fixed.length > 0) {
      const expected = fixed.filter((pin) => pin.sha256 !== sha256);
      if (expected.length > 0) {
        tools.set(tool.name, { status: 'mismatch', sha256, expected });
        continue;
      }
      tools.set(tool.name, { status: 'policy', sha256, source: (fixed[0] as PolicyPin).source });
      // The reviewed definition becomes the file's pin, so removing the policy pin later keeps it.
      if (tofu && state.kind !== 'unreadable' && file.tools[tool.name]?.sha256 !== sha256) {
        file.tools[tool.name] = { sha256, definition: pinnedPart(tool), pinnedAt };
        delete file.held[tool.name];
        changed = true;
      }
      continue;
    }
    if (!tofu) {
      tools.set(tool.name, { status: 'trusted', sha256 });
      continue;
    }
    if (state.kind === 'unreadable') {
      tools.set(tool.name, { status: 'unverifiable', sha256, error: state.error });
      continue;
    }
    const pin = file.tools[tool.name];
    const findings = options.hiddenContent === 'quarantine' ? options.flagged?.get(tool.name) : undefined;
    if (findings !== undefined && findings.length > 0 && !(pin?.sha256 === sha256 && pin.acceptedAt)) {
      // Trust on first use is no trust for hidden content: only a person's accept lets it run.
      tools.set(tool.name, { status: 'flagged', sha256, findings, definition: pinnedPart(tool) });
      changed = hold(file, tool, sha256, pinnedAt, [...findings]) || changed;
      continue;
    }
    if (pin?.sha256 === sha256) {
      tools.set(tool.name, { status: 'trusted', sha256 });
      continue;
    }
    if (!pin && (state.kind === 'none' || options.newTools === 'allow')) {
      file.tools[tool.name] = { sha256, definition: pinnedPart(tool), pinnedAt };
      delete file.held[tool.name];
      tools.set(tool.name, { status: 'pinned', sha256 });
      changed = true;
      continue;
    }
    tools.set(
      tool.name,
      pin
        ? { status: 'changed', sha256, pinned: pin, definition: pinnedPart(tool) }
        : { status: 'new', sha256, definition: pinnedPart(tool) },
    );
    changed = hold(file, tool, sha256, pinnedAt) || changed;
  }
  // An unreadable file is never overwritten here: only a person's reset replaces it.
  return { tools, write: changed && tofu && state.kind !== 'unreadable' ? file : null };
}

/** Keeps a held definition for the person who decides; a rejected one stays rejected while the server sends it. */
function hold(file: PinFile, tool: Listed, sha256: string, seenAt: string, findings?: string[]): boolean {
  if (file.held[tool.name]?.sha256 === sha256) return false;
  file.held[tool.name] = {
    sha256,
    definition: pinnedPart(tool),
    seenAt,
    ...(findings === undefined ? {} : { findings }),
  };
  return true;
}

export class PinDecisionError extends Error {
  readonly code = 'E_PIN_DECISION';
}

/** A person accepted the held definition of `tool`: it becomes the pin. */
export function acceptHeld(file: PinFile, tool: string, now: Date): PinFile {
  const held = file.held[tool];
  if (!held) throw new PinDecisionError(`server ${file.server} has no held definition of ${tool}`);
  const { [tool]: _accepted, ...rest } = file.held;
  return {
    ...file,
    tools: {
      ...file.tools,
      [tool]: {
        sha256: held.sha256,
        definition: held.definition,
        pinnedAt: now.toISOString(),
        acceptedAt: now.toISOString(),
      },
    },
    held: rest,
  };
}

/** A person rejected the held definition of `tool`: the old pin stays, and the tool stays held. */
export function rejectHeld(file: PinFile, tool: string, now: Date): PinFile {
  const held = file.held[tool];
  if (!held) throw new PinDecisionError(`server ${file.server} has no held definition of ${tool}`);
  return { ...file, held: { ...file.held, [tool]: { ...held, rejectedAt: now.toISOString() } } };
}
