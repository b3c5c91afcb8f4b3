// The errors incidents and suspensions raise: each has a code, and the web layer maps them to HTTP statuses.

export type IncidentErrorCode =
  | 'E_INCIDENT_NOT_FOUND'
  | 'E_INCIDENT_CONFLICT'
  | 'E_INCIDENT_INVALID'
  | 'E_AGENT_NOT_SUSPENDED'
  | 'E_AGENT_SUSPENDED';

export class IncidentError extends Error {
  readonly code: IncidentErrorCode;
  /** The HTTP status this error answers with. */
  readonly status: 400 | 404 | 409;
  constructor(code: IncidentErrorCode, status: 400 | 404 | 409, message: string) {
    super(message);
    this.name = 'IncidentError';
    this.code = code;
    this.status = status;
  }
}
