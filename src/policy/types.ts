// The values the policy engine exchanges with the rest of Portcullis: a call in, a decision out.

export const TRUST_LEVELS = ['low', 'medium', 'high', 'admin'] as const;
export type Trust = (typeof TRUST_LEVELS)[number];

export type DecisionKind = 'allow' | 'deny' | 'review';

/** One tools/call as the gate sees it: the tool name as the upstream lists it, never prefixed. */
export interface Call {
  tool: string;
  /** The upstream's name (from `servers:` or `--name`). */
  server?: string | undefined;
  /** The calling agent's id, when known. */
  agent?: string | undefined;
  /** The agent's trust; when absent it is looked up in the policy's `agents:` by id. */
  trust?: Trust | undefined;
  /** The call's `arguments`, as parsed JSON (anything: the engine trusts nothing about it). */
  args?: unknown;
}

/** One step of an explanation: a rule that was looked at and why it did or did not decide. */
export interface TraceStep {
  rule: string;
  matched: boolean;
  detail: string;
}

export interface Decision {
  decision: DecisionKind;
  /** The id of the rule that decided, or null when the policy's default applied. */
  rule: string | null;
  reason: string;
  policySha256: string;
  /** Filled only when evaluation was asked to explain itself. */
  trace?: TraceStep[];
}
