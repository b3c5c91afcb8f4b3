// Trust on first use, as a pure decision: a listing against the pins a server has, and what changes on disk.
import { definitionHash, type PinnedDefinition, pinnedPart } from './definition.js';

export interface PinEntry {
  sha256: string;
  definition: PinnedDefinition;
  /** ISO time the definition was trusted (first use, or a person's accept). */
  pinnedAt: string;
}

/** One server's pins as stored: `<data-dir>/pins/<server>.json`. */
export interface PinFile {
  version: 1;
  server: string;
  tools: Record<string, PinEntry>;
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
      : { version: 1, server, tools: {} };
  let changed = false;
  for (const tool of listed) {
    const sha256 = definitionHash(tool);
    const pin = file.tools[tool.name];
    if (pin?.sha256 === sha256) {
      tools.set(tool.name, { status: 'trusted', sha256 });
    } else if (pin) {
      tools.set(tool.name, { status: 'changed', sha256, pinned: pin, definition: pinnedPart(tool) });
    } else if (state.kind === 'none' || options.newTools === 'allow') {
      file.tools[tool.name] = { sha256, definition: pinnedPart(tool), pinnedAt };
      tools.set(tool.name, { status: 'pinned', sha256 });
      changed = true;
    } else {
      tools.set(tool.name, { status: 'new', sha256, definition: pinnedPart(tool) });
    }
  }
  return { tools, write: changed ? file : null };
}

/** A person accepted a held definition: it becomes the pin. */
export function acceptDefinition(file: PinFile, definition: Listed, now: Date): PinFile {
  return {
    ...file,
    tools: {
      ...file.tools,
      [definition.name]: {
        sha256: definitionHash(definition),
        definition: pinnedPart(definition),
        pinnedAt: now.toISOString(),
      },
    },
  };
}
