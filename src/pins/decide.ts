// A person's decision on a held definition (or a reset of a server's pins): recorded first, then written; one path for the CLI and the UI.
import type { AuditEvent } from '../audit/index.js';
import { acceptHeld, PinDecisionError, type PinFile, rejectHeld } from './judge.js';
import type { PinStore } from './store.js';

/** Where the decision is recorded; it must resolve before anything on disk changes. */
export interface PinAudit {
  append(event: AuditEvent): Promise<unknown>;
}

export interface HeldDecision {
  server: string;
  tool: string;
  action: 'accepted' | 'rejected';
  /** Who decided, as the audit log names them ("alice (browser)", "bob (command line)"). */
  by: string;
  /**
   * The hash of the definition the person was shown. When given, the decision is refused if the
   * held definition is another one by now: a server that changes again between the diff and the
   * click must not get its newer definition accepted unseen.
   */
  expectSha256?: string | undefined;
  now?: Date | undefined;
}

/** The pins of a server that can be decided on: well-formed, or the reason they cannot be. */
export function pinnedFile(store: PinStore, server: string): PinFile {
  const state = store.read(server);
  if (state.kind === 'pinned') return state.file;
  if (state.kind === 'none') throw new PinDecisionError(`server ${server} has no pins in ${store.dir}`);
  throw new PinDecisionError(
    `${state.error}; fix or remove it (portcullis pins reset ${server}) to pin anew`,
  );
}

/** Accepts (re-pins) or rejects (keeps held) the held definition of one tool. No record, no change. */
export async function decideHeld(
  store: PinStore,
  audit: PinAudit,
  decision: HeldDecision,
): Promise<{ file: PinFile; sha256: string }> {
  const { server, tool, action } = decision;
  const file = pinnedFile(store, server);
  const held = file.held[tool];
  if (!held) throw new PinDecisionError(`server ${server} has no held definition of ${tool}`);
  if (decision.expectSha256 !== undefined && decision.expectSha256 !== held.sha256) {
    throw new PinDecisionError(
      `the held definition of ${server}/${tool} changed since it was shown (now ${held.sha256.slice(0, 19)}…): look at its diff again`,
    );
  }
  const now = decision.now ?? new Date();
  const next = action === 'accepted' ? acceptHeld(file, tool, now) : rejectHeld(file, tool, now);
  await audit.append({ event: 'pin', action, server, tool, sha256: held.sha256, by: decision.by });
  store.write(next);
  return { file: next, sha256: held.sha256 };
}

/** Forgets a server's pins (its next listing pins anew), recorded first like a decision. */
export async function resetPins(store: PinStore, audit: PinAudit, server: string, by: string): Promise<void> {
  await audit.append({ event: 'pin', action: 'reset', server, tool: null, by });
  store.reset(server);
}
