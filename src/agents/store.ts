// The agent registry's storage, behind an interface: SQLite now (sqlite-store.ts), a Postgres store next.
import type { AgentSource, Trust } from './deps.js';

/** An agent row as stored (file agents are never stored: the policy holds them). */
export interface StoredAgent {
  id: string;
  source: Exclude<AgentSource, 'file'>;
  trust: Trust;
  owner: string | null;
  env: string | null;
  created_at: string;
  last_seen: string | null;
}

export interface StoredKey {
  id: string;
  agent: string;
  sha256: string;
  prefix: string;
  created_at: string;
  last_used: string | null;
  revoked_at: string | null;
}

/**
 * Everything the registry reads and writes. Every change bumps `version()`, which another process
 * on the same data dir watches to reload (`changedElsewhere()` says cheaply whether to look).
 */
export interface AgentStore {
  agents(): StoredAgent[];
  keys(): StoredKey[];
  /** Refuses an id that exists (AgentError E_AGENT_EXISTS). */
  insertAgent(agent: StoredAgent, key?: StoredKey | undefined): void;
  updateAgent(id: string, fields: Partial<Pick<StoredAgent, 'trust' | 'owner' | 'env'>>): void;
  /** Removes the agent and its keys. */
  deleteAgent(id: string): void;
  insertKey(key: StoredKey): void;
  revokeKey(id: string, at: string): void;
  /** Usage times: not a change anyone must reload for, so they leave `version()` alone. */
  touchAgent(id: string, at: string): void;
  touchKey(id: string, at: string): void;
  /** A number that changes with every change (not with touches). */
  version(): number;
  /** True when another connection may have changed the store since the last call (cheap: no table read). */
  changedElsewhere(): boolean;
  close(): void;
}
