// The records governance keeps and shows (agents, keys, incidents), and the parts the Governance composes.
import type { Admission, DecidedCall, Decision, GovernedCall, Standing, Trust } from './deps.js';

/** Where an agent comes from: added by a person (CLI, UI, API), the policy's `agents:`, or first seen. */
export type AgentSource = 'registry' | 'file' | 'auto';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One key of an agent: only its SHA-256 is stored; `prefix` is what a person recognises it by. */
export interface KeyRecord {
  id: string;
  /** The key's first characters (e.g. `pcl_3fA9`), never enough to use it. */
  prefix: string;
  created_at: string;
  last_used: string | null;
  revoked_at: string | null;
}

export interface AgentRecord {
  id: string;
  source: AgentSource;
  trust: Trust;
  owner: string | null;
  env: string | null;
  created_at: string | null;
  last_seen: string | null;
  /** Active keys and revoked ones (file agents: none here; their key lives in the policy). */
  keys: KeyRecord[];
  /** Set while suspended. */
  suspension: Suspension | null;
}

export interface Suspension {
  /** The incident that suspended the agent; null when a person suspended it directly. */
  incident: string | null;
  reason: string;
  at: string;
  by: string;
}

export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';

/** What opened an incident. */
export type IncidentSource = 'rule' | 'rate' | 'concurrency' | 'budget' | 'audit' | 'manual';

export interface Incident {
  id: string;
  agent: string | null;
  type: string;
  severity: Severity;
  description: string;
  status: IncidentStatus;
  source: IncidentSource;
  /** The rule, limit or budget id that opened it, when one did. */
  rule: string | null;
  correlation_id: string | null;
  /** How many times the same breach recurred while the incident was open (1 at first). */
  count: number;
  opened_at: string;
  opened_by: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  /** True when this incident suspended its agent. */
  suspended: boolean;
}

/** A part that knows something of an agent's standing (the registry: trust; incidents: suspension). */
export interface StandingPart {
  standing(agent: string): Standing;
}

/** The part that applies limits and budgets. */
export interface LimitsPart {
  admit(call: GovernedCall, decision: Decision): Admission;
}

/** A part told of every recorded decision (incidents, metrics). */
export interface DecisionListener {
  decided(call: DecidedCall): void;
}

/** Every agent the registry knows (registry, file and auto-registered ones), for the pages and the compliance numbers. */
export interface AgentDirectory {
  list(): AgentRecord[];
  get(id: string): AgentRecord | undefined;
}

export interface IncidentFilter {
  agent?: string | undefined;
  status?: IncidentStatus | undefined;
  severity?: Severity | undefined;
  /** ISO time: only incidents opened at or after it. */
  since?: string | undefined;
  limit?: number | undefined;
}

export interface IncidentLog {
  list(filter?: IncidentFilter): Incident[];
  get(id: string): Incident | undefined;
}

/** How much of one budget one agent (and tool, for a per-tool budget) has used in its window now. */
export interface BudgetUsage {
  budget: string;
  agent: string;
  tool: string | null;
  used: number;
  max: number;
  window_ms: number;
}
