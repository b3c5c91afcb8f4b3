// `portcullis agents add|list|show|rotate|revoke|set-trust`: the agent registry from a shell; the same store and audit records as the UI and API.
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import {
  AgentError,
  type AgentPolicy,
  AgentRegistry,
  type IssuedKey,
  SqliteAgentStore,
} from '../agents/index.js';
import { AuditLog } from '../audit/index.js';
import type { AgentRecord } from '../governance/index.js';
import { formatProblem, loadPolicy } from '../policy/index.js';
import { EXIT_OK, type Io, UsageError } from './io.js';

export interface AgentsOptions {
  dataDir: string;
  /** The policy whose agents: are file agents (shown read-only, their ids refused to `add`). */
  policy?: string | undefined;
}

/** Who acted, for the audit record: the account running the command. */
function person(): string {
  try {
    return `${userInfo().username} (command line)`;
  } catch {
    return 'command line';
  }
}

/** --policy FILE, or policy.yml in the working directory when it is there (as `run` defaults to it). */
function filePolicy(file: string | undefined): AgentPolicy | undefined {
  const path = resolve(file ?? 'policy.yml');
  if (file === undefined && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the policy ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const loaded = loadPolicy(text, path);
  if (!loaded.ok)
    throw new UsageError(`the policy ${path} is invalid:\n${loaded.errors.map(formatProblem).join('\n')}`);
  return loaded.policy;
}

/** The registry on the data dir, with a short-lived audit log when it changes something. */
async function withRegistry<T>(
  opts: AgentsOptions,
  writes: boolean,
  run: (registry: AgentRegistry) => Promise<T> | T,
): Promise<T> {
  const policy = filePolicy(opts.policy);
  const audit = writes ? await AuditLog.open({ dataDir: opts.dataDir }) : undefined;
  const registry = new AgentRegistry({
    store: SqliteAgentStore.inDataDir(opts.dataDir),
    policy: () => policy,
    audit,
  });
  try {
    return await run(registry);
  } catch (error) {
    if (error instanceof AgentError) throw new UsageError(error.message);
    throw error;
  } finally {
    registry.close();
    await audit?.close();
  }
}

function printKey(io: Io, issued: IssuedKey): void {
  io.out(`agent ${issued.agent.id}: key ${issued.record.id} (${issued.record.prefix}…)`);
  io.out('');
  io.out(`  ${issued.key}`);
  io.out('');
  io.out('This key is shown only now; Portcullis keeps only its SHA-256. Give it to the agent as');
  io.out('"Authorization: Bearer <key>".');
}

function line(agent: AgentRecord): string {
  const keys =
    agent.source === 'file' ? 'key in policy' : `${agent.keys.filter((k) => !k.revoked_at).length} key(s)`;
  const extra = [agent.owner && `owner ${agent.owner}`, agent.env && `env ${agent.env}`]
    .filter(Boolean)
    .join(', ');
  return `${agent.id}  ${agent.source}  trust ${agent.trust}  ${keys}  last seen ${agent.last_seen ?? 'never'}${extra ? `  ${extra}` : ''}`;
}

export function agentsAdd(
  opts: AgentsOptions & { id: string; trust?: string; owner?: string; env?: string },
  io: Io,
): Promise<number> {
  return withRegistry(opts, true, async (registry) => {
    const issued = await registry.add(
      { id: opts.id, trust: opts.trust, owner: opts.owner, env: opts.env },
      person(),
    );
    printKey(io, issued);
    return EXIT_OK;
  });
}

export function agentsList(opts: AgentsOptions & { json?: boolean }, io: Io): Promise<number> {
  return withRegistry(opts, false, (registry) => {
    const agents = registry.list();
    if (opts.json) io.out(JSON.stringify(agents, null, 2));
    else if (agents.length === 0) io.out('no agents yet (portcullis agents add NAME)');
    else for (const agent of agents) io.out(line(agent));
    return EXIT_OK;
  });
}

export function agentsShow(opts: AgentsOptions & { id: string; json?: boolean }, io: Io): Promise<number> {
  return withRegistry(opts, false, (registry) => {
    const agent = registry.get(opts.id);
    if (!agent) throw new UsageError(`no agent ${opts.id}`);
    if (opts.json) {
      io.out(JSON.stringify(agent, null, 2));
      return EXIT_OK;
    }
    io.out(line(agent));
    io.out(`created ${agent.created_at ?? '-'}`);
    for (const key of agent.keys) {
      const state = key.revoked_at ? `revoked ${key.revoked_at}` : 'active';
      io.out(
        `  ${key.id}  ${key.prefix}…  created ${key.created_at}  last used ${key.last_used ?? 'never'}  ${state}`,
      );
    }
    return EXIT_OK;
  });
}

export function agentsRotate(
  opts: AgentsOptions & { id: string; revokeOld?: boolean },
  io: Io,
): Promise<number> {
  return withRegistry(opts, true, async (registry) => {
    const issued = await registry.addKey(opts.id, person(), { revokeOld: opts.revokeOld === true });
    printKey(io, issued);
    io.out(
      opts.revokeOld
        ? 'The other keys are revoked.'
        : `The other keys keep working until revoked (portcullis agents revoke ${opts.id} --key KEYID).`,
    );
    return EXIT_OK;
  });
}

export function agentsRevoke(opts: AgentsOptions & { id: string; key?: string }, io: Io): Promise<number> {
  return withRegistry(opts, true, async (registry) => {
    if (opts.key !== undefined) {
      await registry.revokeKey(opts.id, opts.key, person());
      io.out(`key ${opts.key} of ${opts.id} revoked: it is refused from now on`);
    } else {
      await registry.remove(opts.id, person());
      io.out(`agent ${opts.id} removed: its keys are refused from now on (the audit log keeps its history)`);
    }
    return EXIT_OK;
  });
}

export function agentsSetTrust(opts: AgentsOptions & { id: string; trust: string }, io: Io): Promise<number> {
  return withRegistry(opts, true, async (registry) => {
    const before = registry.get(opts.id)?.trust;
    const agent = await registry.update(opts.id, { trust: opts.trust }, person());
    io.out(`agent ${agent.id}: trust ${before ?? '?'} -> ${agent.trust} (applies to its next call)`);
    return EXIT_OK;
  });
}
