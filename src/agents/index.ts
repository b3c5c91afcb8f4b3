// The agent registry: agents and their keys (SQLite behind AgentStore), auto-registration, trust,
// the HTTP endpoint's key lookup and the Governance's StandingPart.
export { AgentError, type AgentErrorCode } from './errors.js';
export { generateKey, KEY_PREFIX, sha256Key } from './keys.js';
export {
  type AgentChange,
  type AgentPolicy,
  AgentRegistry,
  type AgentRegistryOptions,
  type IssuedKey,
  isTrust,
  type NewAgent,
  TOUCH_EVERY_MS,
} from './registry.js';
export { SqliteAgentStore } from './sqlite-store.js';
export type { AgentStore, StoredAgent, StoredKey } from './store.js';
