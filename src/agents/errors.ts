// The agent registry's one error class: its code says what went wrong (the CLI, API and pages map it).
export type AgentErrorCode =
  | 'E_AGENT_EXISTS'
  | 'E_AGENT_NOT_FOUND'
  | 'E_AGENT_READ_ONLY'
  | 'E_AGENT_INVALID'
  | 'E_AGENT_CLASH'
  | 'E_KEY_NOT_FOUND';

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
  }
}
