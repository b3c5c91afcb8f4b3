// The agent registry: who may call (registry, auto-registered and file agents), their keys, trust and
// last use; the HTTP endpoint's key lookup and the Governance's trust come from its memory, not SQL.
import {
  type AgentAuditEvent,
  type AgentDirectory,
  type AgentRecord,
  type AuditSink,
  type CompiledPolicy,
  type KeyRecord,
  type Standing,
  type StandingPart,
  type Suspension,
  TRUST_LEVELS,
  type Trust,
} from './deps.js';
import { AgentError } from './errors.js';
import { generateKey, newKeyId } from './keys.js';
import type { AgentStore, StoredAgent, StoredKey } from './store.js';

/** last_seen and last_used are written at most this often per agent and key: never a write per call. */
export const TOUCH_EVERY_MS = 30_000;

/** Ids people and scripts type: letters, digits and . _ @ - (the policy's ids are any string; these are names). */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const FIELD_MAX = 200;

export type AgentPolicy = Pick<CompiledPolicy, 'agents' | 'defaultTrust'>;

export interface AgentRegistryOptions {
  store: AgentStore;
  /** The policy in force: its `agents:` (read-only here) and `default_trust`. None: no file agents. */
  policy?: (() => AgentPolicy | undefined) | undefined;
  /** Where every change is recorded, before it is made (auto-registration: right after). */
  audit?: AuditSink | undefined;
  /** An agent's trust changed or it was removed: its sessions list again (Governance.changed). */
  changed?: ((agent: string) => void) | undefined;
  /** The suspensions part's answer, shown with each agent; none: never suspended here. */
  suspension?: ((agent: string) => Suspension | null) | undefined;
  now?: (() => number) | undefined;
  log?: ((line: string) => void) | undefined;
}

export interface NewAgent {
  id: string;
  trust?: string | undefined;
  owner?: string | undefined;
  env?: string | undefined;
}

export interface AgentChange {
  trust?: string | undefined;
  owner?: string | null | undefined;
  env?: string | null | undefined;
}

/** A key just made: `key` is shown once and exists nowhere else. */
export interface IssuedKey {
  agent: AgentRecord;
  key: string;
  record: KeyRecord;
}

export function isTrust(value: unknown): value is Trust {
  return typeof value === 'string' && (TRUST_LEVELS as readonly string[]).includes(value);
}

function keyRecord(key: StoredKey, lastUsed: string | undefined): KeyRecord {
  return {
    id: key.id,
    prefix: key.prefix,
    created_at: key.created_at,
    last_used: lastUsed ?? key.last_used,
    revoked_at: key.revoked_at,
  };
}

function field(name: string, value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  const text = value.trim();
  if (text.length > FIELD_MAX)
    throw new AgentError('E_AGENT_INVALID', `${name} is longer than ${FIELD_MAX} characters`);
  return text === '' ? null : text;
}

export class AgentRegistry implements AgentDirectory, StandingPart {
  private readonly store: AgentStore;
  private readonly options: AgentRegistryOptions;
  private readonly now: () => number;
  private agents = new Map<string, StoredAgent>();
  private keysById = new Map<string, StoredKey>();
  /** Active keys only: a revoked key is simply not here. */
  private activeBySha = new Map<string, StoredKey>();
  private version = -1;
  /** When this process last wrote a touch, and the newest use seen, by `a:<agent>` / `k:<key>`. */
  private readonly written = new Map<string, number>();
  /** Milliseconds, not ISO strings: made into text only when read or written, not per call. */
  private readonly seen = new Map<string, number>();

  constructor(options: AgentRegistryOptions) {
    this.store = options.store;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.load();
  }

  // ---- the hot path: memory, a pragma, and a write at most every TOUCH_EVERY_MS ----

  /** The agent a registry key belongs to; undefined for an unknown or revoked key. */
  keyAgent(sha256: string): string | undefined {
    this.refresh();
    const key = this.activeBySha.get(sha256.toLowerCase());
    if (!key) return undefined;
    this.touch(`k:${key.id}`, (at) => this.store.touchKey(key.id, at));
    return key.agent;
  }

  /** Whether any registry agent has an active key: then keyless HTTP clients are refused. */
  hasKeys(): boolean {
    this.refresh();
    return this.activeBySha.size > 0;
  }

  /**
   * The registry's trust for a registry or auto agent; nothing for a file agent (the policy decides).
   * An agent seen for the first time is registered with the policy's default_trust.
   */
  standing(agent: string): Standing {
    this.refresh();
    if (this.fileAgent(agent)) {
      // Not stored (the policy holds it): its last use is kept in memory for the page only.
      this.seen.set(`a:${agent}`, this.now());
      return {};
    }
    const known = this.agents.get(agent) ?? this.register(agent);
    this.touch(`a:${agent}`, (at) => this.store.touchAgent(agent, at));
    return { trust: known.trust };
  }

  private register(agent: string): StoredAgent {
    const trust = this.options.policy?.()?.defaultTrust ?? 'low';
    const row: StoredAgent = {
      id: agent,
      source: 'auto',
      trust,
      owner: null,
      env: null,
      created_at: this.iso(),
      last_seen: null,
    };
    try {
      this.store.insertAgent(row);
    } catch (error) {
      // Another process registered it first: theirs stands.
      if (!(error instanceof AgentError && error.code === 'E_AGENT_EXISTS')) throw error;
      this.load();
      return this.agents.get(agent) ?? row;
    }
    this.load();
    this.options.log?.(`agents: ${agent} first seen, registered with trust ${trust}`);
    this.recordQuietly({
      event: 'agent',
      action: 'registered',
      agent,
      by: 'portcullis',
      trust,
      source: 'auto',
    });
    return row;
  }

  private touch(slot: string, write: (at: string) => void): void {
    const now = this.now();
    this.seen.set(slot, now);
    const last = this.written.get(slot);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    this.written.set(slot, now);
    try {
      write(new Date(now).toISOString());
    } catch (error) {
      // A usage time is information; failing to write it must not refuse the call.
      this.options.log?.(`agents: could not record last use: ${(error as Error).message}`);
    }
  }

  /** Another process (the CLI, a second proxy) changed the store: read it again. */
  private refresh(): void {
    if (!this.store.changedElsewhere()) return;
    if (this.store.version() === this.version) return;
    this.load();
  }

  private load(): void {
    const before = this.agents;
    this.version = this.store.version();
    this.agents = new Map(this.store.agents().map((a) => [a.id, a]));
    const keys = this.store.keys();
    this.keysById = new Map(keys.map((k) => [k.id, k]));
    this.activeBySha = new Map(
      keys.filter((k) => k.revoked_at === null && this.agents.has(k.agent)).map((k) => [k.sha256, k]),
    );
    if (before.size === 0) return;
    for (const [id, old] of before) {
      const now = this.agents.get(id);
      if (!now || now.trust !== old.trust) this.options.changed?.(id);
    }
  }

  // ---- reading: the pages, the API, the CLI ----

  private fileAgent(id: string) {
    return this.options.policy?.()?.agents.find((a) => a.id === id);
  }

  list(): AgentRecord[] {
    this.refresh();
    const files = this.options.policy?.()?.agents ?? [];
    const fileIds = new Set(files.map((a) => a.id));
    const records: AgentRecord[] = files.map((a) => ({
      id: a.id,
      source: 'file',
      trust: a.trust,
      owner: null,
      env: null,
      created_at: null,
      last_seen: this.seenAt(`a:${a.id}`) ?? null,
      keys: [],
      suspension: this.options.suspension?.(a.id) ?? null,
    }));
    // An auto agent the policy file declares later gives way to it (config as code wins).
    for (const agent of this.agents.values()) if (!fileIds.has(agent.id)) records.push(this.record(agent));
    return records.sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): AgentRecord | undefined {
    return this.list().find((a) => a.id === id);
  }

  private record(agent: StoredAgent): AgentRecord {
    return {
      id: agent.id,
      source: agent.source,
      trust: agent.trust,
      owner: agent.owner,
      env: agent.env,
      created_at: agent.created_at,
      last_seen: this.seenAt(`a:${agent.id}`) ?? agent.last_seen,
      keys: [...this.keysById.values()]
        .filter((k) => k.agent === agent.id)
        .map((k) => keyRecord(k, this.seenAt(`k:${k.id}`))),
      suspension: this.options.suspension?.(agent.id) ?? null,
    };
  }

  /** Problems of a policy whose `agents:` declares an id the registry holds (a load error, at start and reload). */
  clashes(policy: AgentPolicy): string[] {
    this.refresh();
    return policy.agents
      .filter((a) => this.agents.get(a.id)?.source === 'registry')
      .map(
        (a) =>
          `agent ${a.id} is declared in the policy's agents: and also in the agent registry (portcullis agents list); an id may live in one place only: remove one (portcullis agents revoke ${a.id}, or the policy entry)`,
      );
  }

  // ---- changes by a person: recorded first, then made ----

  private stored(id: string): StoredAgent {
    this.refresh();
    if (this.fileAgent(id))
      throw new AgentError(
        'E_AGENT_READ_ONLY',
        `agent ${id} is declared in the policy file: change it there (file agents are read-only here)`,
      );
    const agent = this.agents.get(id);
    if (!agent) throw new AgentError('E_AGENT_NOT_FOUND', `no agent ${id}`);
    return agent;
  }

  async add(input: NewAgent, by: string): Promise<IssuedKey> {
    this.refresh();
    const id = input.id.trim();
    if (!AGENT_ID.test(id))
      throw new AgentError(
        'E_AGENT_INVALID',
        'an agent id is 1 to 128 letters, digits and . _ @ - (starting with a letter or digit)',
      );
    const trust = input.trust ?? 'low';
    if (!isTrust(trust))
      throw new AgentError('E_AGENT_INVALID', `trust must be one of ${TRUST_LEVELS.join(', ')}`);
    if (this.fileAgent(id))
      throw new AgentError(
        'E_AGENT_CLASH',
        `agent ${id} is declared in the policy file; an id may live in the file or the registry, not both`,
      );
    const existing = this.agents.get(id);
    if (existing)
      throw new AgentError(
        'E_AGENT_EXISTS',
        existing.source === 'auto'
          ? `agent ${id} exists already (registered when first seen): give it a key with rotate, and its trust with set-trust`
          : `agent ${id} exists already`,
      );
    const owner = field('owner', input.owner) ?? null;
    const env = field('env', input.env) ?? null;
    const fresh = generateKey();
    const at = this.iso();
    const key: StoredKey = {
      id: newKeyId(),
      agent: id,
      sha256: fresh.sha256,
      prefix: fresh.prefix,
      created_at: at,
      last_used: null,
      revoked_at: null,
    };
    await this.audited({
      action: 'added',
      agent: id,
      by,
      trust,
      owner,
      env,
      key: { id: key.id, prefix: key.prefix },
    });
    this.store.insertAgent(
      { id, source: 'registry', trust, owner, env, created_at: at, last_seen: null },
      key,
    );
    this.load();
    return this.issued(id, fresh.key, key.id);
  }

  async update(id: string, change: AgentChange, by: string): Promise<AgentRecord> {
    const agent = this.stored(id);
    const fields: Partial<Pick<StoredAgent, 'trust' | 'owner' | 'env'>> = {};
    if (change.trust !== undefined) {
      if (!isTrust(change.trust))
        throw new AgentError('E_AGENT_INVALID', `trust must be one of ${TRUST_LEVELS.join(', ')}`);
      if (change.trust !== agent.trust) fields.trust = change.trust;
    }
    const owner = field('owner', change.owner);
    const env = field('env', change.env);
    if (owner !== undefined && owner !== agent.owner) fields.owner = owner;
    if (env !== undefined && env !== agent.env) fields.env = env;
    if (Object.keys(fields).length === 0) return this.record(agent);
    if (fields.trust !== undefined)
      await this.audited({ action: 'trust_changed', agent: id, by, from: agent.trust, trust: fields.trust });
    if (fields.owner !== undefined || fields.env !== undefined)
      await this.audited({
        action: 'updated',
        agent: id,
        by,
        ...(fields.owner !== undefined && { owner: fields.owner }),
        ...(fields.env !== undefined && { env: fields.env }),
      });
    this.store.updateAgent(id, fields);
    // load() tells `changed`: the next call is decided at the new trust, and the agent's clients list again.
    this.load();
    return this.record(this.agents.get(id) as StoredAgent);
  }

  /** A new key beside the old ones (rotation without downtime); `revokeOld`: the others are revoked after. */
  async addKey(id: string, by: string, options: { revokeOld?: boolean } = {}): Promise<IssuedKey> {
    this.stored(id);
    const fresh = generateKey();
    const key: StoredKey = {
      id: newKeyId(),
      agent: id,
      sha256: fresh.sha256,
      prefix: fresh.prefix,
      created_at: this.iso(),
      last_used: null,
      revoked_at: null,
    };
    await this.audited({ action: 'key_added', agent: id, by, key: { id: key.id, prefix: key.prefix } });
    this.store.insertKey(key);
    this.load();
    if (options.revokeOld) {
      for (const old of this.keysById.values())
        if (old.agent === id && old.id !== key.id && old.revoked_at === null)
          await this.revokeKey(id, old.id, by);
    }
    return this.issued(id, fresh.key, key.id);
  }

  async revokeKey(id: string, keyId: string, by: string): Promise<AgentRecord> {
    this.stored(id);
    const key = this.keysById.get(keyId);
    if (!key || key.agent !== id) throw new AgentError('E_KEY_NOT_FOUND', `agent ${id} has no key ${keyId}`);
    if (key.revoked_at === null) {
      await this.audited({ action: 'key_revoked', agent: id, by, key: { id: key.id, prefix: key.prefix } });
      this.store.revokeKey(keyId, this.iso());
      this.load();
    }
    return this.record(this.agents.get(id) as StoredAgent);
  }

  /**
   * Revoking an agent removes it: its keys stop working at once and its row goes (the audit log
   * keeps its history). An auto agent seen again is registered anew, at default_trust.
   */
  async remove(id: string, by: string): Promise<void> {
    const agent = this.stored(id);
    const keys = [...this.keysById.values()].filter((k) => k.agent === id && k.revoked_at === null);
    await this.audited({
      action: 'removed',
      agent: id,
      by,
      source: agent.source,
      keys: keys.map((k) => ({ id: k.id, prefix: k.prefix })),
    });
    this.store.deleteAgent(id);
    this.load();
  }

  private issued(id: string, key: string, keyId: string): IssuedKey {
    const agent = this.record(this.agents.get(id) as StoredAgent);
    return { agent, key, record: agent.keys.find((k) => k.id === keyId) as KeyRecord };
  }

  private seenAt(slot: string): string | undefined {
    const at = this.seen.get(slot);
    return at === undefined ? undefined : new Date(at).toISOString();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  /** No record, no change: a failed audit write refuses the change. */
  private async audited(event: Omit<AgentAuditEvent, 'event'>): Promise<void> {
    await this.options.audit?.append({ event: 'agent', ...event });
  }

  private recordQuietly(event: AgentAuditEvent): void {
    this.options.audit?.append(event).catch((error: unknown) => {
      this.options.log?.(`AUDIT LOG WRITE FAILED for an agent event: ${(error as Error).message}`);
    });
  }

  close(): void {
    this.store.close();
  }
}
