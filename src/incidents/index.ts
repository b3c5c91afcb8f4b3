// Incidents and suspension: the store (governance.db), the part that opens incidents and suspends
// agents (a StandingPart and DecisionListener for Governance), and its errors.
export { IncidentError, type IncidentErrorCode } from './errors.js';
export {
  Incidents,
  type IncidentsOptions,
  type ManualIncident,
  PORTCULLIS_BY,
  suspendedReason,
} from './incidents.js';
export { isSeverity, SEVERITY_RANK } from './severity.js';
export { type AgentSuspension, type IncidentStore, type NewIncident, SqliteIncidentStore } from './store.js';
