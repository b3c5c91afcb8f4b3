// What the Pins page and GET /api/pins show: each server's pinned tools and held definitions with their diffs, read from the pin files.
import { dirname } from 'node:path';
import { definitionDiff, type PinStore } from '../pins/index.js';

export interface PinnedTool {
  tool: string;
  sha256: string;
  pinnedAt: string;
}

export interface HeldTool {
  tool: string;
  /** changed: it had a pin; new: it appeared after the server's first use; hidden: it carries hidden content (pins.hidden_content: quarantine). */
  why: 'changed' | 'new' | 'hidden';
  /** What the hidden-content detector found (why = hidden), safe to show. */
  findings: string[];
  sha256: string;
  /** The pin it would replace (changed only). */
  pinnedSha256: string | null;
  seenAt: string;
  rejectedAt: string | null;
  /** Unified diff, pinned → now listed. */
  diff: string;
}

export type ServerPins =
  | { server: string; state: 'pinned'; pinned: PinnedTool[]; held: HeldTool[] }
  | { server: string; state: 'unreadable'; error: string; resetCommand: string };

const byName = <T>(entries: Record<string, T>): [string, T][] =>
  Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A word for a shell, quoted only when it needs to be. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Every server with a pin file, by name. */
export function pinsOverview(store: PinStore): ServerPins[] {
  return store.servers().flatMap((server): ServerPins[] => {
    const state = store.read(server);
    // Reset between listing the folder and reading the file: nothing to show.
    if (state.kind === 'none') return [];
    if (state.kind === 'unreadable') {
      return [
        {
          server,
          state: 'unreadable',
          error: state.error,
          resetCommand: `portcullis pins reset ${shellWord(server)} --data-dir ${shellWord(dirname(store.dir))}`,
        },
      ];
    }
    const { file } = state;
    return [
      {
        server,
        state: 'pinned',
        pinned: byName(file.tools).map(([tool, pin]) => ({
          tool,
          sha256: pin.sha256,
          pinnedAt: pin.pinnedAt,
        })),
        held: byName(file.held).map(([tool, held]) => {
          const pin = file.tools[tool];
          return {
            tool,
            why: held.findings ? 'hidden' : pin ? 'changed' : 'new',
            findings: held.findings ?? [],
            sha256: held.sha256,
            pinnedSha256: pin?.sha256 ?? null,
            seenAt: held.seenAt,
            rejectedAt: held.rejectedAt ?? null,
            diff: definitionDiff(`${server}/${tool}`, pin?.definition, held.definition),
          };
        }),
      },
    ];
  });
}
