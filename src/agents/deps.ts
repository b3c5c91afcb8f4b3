// What the agent registry uses of other folders, in one place.
export type { AgentAuditEvent, AuditSink } from '../audit/index.js';
export type {
  AgentDirectory,
  AgentRecord,
  AgentSource,
  KeyRecord,
  StandingPart,
  Suspension,
} from '../governance/index.js';
export type { AgentConfig, CompiledPolicy, Trust } from '../policy/index.js';
export { TRUST_LEVELS } from '../policy/index.js';
export type { Standing } from '../proxy/index.js';
