// Trust on first use, as a pure decision: a listing against the pins a server has, and what changes on disk.
import { definitionHash, type PinnedDefinition, pinnedPart } from './definition.js';

export interface PinEntry {
  sha256: string;
  definition: PinnedDefinition;
  /** ISO time the definition was trusted (first use, or a person's accept). */
  pinnedAt: string;
}

/** A definition the server listed that its pin does not cover, kept for a person to compare and decide. */
export interface HeldEntry {
  sha256: string;
  definition: PinnedDefinition;
  /** ISO time it was first seen. */
  seenAt: string;
  /** Set when a person rejected it: the tool stays held, and this definition is not offered again. */
  rejectedAt?: string | undefined;
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
  | { status: 'unverifiable'; sha256: string; error: string };

export interface Judgement {
  tools: Map<string, ToolTrust>;
  /** The pin file to write, when something was pinned now; null when nothing on disk changes. */
  write: PinFile | null;
}

type Listed = PinnedDefinition & Record<string, unknown>;

/**
 * Judges one listing of `server`'s tools. Never re-trusts on its own: a changed definition, and a
 * file that cannot be read, hold the tools until a person decides. Tools the server no longer lists
 * keep their pins (a tool that comes back must match).
 */
export function judgeListing(
  server: string,
  state: PinState,
  listed: readonly Listed[],
  options: { newTools: 'quarantine' | 'allow'; now: Date },
): Judgement {
  const tools = new Map<string, ToolTrust>();
  if (state.kind === 'unreadable') {
    for (const tool of listed) {
      tools.set(tool.name, { status: 'unverifiable', sha256: definitionHash(tool), error: state.error });
    }
    return { tools, write: null };
  }
  const pinnedAt = options.now.toISOString();
  const file: PinFile =
    state.kind === 'pinned'
      ? { ...state.file, tools: { ...state.file.tools } }
      : { version: 1, server, tools: {}, held: {} };
  file.held = { ...file.held };
  let changed = false;
  for (const tool of listed) {
    const sha256 = definitionHash(tool);
    const pin = file.tools[tool.name];
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
    // Kept for the person who decides; a rejected definition stays rejected while the server sends it.
    if (file.held[tool.name]?.sha256 !== sha256) {
      file.held[tool.name] = { sha256, definition: pinnedPart(tool), seenAt: pinnedAt };
      changed = true;
    }
  }
  return { tools, write: changed ? file : null };
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
      [tool]: { sha256: held.sha256, definition: held.definition, pinnedAt: now.toISOString() },
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
