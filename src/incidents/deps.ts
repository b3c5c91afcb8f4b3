// What incidents use of other folders, in one place.
export type { AuditObservation, AuditRecord, AuditSink } from '../audit/index.js';
export type {
  DecisionListener,
  Incident,
  IncidentFilter,
  IncidentLog,
  IncidentSource,
  IncidentStatus,
  Severity,
  StandingPart,
  Suspension,
} from '../governance/index.js';
export { SEVERITIES } from '../governance/index.js';
export type { CompiledPolicy } from '../policy/index.js';
export type { DecidedCall, Standing } from '../proxy/index.js';
