// `portcullis pins list|diff|accept|reject|reset`: the tool definitions each server is trusted with, and a person's decisions on changed ones.
import { userInfo } from 'node:os';
import { AuditLog } from '../audit/index.js';
import {
  decideHeld,
  definitionDiff,
  PinDecisionError,
  type PinFile,
  PinStore,
  pinnedFile,
  resetPins,
} from '../pins/index.js';
import { EXIT_CHECK_FAILED, EXIT_OK, type Io, UsageError } from './io.js';

interface PinsOptions {
  dataDir: string;
  server?: string | undefined;
  tool?: string | undefined;
  /** Whole hashes rather than their first 12 digits. */
  full?: boolean | undefined;
}

function servers(store: PinStore, server: string | undefined): string[] {
  return server === undefined ? store.servers() : [server];
}

/** The pins of every server (or one): each tool's hash and when it was trusted, and what is held. */
export function pinsList(opts: PinsOptions, io: Io): number {
  const store = new PinStore(opts.dataDir);
  const names = servers(store, opts.server);
  if (names.length === 0)
    io.out(`no pins yet in ${store.dir} (a server's tools are pinned when it is first listed)`);
  for (const server of names) {
    const state = store.read(server);
    if (state.kind === 'none') {
      io.out(`${server}: no pins (its tools are pinned when it is next listed)`);
      continue;
    }
    if (state.kind === 'unreadable') {
      io.out(`${server}: PIN FILE UNREADABLE, every tool of this server is held: ${state.error}`);
      continue;
    }
    const held = Object.keys(state.file.held).length;
    io.out(`${server}: ${Object.keys(state.file.tools).length} pinned, ${held} held`);
    for (const [tool, pin] of Object.entries(state.file.tools).sort(([a], [b]) => a.localeCompare(b))) {
      const sha256 = opts.full ? pin.sha256 : `${pin.sha256.slice(0, 19)}…`;
      const by = pin.acceptedAt ? ' (accepted by a person)' : '';
      io.out(`  ${tool}  ${sha256}  since ${pin.pinnedAt}${by}`);
    }
    for (const [tool, entry] of Object.entries(state.file.held).sort(([a], [b]) => a.localeCompare(b))) {
      const why = entry.findings
        ? `hidden content: ${entry.findings.join('; ')}`
        : state.file.tools[tool]
          ? 'changed'
          : 'new';
      const rejected = entry.rejectedAt ? `, rejected ${entry.rejectedAt}` : '';
      const sha256 = opts.full ? `  ${entry.sha256}` : '';
      io.out(
        `  HELD ${tool}${sha256}  ${why}, seen ${entry.seenAt}${rejected}  (portcullis pins diff ${server} ${tool})`,
      );
    }
  }
  return EXIT_OK;
}

function pinned(store: PinStore, server: string): PinFile {
  try {
    return pinnedFile(store, server);
  } catch (error) {
    if (error instanceof PinDecisionError) throw new UsageError(error.message);
    throw error;
  }
}

/** The held definitions of a server (or one tool) against their pins, as unified diffs. Exit 1 when nothing is held. */
export function pinsDiff(opts: PinsOptions & { server: string }, io: Io): number {
  const file = pinned(new PinStore(opts.dataDir), opts.server);
  const tools = Object.keys(file.held).filter((t) => opts.tool === undefined || t === opts.tool);
  if (tools.length === 0) {
    io.err(`nothing of ${opts.server}${opts.tool ? `/${opts.tool}` : ''} is held`);
    return EXIT_CHECK_FAILED;
  }
  for (const tool of tools.sort()) {
    const held = file.held[tool];
    if (!held) continue;
    if (held.findings) io.out(`${opts.server}/${tool} carries hidden content: ${held.findings.join('; ')}`);
    io.out(definitionDiff(`${opts.server}/${tool}`, file.tools[tool]?.definition, held.definition));
  }
  return EXIT_OK;
}

/** Who decided, for the audit record: the account running the command. */
function person(): string {
  try {
    return `${userInfo().username} (command line)`;
  } catch {
    return 'command line';
  }
}

/** A decision on a held definition (or a reset), through the same path as the UI's: recorded first, no record, no change. */
async function decide(
  opts: PinsOptions & { server: string },
  io: Io,
  action: 'accepted' | 'rejected' | 'reset',
): Promise<number> {
  const store = new PinStore(opts.dataDir);
  const tool = opts.tool;
  if (action !== 'reset') {
    if (tool === undefined)
      throw new UsageError(`pins ${action === 'accepted' ? 'accept' : 'reject'} needs SERVER TOOL`);
    // Refused before the audit log is opened: a decision that cannot be made leaves no record.
    try {
      const file = pinnedFile(store, opts.server);
      if (!file.held[tool])
        throw new PinDecisionError(`server ${opts.server} has no held definition of ${tool}`);
    } catch (error) {
      if (error instanceof PinDecisionError) throw new UsageError(error.message);
      throw error;
    }
  }
  const audit = await AuditLog.open({ dataDir: opts.dataDir });
  try {
    if (action === 'reset') await resetPins(store, audit, opts.server, person());
    else await decideHeld(store, audit, { server: opts.server, tool: tool as string, action, by: person() });
  } catch (error) {
    if (error instanceof PinDecisionError) throw new UsageError(error.message);
    throw error;
  } finally {
    await audit.close();
  }
  const what = tool ? `${opts.server}/${tool}` : opts.server;
  io.out(
    action === 'reset'
      ? `pins of ${what} removed: its tools are pinned anew when it is next listed`
      : `${what}: held definition ${action}${action === 'accepted' ? ' and pinned' : '; the tool stays held'}`,
  );
  return EXIT_OK;
}

export const pinsAccept = (opts: PinsOptions & { server: string }, io: Io) => decide(opts, io, 'accepted');
export const pinsReject = (opts: PinsOptions & { server: string }, io: Io) => decide(opts, io, 'rejected');
export const pinsReset = (opts: PinsOptions & { server: string }, io: Io) => decide(opts, io, 'reset');
